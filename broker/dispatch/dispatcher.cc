#include "broker/dispatch/dispatcher.h"

#include <array>

#include <flatbuffers/flatbuffers.h>

#include "broker/dispatch/error_codes.h"
#include "broker/dispatch/handlers/handlers.h"
#include "common/logging.h"

namespace tidemq::broker {

namespace {

using HandlerFn = void (*)(Services&, handlers::Request&);
constexpr size_t kBodyTypes = static_cast<size_t>(wire::Body::MAX) + 1;

// Requests a client may send (and the one answer to a broker-initiated request). Other response
// types and unknown values have no handler.
constexpr std::array<HandlerFn, kBodyTypes> make_table() {
  std::array<HandlerFn, kBodyTypes> t{};
  auto at = [&t](wire::Body b) -> HandlerFn& { return t[static_cast<size_t>(b)]; };
  at(wire::Body::HelloRequest) = handlers::hello;
  at(wire::Body::ProduceRequest) = handlers::produce;
  at(wire::Body::FetchRequest) = handlers::fetch;
  at(wire::Body::CreateTopicRequest) = handlers::create_topic;
  at(wire::Body::DeleteTopicRequest) = handlers::delete_topic;
  at(wire::Body::ListTopicsRequest) = handlers::list_topics;
  at(wire::Body::TopicStatusRequest) = handlers::topic_status;
  at(wire::Body::BrokerStatusRequest) = handlers::broker_status;
  at(wire::Body::QueryMessageRequest) = handlers::query_message;
  at(wire::Body::JoinGroupRequest) = handlers::join_group;
  at(wire::Body::HeartbeatRequest) = handlers::heartbeat;
  at(wire::Body::LeaveGroupRequest) = handlers::leave_group;
  at(wire::Body::CommitOffsetsRequest) = handlers::commit_offsets;
  at(wire::Body::FetchOffsetsRequest) = handlers::fetch_offsets;
  at(wire::Body::UpdateGroupRequest) = handlers::update_group;
  at(wire::Body::DeleteGroupRequest) = handlers::delete_group;
  at(wire::Body::ListGroupsRequest) = handlers::list_groups;
  at(wire::Body::DescribeGroupRequest) = handlers::describe_group;
  at(wire::Body::ConsumerProgressRequest) = handlers::consumer_progress;
  at(wire::Body::ResetOffsetsRequest) = handlers::reset_offsets;
  at(wire::Body::SendHalfRequest) = handlers::send_half;
  at(wire::Body::EndTransactionRequest) = handlers::end_transaction;
  at(wire::Body::SendHalfBatchRequest) = handlers::send_half_batch;
  at(wire::Body::EndTransactionBatchRequest) = handlers::end_transaction_batch;
  at(wire::Body::CheckTransactionResponse) = handlers::check_reply;  // the answer to a broker request
  at(wire::Body::HalfStatusRequest) = handlers::half_status;
  at(wire::Body::QueryHalfRequest) = handlers::query_half;
  at(wire::Body::ResumeHalfRequest) = handlers::resume_half;
  at(wire::Body::EndHalfRequest) = handlers::end_half;
  at(wire::Body::ProducerConnectionRequest) = handlers::producer_connection;
  at(wire::Body::SendBackRequest) = handlers::send_back;
  at(wire::Body::ResendDlqRequest) = handlers::resend_dlq;
  return t;
}
constexpr std::array<HandlerFn, kBodyTypes> kHandlers = make_table();

}  // namespace

void Dispatcher::on_frame(const std::shared_ptr<Session>& session, std::string frame) {
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(frame.data()), frame.size());
  if (!wire::VerifyEnvelopeBuffer(verifier)) {
    services_.metrics.protocol_errors.fetch_add(1, std::memory_order_relaxed);
    logging::get("net")->info("session {} ({}): frame fails verification, closing", session->id(), session->remote());
    Responder(session, 0).fail(Status::protocol("frame is not a valid Envelope"));
    session->close("invalid envelope");
    return;
  }
  const wire::Envelope* env = wire::GetEnvelope(frame.data());
  handlers::Request req{*env, Responder(session, env->correlation_id()), frame};
  auto type = static_cast<size_t>(env->body_type());
  HandlerFn fn = type < kHandlers.size() ? kHandlers[type] : nullptr;
  if (fn == nullptr || env->body() == nullptr) {
    services_.metrics.request_errors.fetch_add(1, std::memory_order_relaxed);
    req.responder.fail(Status(StatusCode::kUnsupported,
                              "unsupported request type " + std::to_string(type)));
    return;
  }
  if (!session->client().hello_done && env->body_type() != wire::Body::HelloRequest) {
    services_.metrics.request_errors.fetch_add(1, std::memory_order_relaxed);
    req.responder.fail(Status::protocol("the first request on a connection must be Hello"));
    return;
  }
  fn(services_, req);
}

void Dispatcher::on_stream_error(const std::shared_ptr<Session>& session, const Status& error) {
  services_.metrics.protocol_errors.fetch_add(1, std::memory_order_relaxed);
  logging::get("net")->info("session {} ({}): {}; closing", session->id(), session->remote(), error.to_string());
  // Not an answer to any request: do not count it against the in-flight requests.
  flatbuffers::FlatBufferBuilder fbb(128);
  auto msg = fbb.CreateString(error.message());
  auto env = wire::CreateEnvelope(fbb, 0, wire::Body::NONE, 0, to_wire(error.code()), msg);
  session->send(Responder::finish_frame(fbb, env), /*completes_request=*/false);
}

void Dispatcher::on_close(Session& session) {
  services_.sessions.remove(session.id());
  services_.groups.session_closed(session.id());  // its group members leave: partitions move now
  services_.txn.on_session_closed(session.id());   // its outstanding check-backs are given up
}

}  // namespace tidemq::broker
