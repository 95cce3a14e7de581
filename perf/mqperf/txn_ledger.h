#pragma once
// mqperf txn: the decisions of the simulated local transactions and check-backs, and the ledger
// that tells an expected check-back from an unexpected or a duplicated one (RocketMQ benchmark's
// unexpectedCheck / duplicatedCheck counters, which must stay 0).
//
// Decisions are pure functions of the transaction id, so any producer of the run — the broker
// checks back with any live member of the producer group — gives the same answers:
// - at send: ROLLBACK for a fraction `send_rollback` of ids, UNKNOWN for `send_unknown`, else COMMIT;
// - at a check of a transaction that was UNKNOWN at send: per (id, check number), ROLLBACK for
//   `check_rollback`, UNKNOWN for `check_unknown`, else COMMIT; a transaction whose end was lost
//   is answered with its send decision (its local transaction did decide).
//
// Which checks are expected: only of transactions that answered UNKNOWN at send, or whose
// SendHalf / EndTransaction was not acknowledged (the broker may hold them open). A check of a
// transaction whose COMMIT/ROLLBACK the broker acknowledged is unexpected. Two checks of one
// transaction less than the check interval apart (minus a slack of min(1 s, interval / 10) for
// network and queueing jitter) make a duplicated check.
//
// Thread-safe; sharded by id (the workers' callbacks and the checker threads update it at once).
#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "common/thread_annotations.h"
#include "tidemq/transaction.h"

namespace tidemq::perf {

struct TxnRates {
  double send_rollback = 0;
  double send_unknown = 0;
  double check_rollback = 0;
  double check_unknown = 0;
};

// A well-mixed fraction in [0, 1) of (id, salt) (splitmix64).
double txn_fraction(uint64_t txn_id, uint64_t salt);
TxnAction send_decision(uint64_t txn_id, const TxnRates& rates);
// `check_times`: the check's number (1 for the first) — TRANSACTION_CHECK_TIMES.
TxnAction check_decision(uint64_t txn_id, uint32_t check_times, const TxnRates& rates);

class TxnLedger {
 public:
  TxnLedger(TxnRates rates, int64_t check_interval_ms);

  // The half-message of `txn_id` was stored; its EndTransaction is about to be sent.
  void opened(uint64_t txn_id);
  // The broker answered the EndTransaction with `state`: COMMITTED / ROLLED_BACK close the
  // transaction (a check of it is unexpected from now on); PENDING / PARKED leave it awaiting checks.
  void end_acknowledged(uint64_t txn_id, TxnState state);
  // The SendHalf or EndTransaction of `txn_id` was not acknowledged: the broker may hold it open.
  void lost(uint64_t txn_id);

  struct Verdict {
    TxnAction answer = TxnAction::kUnknown;
    bool unexpected = false;
    bool duplicated = false;
  };
  // A check-back of `txn_id` arrived at `now_ms` (steady clock): counts it and returns the answer.
  Verdict on_check(uint64_t txn_id, uint32_t check_times, int64_t now_ms);

  uint64_t checks() const { return checks_.load(std::memory_order_relaxed); }
  uint64_t unexpected_checks() const { return unexpected_.load(std::memory_order_relaxed); }
  uint64_t duplicated_checks() const { return duplicated_.load(std::memory_order_relaxed); }
  // Transactions still waiting for a check to resolve them (UNKNOWN at send, or lost ends,
  // not yet answered COMMIT/ROLLBACK by a check).
  uint64_t awaiting_checks() const { return awaiting_.load(std::memory_order_relaxed); }
  // Smallest gap between two checks of one transaction that is not a duplicate.
  int64_t min_check_gap_ms() const { return min_gap_ms_; }

 private:
  enum class Phase : uint8_t { kEnding, kAwaitingCheck, kResolvedByCheck };
  struct Entry {
    Phase phase = Phase::kEnding;
    int64_t last_check_ms = -1;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<uint64_t, Entry> open GUARDED_BY(mu);  // transactions not closed by an acknowledged end
  };
  static constexpr size_t kShards = 16;
  Shard& shard(uint64_t txn_id) { return shards_[(txn_id * 0x9E3779B97F4A7C15ull) >> 60]; }
  void set_phase(Entry& e, Phase phase);

  const TxnRates rates_;
  const int64_t min_gap_ms_;
  std::array<Shard, kShards> shards_;
  std::atomic<uint64_t> checks_{0};
  std::atomic<uint64_t> unexpected_{0};
  std::atomic<uint64_t> duplicated_{0};
  std::atomic<uint64_t> awaiting_{0};
};

}  // namespace tidemq::perf
