#pragma once
// What every mqperf mode runner shares: the summary it starts from, setup failures, creating the
// topic, worker threads that count themselves out, and the supervisor that stops them on
// --duration, Ctrl-C or a stall.
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "perf/mqperf/options.h"
#include "perf/mqperf/report.h"
#include "perf/mqperf/stats.h"
#include "tidemq/admin.h"

namespace tidemq::perf {

inline constexpr auto kWaitStep = std::chrono::milliseconds(10);

// Set by request_interrupt() (modes.h), read by the runners.
bool interrupted();

Summary base_summary(const PerfOptions& o);
Summary setup_failed(Summary s, const Status& st);

// Produce, e2e and txn create the topic with --partitions when it is missing (auto-create is off
// by default on the broker). Returns the topic's partitions (e2e readers start at their ends).
Result<std::vector<PartitionStatus>> ensure_topic(const PerfOptions& o);

// Worker threads that count themselves out when they finish.
class WorkerGroup {
 public:
  template <typename F>
  void spawn(F body) {
    threads_.emplace_back([this, body = std::move(body)]() mutable {
      body();
      finished_.fetch_add(1, std::memory_order_release);
    });
  }
  bool all_finished() const { return finished_.load(std::memory_order_acquire) == threads_.size(); }
  void join() {
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  ~WorkerGroup() { join(); }

 private:
  std::vector<std::thread> threads_;
  std::atomic<size_t> finished_{0};
};

double elapsed_s(int64_t since_us);

// Why a supervised group of workers was told to stop (kNone: they finished on their own).
enum class EarlyStop { kNone, kDuration, kInterrupted, kStalled };
struct Supervision {
  EarlyStop reason = EarlyStop::kNone;
  int64_t at_us = 0;  // when it was stopped; for a stall, the last progress
};

// Waits for `group`, setting `stop` when --duration is up, on Ctrl-C, or when `progress()` has not
// moved for the request timeout (the broker went away: operations then fail fast and the run
// would otherwise spin through its quota or duration).
template <typename Progress>
Supervision supervise(const PerfOptions& o, WorkerGroup& group, std::atomic<bool>& stop, int64_t start_us,
                      Progress progress) {
  Supervision out;
  uint64_t last = 0;
  int64_t last_progress_us = start_us;
  while (!group.all_finished()) {
    std::this_thread::sleep_for(kWaitStep);
    const int64_t now = steady_now_us();
    if (const uint64_t p = progress(); p != last) {
      last = p;
      last_progress_us = now;
    }
    if (stop) continue;
    if (o.duration_s > 0 && elapsed_s(start_us) >= o.duration_s) {
      out = {EarlyStop::kDuration, now};
    } else if (interrupted()) {
      out = {EarlyStop::kInterrupted, now};
    } else if (now - last_progress_us > o.request_timeout_ms * 1000) {
      out = {EarlyStop::kStalled, last_progress_us};
    } else {
      continue;
    }
    stop = true;
  }
  group.join();
  return out;
}

}  // namespace tidemq::perf
