// Hello: first request of a connection. Producers get a snowflake worker id leased to the
// connection (SPEC §4.3), taken from a persisted counter on the store's writer thread.
#include "broker/dispatch/handlers/handlers.h"
#include "broker/version.h"

namespace tidemq::broker::handlers {

namespace {
void reply_hello(Services& s, const Responder& r, int32_t worker_id) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto version = fbb.CreateString(std::string(kVersion));
  auto flush = fbb.CreateString(std::string(flush_mode_name(s.config.flush)));
  auto body = wire::CreateHelloResponse(fbb, version, kProtocolVersion, worker_id, s.config.max_frame_bytes,
                                        s.config.max_message_bytes, flush);
  r.reply(fbb, wire::Body::HelloResponse, body.Union());
}
}  // namespace

void hello(Services& s, Request& r) {
  const auto* req = r.envelope.body_as_HelloRequest();
  ClientInfo& client = r.responder.session().client();
  if (client.hello_done) {
    r.responder.fail(Status::protocol("Hello was already received on this connection"));
    return;
  }
  if (req->protocol_version() != kProtocolVersion) {
    r.responder.fail(Status(StatusCode::kUnsupported, "protocol version " + std::to_string(req->protocol_version()) +
                                                          " not supported (broker speaks " +
                                                          std::to_string(kProtocolVersion) + ")"));
    return;
  }
  client.hello_done = true;
  client.client_id = req->client_id() ? req->client_id()->str() : "";
  client.kind = static_cast<uint8_t>(req->client_kind());
  client.producer_group = req->producer_group() ? req->producer_group()->str() : "";
  if (req->client_kind() == wire::ClientKind::PRODUCER && !client.producer_group.empty()) {
    // A transactional producer: check-backs of its group may be sent on this connection.
    s.sessions.add_producer({r.responder.session().id(), client.producer_group, client.client_id,
                             r.responder.session().remote(), s.clock.now_ms()});
  }
  if (req->client_kind() != wire::ClientKind::PRODUCER) {
    reply_hello(s, r.responder, -1);
    return;
  }
  asio::post(s.blocking, [&s, responder = r.responder] {
    auto lease = s.log.next_worker_id([&s](uint32_t id) { return s.sessions.worker_in_use(id); });
    if (!lease.is_ok()) {
      responder.fail(lease.status());
      return;
    }
    s.sessions.claim_worker(responder.session().id(), *lease);
    auto session = responder.session_ptr();
    asio::post(session->strand(), [session, id = *lease] { session->client().worker_id = static_cast<int32_t>(id); });
    reply_hello(s, responder, static_cast<int32_t>(*lease));
  });
}

}  // namespace tidemq::broker::handlers
