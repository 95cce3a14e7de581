#include "broker/dispatch/session_check_sender.h"

#include "broker/dispatch/message_view.h"
#include "broker/dispatch/responder.h"
#include "broker/net/session.h"
#include "schemas/envelope_generated.h"

namespace tidemq::broker {

std::vector<uint64_t> SessionCheckSender::live_producers(const std::string& group) {
  std::vector<uint64_t> out;
  for (const auto& p : sessions_.producers(group)) out.push_back(p.session_id);
  return out;
}

bool SessionCheckSender::send(uint64_t session_id, const txn::CheckRequest& req) {
  auto session = sessions_.find(session_id);
  if (!session || session->closed()) return false;
  flatbuffers::FlatBufferBuilder fbb(256 + req.batch.size());
  auto message = half_message_view(fbb, topics_, req.topic_id, req.partition, req.batch);
  if (message.IsNull()) return false;
  auto body = wire::CreateCheckTransactionRequest(fbb, req.txn_id, fbb.CreateString(req.producer_group), message,
                                                  req.check_count);
  const uint64_t id = kBrokerRequestIdBit | next_id_.fetch_add(1, std::memory_order_relaxed);
  auto env = wire::CreateEnvelope(fbb, id, wire::Body::CheckTransactionRequest, body.Union());
  session->send(Responder::finish_frame(fbb, env), /*completes_request=*/false);
  return true;
}

}  // namespace tidemq::broker
