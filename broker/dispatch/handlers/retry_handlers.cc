// SendBack (a consumer gives a message back to its group) and ResendDlq (mqadmin resendDlq).
// Both may create the group's %RETRY% / %DLQ% topic: the blocking pool (broker/schedule/).
#include "broker/dispatch/handlers/handlers.h"

namespace tidemq::broker::handlers {

namespace {
std::string str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }
}  // namespace

void send_back(Services& s, Request& r) {
  const auto* req = r.envelope.body_as_SendBackRequest();
  if (req->records() == nullptr) {
    r.responder.fail(Status::invalid_argument("send-back needs the message (records)"));
    return;
  }
  if (Status sticky = s.db.sticky_error(); !sticky.is_ok()) {
    r.responder.fail(sticky);
    return;
  }
  if (s.disk.disk_low()) {
    s.metrics.disk_full_rejections.fetch_add(1, std::memory_order_relaxed);
    r.responder.fail(s.disk.write_status());
    return;
  }
  std::string batch(reinterpret_cast<const char*>(req->records()->data()), req->records()->size());
  asio::post(s.blocking, [&s, group = str(req->group()), topic = str(req->topic()), batch = std::move(batch),
                          to_dlq = req->to_dlq(), responder = r.responder] {
    s.retries.send_back(group, topic, batch, to_dlq, [&s, responder](Result<SendBackResult> res) {
      if (!res.is_ok()) {
        responder.fail(res.status());
        return;
      }
      (res->deliver_at_ms == 0 ? s.metrics.dlq_messages : s.metrics.retries_scheduled)
          .fetch_add(1, std::memory_order_relaxed);
      flatbuffers::FlatBufferBuilder fbb(128);
      auto body = wire::CreateSendBackResponse(fbb, fbb.CreateString(res->destination), res->reconsume_times,
                                               static_cast<uint64_t>(res->deliver_at_ms));
      responder.reply(fbb, wire::Body::SendBackResponse, body.Union());
    });
  });
}

void resend_dlq(Services& s, Request& r) {
  const auto* req = r.envelope.body_as_ResendDlqRequest();
  asio::post(s.blocking, [&s, group = str(req->group()), id = req->id(), responder = r.responder] {
    auto n = s.retries.resend_dlq(group, id);
    if (!n.is_ok()) {
      responder.fail(n.status());
      return;
    }
    flatbuffers::FlatBufferBuilder fbb(64);
    responder.reply(fbb, wire::Body::ResendDlqResponse, wire::CreateResendDlqResponse(fbb, *n).Union());
  });
}

}  // namespace tidemq::broker::handlers
