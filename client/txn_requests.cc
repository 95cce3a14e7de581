#include "client/txn_requests.h"

#include <charconv>
#include <cmath>

#include "client/decode.h"
#include "client/txn_codec.h"
#include "client/wire_status.h"

namespace tidemq::client {

namespace {
constexpr double kMaxCheckImmunitySeconds = 3600;
}  // namespace

Result<std::chrono::milliseconds> check_immunity_of(const Message& msg, std::chrono::milliseconds fallback) {
  for (const auto& [k, v] : msg.properties) {
    if (k != kCheckImmunityProperty) continue;
    double seconds = -1;
    const char* end = v.data() + v.size();
    auto [p, ec] = std::from_chars(v.data(), end, seconds, std::chars_format::fixed);
    if (ec != std::errc() || p != end || !std::isfinite(seconds) || seconds < 0 || seconds > kMaxCheckImmunitySeconds) {
      return Status::invalid_argument(std::string(kCheckImmunityProperty) + " must be seconds in [0, 3600], got '" +
                                      v + "'");
    }
    return std::chrono::milliseconds(static_cast<int64_t>(std::llround(seconds * 1000)));
  }
  if (fallback.count() < 0 || fallback > std::chrono::hours(1)) {
    return Status::invalid_argument("check_immunity must be in [0, 1 h]");
  }
  return fallback;
}

flatbuffers::Offset<void> build_send_half(flatbuffers::FlatBufferBuilder& fbb, const std::string& topic,
                                          uint32_t partition, const std::string& batch,
                                          std::chrono::milliseconds check_immunity, bool first_attempt) {
  auto records = fbb.CreateVector(reinterpret_cast<const uint8_t*>(batch.data()), batch.size());
  auto t = fbb.CreateString(topic);
  return wire::CreateSendHalfRequest(fbb, t, partition, records, static_cast<uint32_t>(check_immunity.count()),
                                     first_attempt)
      .Union();
}

flatbuffers::Offset<void> build_end_transaction(flatbuffers::FlatBufferBuilder& fbb, uint64_t txn_id,
                                                TxnAction action) {
  return wire::CreateEndTransactionRequest(fbb, txn_id, txn_action_to_wire(action)).Union();
}

Result<HalfSendResult> half_result_from(const Frame& frame, uint64_t txn_id, uint32_t partition) {
  const auto* resp = frame.envelope().body_as_SendHalfResponse();
  if (resp == nullptr) return Status::protocol("expected SendHalfResponse");
  if (resp->txn_id() != txn_id) {
    return Status::protocol("SendHalfResponse for txn " + format_message_id(resp->txn_id()) + ", sent " +
                            format_message_id(txn_id));
  }
  return HalfSendResult{txn_id, partition, static_cast<int64_t>(resp->store_ms())};
}

Result<EndTransactionResult> end_result_from(const Frame& frame) {
  const auto* resp = frame.envelope().body_as_EndTransactionResponse();
  if (resp == nullptr) return Status::protocol("expected EndTransactionResponse");
  EndTransactionResult r;
  r.state = txn_state_from_wire(resp->state());  // a state from a newer broker reads as kPending
  r.topic = resp->topic() ? resp->topic()->str() : std::string();
  r.partition = resp->partition();
  r.offset = resp->offset();
  return r;
}

flatbuffers::Offset<void> build_send_half_batch(flatbuffers::FlatBufferBuilder& fbb, const std::vector<HalfItem>& items) {
  std::vector<flatbuffers::Offset<wire::SendHalfRequest>> halves;
  halves.reserve(items.size());
  for (const HalfItem& i : items) {
    auto records = fbb.CreateVector(reinterpret_cast<const uint8_t*>(i.batch->data()), i.batch->size());
    auto t = fbb.CreateString(*i.topic);
    halves.push_back(wire::CreateSendHalfRequest(fbb, t, i.partition, records,
                                                 static_cast<uint32_t>(i.check_immunity.count()), i.first_attempt));
  }
  return wire::CreateSendHalfBatchRequest(fbb, fbb.CreateVector(halves)).Union();
}

Result<std::vector<Result<HalfSendResult>>> half_results_from(const Frame& frame, const std::vector<HalfItem>& items) {
  const auto* resp = frame.envelope().body_as_SendHalfBatchResponse();
  if (resp == nullptr || resp->results() == nullptr) return Status::protocol("expected SendHalfBatchResponse");
  if (resp->results()->size() != items.size()) {
    return Status::protocol("SendHalfBatchResponse with " + std::to_string(resp->results()->size()) +
                            " results for " + std::to_string(items.size()) + " halves");
  }
  std::vector<Result<HalfSendResult>> out;
  out.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const wire::SendHalfResult& r = *resp->results()->Get(static_cast<flatbuffers::uoffset_t>(i));
    if (r.error() != wire::ErrorCode::NONE) {
      out.emplace_back(status_from_wire(r.error(), r.error_message()));
      continue;
    }
    if (r.txn_id() != items[i].txn_id) {
      return Status::protocol("SendHalfBatchResponse item " + std::to_string(i) + " for txn " +
                              format_message_id(r.txn_id()) + ", sent " + format_message_id(items[i].txn_id));
    }
    out.emplace_back(HalfSendResult{items[i].txn_id, items[i].partition, static_cast<int64_t>(r.store_ms())});
  }
  return out;
}

