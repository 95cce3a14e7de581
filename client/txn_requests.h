#pragma once
// The transactional producer's requests (schemas/txn.fbs): SendHalf and EndTransaction and their
// answers, the broker's CheckTransaction request and our reply, the check-immunity property.
// Pure functions, unit-tested without a broker; the enum conversions are txn_codec's.
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "client/connection.h"
#include "common/status.h"
#include "schemas/envelope_generated.h"
#include "tidemq/transaction.h"

namespace tidemq::client {

// The check immunity of `msg`: kCheckImmunityProperty when present (decimal seconds), else
// `fallback`; InvalidArgument for a value that is not a number in [0, 3600].
Result<std::chrono::milliseconds> check_immunity_of(const Message& msg, std::chrono::milliseconds fallback);

// A SendHalfRequest body in `fbb`: `batch` is a record batch of exactly one record (its id is
// the txn id). `first_attempt`: this txn id was never sent before (not a retry).
flatbuffers::Offset<void> build_send_half(flatbuffers::FlatBufferBuilder& fbb, const std::string& topic,
                                          uint32_t partition, const std::string& batch,
                                          std::chrono::milliseconds check_immunity, bool first_attempt);
flatbuffers::Offset<void> build_end_transaction(flatbuffers::FlatBufferBuilder& fbb, uint64_t txn_id,
                                                TxnAction action);

// Answers. ProtocolError when the frame holds another body, or answers another transaction.
Result<HalfSendResult> half_result_from(const Frame& frame, uint64_t txn_id, uint32_t partition);
Result<EndTransactionResult> end_result_from(const Frame& frame);

// Batches (SendHalfBatchRequest / EndTransactionBatchRequest): several requests in one, each
// handled on its own by the broker. The answers are one Result per item, in item order (an
// item's error as its Status); ProtocolError for the whole frame when it holds another body, a
// different number of results, or an ack for another transaction.
struct HalfItem {
  const std::string* topic = nullptr;
  uint32_t partition = 0;
  const std::string* batch = nullptr;  // one record, id == txn_id
  std::chrono::milliseconds check_immunity{0};
  bool first_attempt = false;
  uint64_t txn_id = 0;
};
flatbuffers::Offset<void> build_send_half_batch(flatbuffers::FlatBufferBuilder& fbb, const std::vector<HalfItem>& items);
Result<std::vector<Result<HalfSendResult>>> half_results_from(const Frame& frame, const std::vector<HalfItem>& items);
flatbuffers::Offset<void> build_end_transaction_batch(flatbuffers::FlatBufferBuilder& fbb,
                                                      const std::vector<std::pair<uint64_t, TxnAction>>& items);
Result<std::vector<Result<EndTransactionResult>>> end_results_from(const Frame& frame, size_t count);

// A broker check-back request, decoded.
struct CheckRequest {
  uint64_t correlation_id = 0;
  uint64_t txn_id = 0;
  uint32_t check_count = 0;
  Message half;  // kCheckTimesProperty set to check_count (replacing one the message had)
};
// ProtocolError when the frame is not a CheckTransactionRequest.
Result<CheckRequest> check_request_from(const Frame& frame);
// Our answer: a CheckTransactionResponse envelope with the request's correlation id.
OutFrame check_answer(uint64_t correlation_id, uint64_t txn_id, TxnAction action);

}  // namespace tidemq::client
