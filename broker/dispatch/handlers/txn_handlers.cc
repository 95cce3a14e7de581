// Transactions, producer side (SPEC §6): SendHalf, EndTransaction, and the producer's reply to a
// check-back. The TxnService does the work off the network thread (writes on the LogStore
// writer, body reads on the blocking pool); the handlers validate and reply.
#include "broker/dispatch/handlers/handlers.h"
#include "broker/dispatch/handlers/txn_items.h"
#include "broker/dispatch/handlers/txn_wire.h"
#include "broker/txn/half_record.h"
#include "common/record_batch.h"

namespace tidemq::broker::handlers {

namespace {

// TxnService calls back on the store's writer thread (or a blocking one): the response is built
// on the session's strand so it never delays the next group commit (as for produce).
template <typename T, typename Fn>
std::function<void(Result<T>)> on_strand(const Responder& responder, Fn fn) {
  return [session = responder.session_ptr(), fn = std::move(fn)](Result<T> r) mutable {
    asio::post(session->strand(), [fn = std::move(fn), r = std::move(r)]() mutable { fn(std::move(r)); });
  };
}

}  // namespace

void send_half_item(Services& s, const wire::SendHalfRequest* req, const std::string& producer_group,
                    SendHalfDone done) {
  if (producer_group.empty()) {
    return done(Status::invalid_argument(
        "SendHalf needs a producer group: name it in the connection's Hello (ProducerOptions.producer_group)"));
  }
  if (req->topic() == nullptr || req->records() == nullptr) {
    return done(Status::invalid_argument("SendHalf needs a topic and one record"));
  }
  if (Status sticky = s.db.sticky_error(); !sticky.is_ok()) return done(std::move(sticky));
  if (s.disk.disk_low()) {
    s.metrics.disk_full_rejections.fetch_add(1, std::memory_order_relaxed);
    return done(s.disk.write_status());
  }
  auto topic = s.topics.find(req->topic()->str());
  if (!topic) {
    return done(Status(StatusCode::kTopicNotFound,
                       "topic '" + req->topic()->str() + "' does not exist (create it with mqadmin updateTopic)"));
  }
  if (req->partition() >= topic->partitions) {
    return done(Status(StatusCode::kInvalidPartition, "partition " + std::to_string(req->partition()) +
                                                          " of topic '" + topic->name + "' does not exist"));
  }
  std::string_view bytes(reinterpret_cast<const char*>(req->records()->data()), req->records()->size());
  auto header = record::validate(bytes, s.config.max_message_bytes);
  if (!header.is_ok()) return done(header.status());
  if (header->record_count != 1) {
    return done(
        Status::invalid_argument("a half-message is one record, not " + std::to_string(header->record_count)));
  }
  if (s.config.unsafe_ack_before_sync) [[unlikely]] {  // the reliability suite's canary (T6c)
    // Acknowledged at once, stored 200 ms later: a crash in between loses acknowledged halves.
    auto id = txn::txn_id_of(bytes);
    if (!id.is_ok()) return done(id.status());
    done(txn::SendHalfAck{*id, s.clock.now_ms()});
    store_later(s, [&s, group = producer_group, topic_id = topic->topic_id, partition = req->partition(),
                    data = std::string(bytes), immunity = req->check_immunity_ms(),
                    first = req->first_attempt()]() mutable {
      s.txn.send_half(std::move(group), topic_id, partition, std::move(data), immunity,
                      [](Result<txn::SendHalfAck>) {}, first);
    });
    return;
  }
  s.txn.send_half(producer_group, topic->topic_id, req->partition(), std::string(bytes), req->check_immunity_ms(),
                  std::move(done), req->first_attempt());
}

void end_transaction_item(Services& s, const wire::EndTransactionRequest* req, EndDone done) {
  auto action = action_from_wire(req->action());
  if (!action.is_ok()) return done(action.status());
  s.txn.end(req->txn_id(), *action, txn::Source::kProducer, std::move(done));
}

void send_half(Services& s, Request& r) {
  send_half_item(s, r.envelope.body_as_SendHalfRequest(), r.responder.session().client().producer_group,
                 on_strand<txn::SendHalfAck>(r.responder, [responder = r.responder](Result<txn::SendHalfAck> ack) {
                   if (!ack.is_ok()) {
                     responder.fail(ack.status());
                     return;
                   }
                   flatbuffers::FlatBufferBuilder fbb(64);
                   auto body = wire::CreateSendHalfResponse(fbb, ack->txn_id, static_cast<uint64_t>(ack->store_ms));
                   responder.reply(fbb, wire::Body::SendHalfResponse, body.Union());
                 }));
}

void end_transaction(Services& s, Request& r) {
  end_transaction_item(
      s, r.envelope.body_as_EndTransactionRequest(),
      on_strand<txn::Outcome>(r.responder, [&s, responder = r.responder](Result<txn::Outcome> out) {
        if (!out.is_ok()) {
          responder.fail(out.status());
          return;
        }
        flatbuffers::FlatBufferBuilder fbb(128);
        flatbuffers::Offset<flatbuffers::String> topic;
        if (out->state == txn::TxnState::kCommitted) {
          auto t = s.topics.find_by_id(out->topic_id);
          topic = fbb.CreateString(t ? t->name : std::string());
        }
        auto body =
            wire::CreateEndTransactionResponse(fbb, state_to_wire(out->state), topic, out->partition, out->offset);
        responder.reply(fbb, wire::Body::EndTransactionResponse, body.Union());
      }));
}

void check_reply(Services& s, Request& r) {
  // An answer to a broker-initiated request: it gets no response of its own.
  r.responder.session().request_done();
  const auto* reply = r.envelope.body_as_CheckTransactionResponse();
  auto action = action_from_wire(reply->action());
  if (!action.is_ok()) return;  // a newer client's answer: the check will be sent again
  s.txn.on_check_reply(r.responder.session().id(), reply->txn_id(), *action);
}

}  // namespace tidemq::broker::handlers