flatbuffers::Offset<void> build_end_transaction_batch(flatbuffers::FlatBufferBuilder& fbb,
                                                      const std::vector<std::pair<uint64_t, TxnAction>>& items) {
  std::vector<flatbuffers::Offset<wire::EndTransactionRequest>> ends;
  ends.reserve(items.size());
  for (const auto& [txn_id, action] : items) {
    ends.push_back(wire::CreateEndTransactionRequest(fbb, txn_id, txn_action_to_wire(action)));
  }
  return wire::CreateEndTransactionBatchRequest(fbb, fbb.CreateVector(ends)).Union();
}

Result<std::vector<Result<EndTransactionResult>>> end_results_from(const Frame& frame, size_t count) {
  const auto* resp = frame.envelope().body_as_EndTransactionBatchResponse();
  if (resp == nullptr || resp->results() == nullptr) return Status::protocol("expected EndTransactionBatchResponse");
  if (resp->results()->size() != count) {
    return Status::protocol("EndTransactionBatchResponse with " + std::to_string(resp->results()->size()) +
                            " results for " + std::to_string(count) + " ends");
  }
  std::vector<Result<EndTransactionResult>> out;
  out.reserve(count);
  for (const wire::EndTransactionResult* r : *resp->results()) {
    if (r->error() != wire::ErrorCode::NONE) {
      out.emplace_back(status_from_wire(r->error(), r->error_message()));
      continue;
    }
    EndTransactionResult e;
    e.state = txn_state_from_wire(r->state());
    e.topic = r->topic() ? r->topic()->str() : std::string();
    e.partition = r->partition();
    e.offset = r->offset();
    out.emplace_back(std::move(e));
  }
  return out;
}

Result<CheckRequest> check_request_from(const Frame& frame) {
  const wire::Envelope& env = frame.envelope();
  const auto* req = env.body_as_CheckTransactionRequest();
  if (req == nullptr) {
    return Status::protocol("broker request " + std::string(wire::EnumNameBody(env.body_type())) +
                            " is not a CheckTransactionRequest");
  }
  CheckRequest out;
  out.correlation_id = env.correlation_id();
  out.txn_id = req->txn_id();
  out.check_count = req->check_count();
  if (req->message() != nullptr) out.half = message_from_view(*req->message());
  if (out.half.id == 0) out.half.id = out.txn_id;
  std::erase_if(out.half.properties, [](const auto& kv) { return kv.first == kCheckTimesProperty; });
  out.half.properties.emplace_back(std::string(kCheckTimesProperty), std::to_string(out.check_count));
  return out;
}

OutFrame check_answer(uint64_t correlation_id, uint64_t txn_id, TxnAction action) {
  flatbuffers::FlatBufferBuilder fbb(64);
  auto body = wire::CreateCheckTransactionResponse(fbb, txn_id, txn_action_to_wire(action));
  return finish_envelope(fbb, correlation_id, wire::Body::CheckTransactionResponse, body.Union());
}

}  // namespace tidemq::client
