#include "tidemq/admin.h"

#include "client/admin_impl.h"
#include "client/connection.h"
#include "client/decode.h"

namespace tidemq {

using client::Connection;

namespace {

TopicSettings to_settings(const wire::TopicConfig* c) {
  TopicSettings s;
  if (!c) return s;
  s.name = c->name() ? c->name()->str() : "";
  s.partitions = c->partitions();
  s.retention_ms = c->retention_ms();
  s.retention_bytes = c->retention_bytes();
  return s;
}

Result<std::vector<Message>> to_messages(const wire::QueryMessageResponse* resp) {
  std::vector<Message> out;
  if (resp->messages()) {
    for (const auto* m : *resp->messages()) out.push_back(client::message_from_view(*m));
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<Admin>> Admin::create(ClientOptions options) {
  client::ConnectionOptions co;
  co.client = std::move(options);
  co.kind = wire::ClientKind::ADMIN;
  TIDEMQ_ASSIGN_OR_RETURN(auto conn, Connection::create(std::move(co)));
  TIDEMQ_RETURN_IF_ERROR(conn->connect().status());
  auto impl = std::make_unique<Impl>();
  impl->conn = std::move(conn);
  return std::unique_ptr<Admin>(new Admin(std::move(impl)));
}

Admin::Admin(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Admin::~Admin() = default;

Result<bool> Admin::update_topic(const TopicSettings& settings) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto cfg = wire::CreateTopicConfigDirect(fbb, settings.name.c_str(), settings.partitions, settings.retention_ms,
                                           settings.retention_bytes);
  auto req = wire::CreateCreateTopicRequest(fbb, cfg);
  TIDEMQ_ASSIGN_OR_RETURN(auto f, impl_->call(fbb, wire::Body::CreateTopicRequest,
                                                                        req.Union(), wire::Body::CreateTopicResponse));
  return f.envelope().body_as_CreateTopicResponse()->created();
}

Status Admin::delete_topic(const std::string& name) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto req = wire::CreateDeleteTopicRequestDirect(fbb, name.c_str());
  return impl_->call(fbb, wire::Body::DeleteTopicRequest, req.Union(),
                                                wire::Body::DeleteTopicResponse)
      .status();
}

Result<std::vector<TopicSettings>> Admin::list_topics() {
  flatbuffers::FlatBufferBuilder fbb(64);
  auto req = wire::CreateListTopicsRequest(fbb);
  TIDEMQ_ASSIGN_OR_RETURN(auto f, impl_->call(fbb, wire::Body::ListTopicsRequest,
                                                                       req.Union(), wire::Body::ListTopicsResponse));
  std::vector<TopicSettings> out;
  const auto* resp = f.envelope().body_as_ListTopicsResponse();
  if (resp->topics()) {
    for (const auto* t : *resp->topics()) out.push_back(to_settings(t));
  }
  return out;
}

Result<TopicStatus> Admin::topic_status(const std::string& name) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto req = wire::CreateTopicStatusRequestDirect(fbb, name.c_str());
  TIDEMQ_ASSIGN_OR_RETURN(auto f, impl_->call(fbb, wire::Body::TopicStatusRequest,
                                                                        req.Union(), wire::Body::TopicStatusResponse));
  return client::topic_status_from_wire(*f.envelope().body_as_TopicStatusResponse());
}

Result<BrokerStatus> Admin::broker_status() {
  flatbuffers::FlatBufferBuilder fbb(64);
  auto req = wire::CreateBrokerStatusRequest(fbb);
  TIDEMQ_ASSIGN_OR_RETURN(auto f, impl_->call(
                                      fbb, wire::Body::BrokerStatusRequest, req.Union(), wire::Body::BrokerStatusResponse));
  const auto* r = f.envelope().body_as_BrokerStatusResponse();
  BrokerStatus s;
  auto str = [](const flatbuffers::String* v) { return v ? v->str() : std::string(); };
  s.version = str(r->version());
  s.flush_mode = str(r->flush_mode());
  s.data_dir = str(r->data_dir());
  s.listen = str(r->listen());
  s.uptime_ms = r->uptime_ms();
  s.storage_error = str(r->storage_error());
  if (r->stats()) {
    for (const auto* kv : *r->stats()) s.stats.emplace_back(str(kv->key()), str(kv->value()));
  }
  return s;
}

Result<Message> Admin::query_by_offset(const std::string& topic, uint32_t partition, uint64_t offset) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto req = wire::CreateQueryMessageRequestDirect(fbb, topic.c_str(), partition, offset, 0);
  TIDEMQ_ASSIGN_OR_RETURN(auto f, impl_->call(
                                      fbb, wire::Body::QueryMessageRequest, req.Union(), wire::Body::QueryMessageResponse));
  TIDEMQ_ASSIGN_OR_RETURN(auto msgs, to_messages(f.envelope().body_as_QueryMessageResponse()));
  if (msgs.empty()) {
    return Status::not_found("no message at " + topic + "/" + std::to_string(partition) + "@" + std::to_string(offset));
  }
  return std::move(msgs.front());
}

Result<std::vector<Message>> Admin::query_by_id(uint64_t id, const std::string& topic) {
  if (id == 0) return Status::invalid_argument("message id 0 is not a valid id");
  flatbuffers::FlatBufferBuilder fbb(256);
  auto req = wire::CreateQueryMessageRequestDirect(fbb, topic.c_str(), 0, 0, id);
  TIDEMQ_ASSIGN_OR_RETURN(auto f, impl_->call(
                                      fbb, wire::Body::QueryMessageRequest, req.Union(), wire::Body::QueryMessageResponse));
  TIDEMQ_ASSIGN_OR_RETURN(auto msgs, to_messages(f.envelope().body_as_QueryMessageResponse()));
  if (msgs.empty()) return Status::not_found("no message with id " + format_message_id(id));
  return msgs;
}

}  // namespace tidemq
