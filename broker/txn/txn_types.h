#pragma once
// Plain data of the transaction core (SPEC §6): what callers pass in and get back.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tidemq::broker::txn {

// What a producer, its checker or an operator decides (wire TxnAction, same order).
enum class Action : uint8_t { kCommit = 0, kRollback, kUnknown };
// Who decided (logged, and kept in the outcome record).
enum class Source : uint8_t { kProducer = 0, kCheck, kOperator };
// Where a transaction stands (wire TxnState, same order).
enum class TxnState : uint8_t { kPending = 0, kParked, kCommitted, kRolledBack };

std::string_view action_name(Action a);
std::string_view source_name(Source s);
std::string_view state_name(TxnState s);

struct SendHalfAck {
  uint64_t txn_id = 0;
  int64_t store_ms = 0;  // wall clock when the broker received (stored) the half-message
};

// The answer to an EndTransaction: the recorded outcome, or PENDING/PARKED after UNKNOWN.
struct Outcome {
  uint64_t txn_id = 0;
  TxnState state = TxnState::kPending;
  uint32_t topic_id = 0;
  uint32_t partition = 0;
  uint64_t offset = 0;            // COMMITTED: where the message landed
  int64_t resolved_unix_ms = 0;   // COMMITTED/ROLLED_BACK: when
};

// One transaction as an operator sees it (queryHalfMsg, resumeCheckHalfMsg, endHalfMsg).
struct HalfView {
  uint64_t txn_id = 0;
  TxnState state = TxnState::kPending;
  std::string producer_group;
  uint32_t topic_id = 0;
  uint32_t partition = 0;
  uint32_t check_count = 0;
  int64_t age_ms = 0;              // since the broker received it
  int64_t next_check_in_ms = 0;    // pending only; < 0: overdue
  std::string batch;               // pending/parked: the half-message's record batch (1 record)
  uint64_t offset = 0;             // committed: where it landed
  int64_t resolved_unix_ms = 0;    // committed/rolled back
};

struct GroupSummary {
  std::string producer_group;
  uint64_t pending = 0;       // includes half-messages being stored
  uint64_t parked = 0;
  int64_t oldest_age_ms = 0;  // of its pending or parked half-messages, 0 if none
  uint32_t live_producers = 0;
  std::vector<uint64_t> checks_histogram;  // as HalfSummary's, for this group
};

// halfStatus: the totals are over the groups listed (all groups, or the one asked for).
struct HalfSummary {
  uint64_t pending = 0;
  uint64_t parked = 0;
  int64_t oldest_age_ms = 0;
  std::vector<GroupSummary> groups;  // sorted by name; groups without half-messages are left out
                                     // unless asked for by name
  // checks_histogram[i] = half-messages that have had i checks; the last bucket (index
  // check_max) counts check_max and more.
  std::vector<uint64_t> checks_histogram;
  // Since the broker started.
  uint64_t checks_sent = 0;
  uint64_t committed = 0;
  uint64_t rolled_back = 0;
};

}  // namespace tidemq::broker::txn
