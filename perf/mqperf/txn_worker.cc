#include "perf/mqperf/txn_worker.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "perf/mqperf/load.h"

namespace tidemq::perf {
namespace {

// At most `limit` transactions in flight.
class Slots {
 public:
  explicit Slots(uint32_t limit) : free_(limit), limit_(limit) {}
  // False when `stop` was set while waiting.
  bool acquire(const std::atomic<bool>& stop) {
    std::unique_lock lock(mu_);
    while (free_ == 0) {
      if (stop.load(std::memory_order_relaxed)) return false;
      cv_.wait_for(lock, std::chrono::milliseconds(50));
    }
    --free_;
    return true;
  }
  void release() {
    {
      std::lock_guard lock(mu_);
      ++free_;
    }
    cv_.notify_all();
  }
  void wait_all_free() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return free_ == limit_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint32_t free_;
  const uint32_t limit_;
};

// Everything the callbacks of one worker share; outlives its producer (declared first).
struct Shared {
  const PerfOptions& options;
  WorkerStats& st;
  StatsSet& stats;
  TxnLedger& ledger;
  TxnTally& tally;
  TxnRates rates;
  Slots slots;
  TransactionalProducer* producer = nullptr;
};

// A failed SendHalf may still have been stored: its id is known to the worker only once
// send_half_async returns, which may be after the callback ran. The second of the two to arrive
// tells the ledger.
struct HalfFailure {
  std::atomic<uint64_t> txn_id{0};
  std::atomic<int> arrivals{0};
  void arrive(TxnLedger& ledger) {
    if (arrivals.fetch_add(1, std::memory_order_acq_rel) == 1) ledger.lost(txn_id.load(std::memory_order_acquire));
  }
};

void on_end(Shared& sh, uint64_t txn_id, TxnAction action, int64_t start_us, uint64_t bytes,
            const Result<EndTransactionResult>& r) {
  if (r.is_ok()) {
    sh.ledger.end_acknowledged(txn_id, r->state);
    sh.tally.ends_acknowledged.fetch_add(1, std::memory_order_relaxed);
    sh.st.latency.record(static_cast<uint64_t>(std::max<int64_t>(0, steady_now_us() - start_us)));
    if (action == TxnAction::kCommit && r->state == TxnState::kCommitted) {
      sh.st.done.fetch_add(1, std::memory_order_relaxed);
      sh.st.bytes.fetch_add(bytes, std::memory_order_relaxed);
    }
  } else {
    sh.ledger.lost(txn_id);
    sh.tally.ends_lost.fetch_add(1, std::memory_order_relaxed);
    sh.st.errors.fetch_add(1, std::memory_order_relaxed);
    sh.stats.note_error(r.status());
  }
  sh.slots.release();
}

void on_half(Shared& sh, const std::shared_ptr<HalfFailure>& failure, int64_t start_us, uint64_t bytes,
             const Result<HalfSendResult>& r) {
  if (!r.is_ok()) {
    sh.st.errors.fetch_add(1, std::memory_order_relaxed);
    sh.stats.note_error(r.status());
    failure->arrive(sh.ledger);
    sh.slots.release();
    return;
  }
  const uint64_t txn_id = r->txn_id;
  sh.ledger.opened(txn_id);
  sh.tally.transactions.fetch_add(1, std::memory_order_relaxed);
  const TxnAction action = send_decision(txn_id, sh.rates);
  switch (action) {
    case TxnAction::kCommit: sh.tally.commits.fetch_add(1, std::memory_order_relaxed); break;
    case TxnAction::kRollback: sh.tally.rollbacks.fetch_add(1, std::memory_order_relaxed); break;
    case TxnAction::kUnknown: sh.tally.unknowns.fetch_add(1, std::memory_order_relaxed); break;
  }
  Shared* shp = &sh;
  sh.producer->end_transaction_async(txn_id, action, [shp, txn_id, action, start_us, bytes](const auto& e) {
    on_end(*shp, txn_id, action, start_us, bytes, e);
  });
}

TxnRates rates_of(const PerfOptions& o) {
  return TxnRates{o.send_rollback_rate, o.send_unknown_rate, o.check_rollback_rate, o.check_unknown_rate};
}

// A worker's producer and what its callbacks use; the producer goes first (reverse member order).
struct Worker {
  Shared sh;
  std::unique_ptr<TransactionalProducer> producer;
};

uint32_t check_times_of(const Message& half) {
  for (const auto& [k, v] : half.properties) {
    if (k == kCheckTimesProperty) return static_cast<uint32_t>(std::strtoul(v.c_str(), nullptr, 10));
  }
  return 0;
}

}  // namespace

std::shared_ptr<void> run_txn_producer(const PerfOptions& options, const TxnPlan& plan, const std::atomic<bool>& stop,
                                       StatsSet& stats, TxnLedger& ledger, TxnTally& tally) {
  WorkerStats& st = stats.worker(plan.index);
  std::shared_ptr<Worker> worker(
      new Worker{Shared{options, st, stats, ledger, tally, rates_of(options), Slots(options.inflight), nullptr}, nullptr});
  Shared& sh = worker->sh;

  TransactionalProducerOptions to;
  to.producer = producer_options(options);
  to.producer.client.client_id = "mqperf-txn-" + std::to_string(plan.index);
  to.producer.producer_group = plan.group;
  to.checker_threads = options.checker_threads;
  TxnLedger* ledger_ptr = &ledger;
  auto created = TransactionalProducer::create(std::move(to), [ledger_ptr](const Message& half, uint64_t txn_id) {
    const int64_t now_ms = steady_now_us() / 1000;
    return ledger_ptr->on_check(txn_id, check_times_of(half), now_ms).answer;
  });
  if (!created.is_ok()) {
    st.errors.fetch_add(1, std::memory_order_relaxed);
    stats.note_error(created.status());
    return nullptr;
  }
  worker->producer = std::move(created).value();
  TransactionalProducer* producer = worker->producer.get();
  sh.producer = producer;

  const std::string body = make_body(options.size);
  const uint64_t bytes = body.size();
  const RatePacer pacer(plan.rate);
  for (uint64_t i = 0; plan.quota == 0 || i < plan.quota; ++i) {
    if (stop.load(std::memory_order_relaxed)) break;
    pacer.wait_turn(i);
    if (!sh.slots.acquire(stop)) break;
    Message msg;
    msg.topic = options.topic;
    msg.body = body;
    const int64_t start_us = steady_now_us();
    st.sent.fetch_add(1, std::memory_order_relaxed);
    auto failure = std::make_shared<HalfFailure>();
    Shared* shp = &sh;
    const uint64_t txn_id = producer->send_half_async(
        std::move(msg), [shp, failure, start_us, bytes](const Result<HalfSendResult>& r) {
          on_half(*shp, failure, start_us, bytes, r);
        });
    if (txn_id != 0) {
      failure->txn_id.store(txn_id, std::memory_order_release);
      failure->arrive(ledger);
    }
  }
  sh.slots.wait_all_free();  // every transaction's last callback has run
  return worker;
}

}  // namespace tidemq::perf
