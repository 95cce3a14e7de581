// mqperf txn (SPEC §9): transactional throughput and the check-back counters.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "perf/mqperf/modes.h"
#include "perf/mqperf/monitor.h"
#include "perf/mqperf/run_support.h"
#include "perf/mqperf/txn_ledger.h"
#include "perf/mqperf/txn_worker.h"

namespace tidemq::perf {

Summary run_txn(const PerfOptions& o) {
  Summary s = base_summary(o);
  if (auto topic = ensure_topic(o); !topic.is_ok()) return setup_failed(s, topic.status());
  const std::string group = o.group.empty() ? "mqperf-txn-" + std::to_string(getpid()) : o.group;

  TxnLedger ledger({o.send_rollback_rate, o.send_unknown_rate, o.check_rollback_rate, o.check_unknown_rate},
                   o.check_interval_ms);
  TxnTally tally;
  StatsSet producers(o.producers);
  Monitor monitor({s.mode, o.timeline, true}, &producers, nullptr);
  monitor.set_progress_extra([&ledger] {
    return checks_progress(ledger.checks(), ledger.unexpected_checks(), ledger.duplicated_checks());
  });
  if (Status st = monitor.start(); !st.is_ok()) return setup_failed(s, st);

  std::atomic<bool> stop{false};
  bool stopped_by_duration = false;
  std::mutex open_mu;
  std::vector<std::shared_ptr<void>> open;  // finished workers' producers, still answering checks
  const int64_t start_us = steady_now_us();
  int64_t end_us = 0;
  {
    WorkerGroup workers;
    for (uint32_t i = 0; i < o.producers; ++i) {
      TxnPlan plan{i, split_count(o.count, o.producers, i), o.rate / o.producers, group};
      workers.spawn([&, plan] {
        auto handle = run_txn_producer(o, plan, stop, producers, ledger, tally);
        std::lock_guard lock(open_mu);
        open.push_back(std::move(handle));
      });
    }
    // Progress is any transaction step, not only COMMITs (a run of rollbacks moves too).
    const Supervision sv = supervise(o, workers, stop, start_us, [&producers, &tally] {
      return tally.transactions.load() + tally.ends_acknowledged.load() + producers.errors();
    });
    stopped_by_duration = sv.reason == EarlyStop::kDuration;
    s.interrupted = sv.reason == EarlyStop::kInterrupted;
    s.stalled = sv.reason == EarlyStop::kStalled;
    end_us = steady_now_us();
  }
  // --check-wait: keep answering check-backs until no transaction awaits one.
  if (o.check_wait_s > 0 && ledger.awaiting_checks() > 0 && !s.interrupted) {
    std::fprintf(stderr, "mqperf: waiting up to %.0f s for the check-backs of %llu transactions\n", o.check_wait_s,
                 static_cast<unsigned long long>(ledger.awaiting_checks()));
    const int64_t wait_start = steady_now_us();
    while (ledger.awaiting_checks() > 0 && elapsed_s(wait_start) < o.check_wait_s && !interrupted()) {
      std::this_thread::sleep_for(kWaitStep);
    }
  }
  open.clear();  // closes the producers
  monitor.stop();

  s.seconds = static_cast<double>(end_us - start_us) / 1e6;
  s.messages = producers.done();
  s.bytes = producers.bytes();
  TxnSummary t;
  t.transactions = tally.transactions.load();
  t.commits = tally.commits.load();
  t.rollbacks = tally.rollbacks.load();
  t.unknowns = tally.unknowns.load();
  t.ends_lost = tally.ends_lost.load();
  t.checks = ledger.checks();
  t.unexpected_checks = ledger.unexpected_checks();
  t.duplicated_checks = ledger.duplicated_checks();
  t.awaiting_checks = ledger.awaiting_checks();
  s.txn = t;
  const uint64_t started = producers.sent();
  const uint64_t failed = producers.errors();
  // Every transaction's last callback has run before its worker returned.
  s.errors = failed;
  // messages counts acknowledged COMMITs: the target is the transactions that decided COMMIT
  // (plus those that never got that far: a run short of its count fails).
  const uint64_t not_decided = started > t.transactions ? started - t.transactions : 0;
  s.requested = t.commits + not_decided;
  if (o.count > 0 && !stopped_by_duration && started < o.count) s.requested += o.count - started;
  s.latency_us = latency_stats(producers.latency());
  s.first_error = producers.first_error();
  return s;
}

}  // namespace tidemq::perf
