// Topic admin: create/update, delete, list, status. Registry writes run on the blocking pool.
#include <vector>

#include "broker/dispatch/handlers/handlers.h"

namespace tidemq::broker::handlers {

namespace {

flatbuffers::Offset<wire::TopicConfig> to_wire_config(flatbuffers::FlatBufferBuilder& fbb, const TopicConfig& c) {
  return wire::CreateTopicConfig(fbb, fbb.CreateString(c.name), c.partitions, c.retention_ms, c.retention_bytes);
}

Status topic_not_found(const std::string& name) {
  return Status(StatusCode::kTopicNotFound, "topic '" + name + "' does not exist");
}

}  // namespace

void create_topic(Services& s, Request& r) {
  const auto* req = r.envelope.body_as_CreateTopicRequest();
  const auto* c = req->config();
  if (c == nullptr || c->name() == nullptr) {
    r.responder.fail(Status::invalid_argument("create topic needs a config with a name"));
    return;
  }
  TopicConfig cfg;
  cfg.name = c->name()->str();
  cfg.partitions = c->partitions() ? c->partitions() : s.config.default_partitions;
  if (c->retention_ms() >= 0) cfg.retention_ms = c->retention_ms();
  cfg.retention_bytes = c->retention_bytes() >= 0 ? c->retention_bytes() : -1;
  if (cfg.partitions > kMaxPartitions) {
    r.responder.fail(Status::invalid_argument("at most " + std::to_string(kMaxPartitions) + " partitions"));
    return;
  }
  if (Status st = validate_topic_name(cfg.name); !st.is_ok()) {
    r.responder.fail(st);
    return;
  }
  asio::post(s.blocking, [&s, cfg, responder = r.responder] {
    auto change = s.topics.create_or_update(cfg);
    if (!change.is_ok()) {
      responder.fail(change.status());
      return;
    }
    s.log.ensure_partitions(change->config.topic_id, change->config.partitions);
    s.groups.topic_changed(change->config.name);  // groups subscribed to it get the new partitions
    flatbuffers::FlatBufferBuilder fbb(256);
    auto body = wire::CreateCreateTopicResponse(fbb, to_wire_config(fbb, change->config), change->created);
    responder.reply(fbb, wire::Body::CreateTopicResponse, body.Union());
  });
}

void delete_topic(Services& s, Request& r) {
  const auto* req = r.envelope.body_as_DeleteTopicRequest();
  if (req->name() == nullptr) {
    r.responder.fail(Status::invalid_argument("delete topic needs a name"));
    return;
  }
  asio::post(s.blocking, [&s, name = req->name()->str(), responder = r.responder] {
    auto removed = s.topics.remove(name);
    if (!removed.is_ok()) {
      responder.fail(removed.status());
      return;
    }
    if (Status st = s.log.drop_topic(removed->topic_id, removed->partitions); !st.is_ok()) {
      responder.fail(st);
      return;
    }
    s.groups.topic_changed(removed->name);
    // Committed offsets are keyed by topic id: a re-created topic starts without them.
    if (Status st = s.offsets.remove_topic(removed->topic_id); !st.is_ok()) {
      responder.fail(st);
      return;
    }
    flatbuffers::FlatBufferBuilder fbb(64);
    responder.reply(fbb, wire::Body::DeleteTopicResponse, wire::CreateDeleteTopicResponse(fbb).Union());
  });
}

void list_topics(Services& s, Request& r) {
  auto topics = s.topics.list();
  flatbuffers::FlatBufferBuilder fbb(256 + topics.size() * 64);
  std::vector<flatbuffers::Offset<wire::TopicConfig>> out;
  out.reserve(topics.size());
  for (const auto& t : topics) out.push_back(to_wire_config(fbb, t));
  auto body = wire::CreateListTopicsResponse(fbb, fbb.CreateVector(out));
  r.responder.reply(fbb, wire::Body::ListTopicsResponse, body.Union());
}

void topic_status(Services& s, Request& r) {
  const auto* req = r.envelope.body_as_TopicStatusRequest();
  if (req->name() == nullptr) {
    r.responder.fail(Status::invalid_argument("topic status needs a name"));
    return;
  }
  auto topic = s.topics.find(req->name()->str());
  if (!topic) {
    r.responder.fail(topic_not_found(req->name()->str()));
    return;
  }
  flatbuffers::FlatBufferBuilder fbb(256 + topic->partitions * 40);
  std::vector<flatbuffers::Offset<wire::PartitionStatus>> parts;
  parts.reserve(topic->partitions);
  for (uint32_t p = 0; p < topic->partitions; ++p) {
    auto info = s.log.info(topic->topic_id, p);
    PartitionInfo i = info.is_ok() ? *info : PartitionInfo{};
    parts.push_back(wire::CreatePartitionStatus(fbb, p, i.start_offset, i.end_offset, static_cast<uint64_t>(i.last_store_ms)));
  }
  auto body = wire::CreateTopicStatusResponse(fbb, to_wire_config(fbb, *topic), fbb.CreateVector(parts));
  r.responder.reply(fbb, wire::Body::TopicStatusResponse, body.Union());
}

}  // namespace tidemq::broker::handlers
