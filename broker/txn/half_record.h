#pragma once
// The value layouts of the transaction keyspaces (broker/store/key_layout.h: kHalf,
// kTxnOutcome; kTxnOutcomeExpiry values are empty) and of the half log's records, their one
// home. (kHalf is only read now: a data directory from before the half log has its half records
// moved into the log when the broker opens it.) Each value starts with a
// version byte; a new version only appends fields. decode() rejects anything that does not
// hold together (unknown version, truncation, trailing bytes, bad flags, a batch that is not one
// record with the txn id) with a StorageError naming the transaction: a corrupt value is
// reported, never served as data.
#include <cstdint>
#include <string>
#include <string_view>

#include "broker/txn/txn_types.h"
#include "common/status.h"

namespace tidemq::broker::txn {

// kHalf | txn_id -> v1:
//   u8 version=1 | u16 group_len | group | u32 topic_id | u32 partition | u64 received_unix_ms |
//   u64 age_base_unix_ms | u32 check_count | u64 next_check_unix_ms | u8 parked (0/1) |
//   u32 immunity_ms | u32 batch_len | batch
struct HalfRecord {
  std::string producer_group;
  uint32_t topic_id = 0;
  uint32_t partition = 0;
  int64_t received_unix_ms = 0;    // wall clock when the broker received it
  int64_t age_base_unix_ms = 0;    // the max-age allowance counts from here: received, or the last resume
  uint32_t check_count = 0;        // checks actually sent
  int64_t next_check_unix_ms = 0;  // when the next check is due (wall clock)
  bool parked = false;
  uint32_t immunity_ms = 0;        // the SendHalf's check immunity (0: the broker's timeout)
  std::string batch;               // one record; its id is the txn id

  std::string encode() const;
  static Result<HalfRecord> decode(uint64_t txn_id, std::string_view value);
};

// kTxnOutcome | txn_id -> v1:
//   u8 version=1 | u8 state (2 committed, 3 rolled back) | u8 source | u16 group_len | group |
//   u32 topic_id | u32 partition | u64 offset | u64 resolved_unix_ms | u64 received_unix_ms |
//   u32 check_count
struct OutcomeRecord {
  TxnState state = TxnState::kCommitted;
  Source source = Source::kProducer;
  std::string producer_group;
  uint32_t topic_id = 0;
  uint32_t partition = 0;
  uint64_t offset = 0;  // committed: where the message landed
  int64_t resolved_unix_ms = 0;
  int64_t received_unix_ms = 0;
  uint32_t check_count = 0;

  std::string encode() const;
  static Result<OutcomeRecord> decode(uint64_t txn_id, std::string_view value);
};

// A HalfLog payload (broker/txn/half_log.h): u64 txn_id | a kHalf value as above. Each store,
// check update, park or resume appends one; a transaction's newest payload is its state.
std::string encode_logged_half(uint64_t txn_id, const HalfRecord& rec);
struct LoggedHalf {
  uint64_t txn_id = 0;
  HalfRecord rec;
};
// StorageError when shorter than a txn id or when the record does not decode.
Result<LoggedHalf> decode_logged_half(std::string_view payload);

// The txn id of a SendHalf batch: the id of its one record. InvalidArgument unless the batch
// parses and holds exactly one record with a non-zero id.
Result<uint64_t> txn_id_of(std::string_view batch);

}  // namespace tidemq::broker::txn
