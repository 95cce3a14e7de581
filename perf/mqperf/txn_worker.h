#pragma once
// mqperf txn: one TransactionalProducer connection keeping `--inflight` transactions going —
// SendHalf, the local decision (txn_ledger.h), EndTransaction — and answering the broker's
// check-backs through the shared ledger. What send_in_transaction does, without a thread per
// transaction: the next step starts from the previous one's callback.
#include <atomic>
#include <cstdint>
#include <memory>

#include "perf/mqperf/options.h"
#include "perf/mqperf/stats.h"
#include "perf/mqperf/txn_ledger.h"
#include "tidemq/transaction.h"

namespace tidemq::perf {

struct TxnPlan {
  uint32_t index = 0;
  uint64_t quota = 0;  // transactions to start; 0 = until stop
  double rate = 0;     // this worker's transactions per second; 0 = as fast as possible
  std::string group;   // producer group
};

// Counts across workers (relaxed atomics, bumped from the producers' callback threads).
struct TxnTally {
  std::atomic<uint64_t> transactions{0};  // half-messages stored
  std::atomic<uint64_t> commits{0};
  std::atomic<uint64_t> rollbacks{0};
  std::atomic<uint64_t> unknowns{0};
  std::atomic<uint64_t> ends_lost{0};
  std::atomic<uint64_t> ends_acknowledged{0};  // whatever the outcome: the run's progress
};

// Starts transactions until the quota or `stop`, waits for the ones in flight, and returns a
// handle that keeps the producer open — answering checks — until the caller drops it (nullptr
// if the producer could not be created). WorkerStats: sent = transactions started, done = COMMITs acknowledged
// (bytes: their bodies), errors = failed SendHalf or lost EndTransaction, latency = SendHalf
// start -> EndTransaction acknowledged, for every transaction whose end was acknowledged.
std::shared_ptr<void> run_txn_producer(const PerfOptions& options, const TxnPlan& plan,
                                                        const std::atomic<bool>& stop, StatsSet& stats,
                                                        TxnLedger& ledger, TxnTally& tally);

}  // namespace tidemq::perf
