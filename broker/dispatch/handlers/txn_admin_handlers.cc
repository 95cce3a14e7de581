// Half-message admin (mqadmin halfStatus, queryHalfMsg, resumeCheckHalfMsg, endHalfMsg,
// producerConnection). Lookups that may read LevelDB run on the blocking pool.
#include "broker/dispatch/handlers/handlers.h"
#include "broker/dispatch/handlers/txn_wire.h"

namespace tidemq::broker::handlers {

namespace {

std::string str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

// Answers with the half's view (Response is one of the *HalfResponse tables).
template <typename Response>
void reply_half(Services& s, const Responder& responder, Result<txn::HalfView> half, wire::Body type) {
  if (!half.is_ok()) {
    responder.fail(half.status());
    return;
  }
  flatbuffers::FlatBufferBuilder fbb(512 + half->batch.size());
  auto info = half_info_to_wire(fbb, *half, s.topics);
  typename Response::Builder b(fbb);
  b.add_half(info);
  responder.reply(fbb, type, b.Finish().Union());
}

}  // namespace

void half_status(Services& s, Request& r) {
  std::string group = str(r.envelope.body_as_HalfStatusRequest()->producer_group());
  txn::HalfSummary sum = s.txn.summary(group);
  flatbuffers::FlatBufferBuilder fbb(256 + sum.groups.size() * 64);
  std::vector<flatbuffers::Offset<wire::HalfGroupStatus>> groups;
  for (const auto& g : sum.groups) {
    groups.push_back(wire::CreateHalfGroupStatus(fbb, fbb.CreateString(g.producer_group), g.pending, g.parked,
                                                 g.oldest_age_ms, g.live_producers));
  }
  auto body = wire::CreateHalfStatusResponse(fbb, sum.pending, sum.parked, sum.oldest_age_ms, fbb.CreateVector(groups),
                                             fbb.CreateVector(sum.checks_histogram), sum.checks_sent,
                                             sum.committed, sum.rolled_back);
  r.responder.reply(fbb, wire::Body::HalfStatusResponse, body.Union());
}

void query_half(Services& s, Request& r) {
  uint64_t id = r.envelope.body_as_QueryHalfRequest()->txn_id();
  asio::post(s.blocking, [&s, id, responder = r.responder] {
    reply_half<wire::QueryHalfResponse>(s, responder, s.txn.query(id), wire::Body::QueryHalfResponse);
  });
}

void resume_half(Services& s, Request& r) {
  uint64_t id = r.envelope.body_as_ResumeHalfRequest()->txn_id();
  asio::post(s.blocking, [&s, id, responder = r.responder] {
    reply_half<wire::ResumeHalfResponse>(s, responder, s.txn.resume(id), wire::Body::ResumeHalfResponse);
  });
}

void end_half(Services& s, Request& r) {
  const auto* req = r.envelope.body_as_EndHalfRequest();
  auto action = action_from_wire(req->action());
  if (!action.is_ok() || *action == txn::Action::kUnknown) {
    r.responder.fail(Status::invalid_argument("endHalfMsg needs --commit or --rollback"));
    return;
  }
  uint64_t id = req->txn_id();
  s.txn.end(id, *action, txn::Source::kOperator, [&s, id, responder = r.responder](Result<txn::Outcome> out) {
    if (!out.is_ok()) {
      responder.fail(out.status());
      return;
    }
    asio::post(s.blocking, [&s, id, responder] {
      reply_half<wire::EndHalfResponse>(s, responder, s.txn.query(id), wire::Body::EndHalfResponse);
    });
  });
}

void producer_connection(Services& s, Request& r) {
  std::string group = str(r.envelope.body_as_ProducerConnectionRequest()->producer_group());
  if (group.empty()) {
    r.responder.fail(Status::invalid_argument("producerConnection needs a producer group (-g)"));
    return;
  }
  auto producers = s.sessions.producers(group);
  flatbuffers::FlatBufferBuilder fbb(128 + producers.size() * 96);
  std::vector<flatbuffers::Offset<wire::ProducerInfo>> out;
  for (const auto& p : producers) {
    out.push_back(wire::CreateProducerInfo(fbb, fbb.CreateString(p.client_id), fbb.CreateString(p.address),
                                           static_cast<uint64_t>(p.connected_ms), p.session_id));
  }
  auto body = wire::CreateProducerConnectionResponse(fbb, fbb.CreateVector(out));
  r.responder.reply(fbb, wire::Body::ProducerConnectionResponse, body.Union());
}

}  // namespace tidemq::broker::handlers
