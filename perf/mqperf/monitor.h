#pragma once
// The once-per-second reporter: a progress line on stderr and, with --timeline, one CSV row.
// It only reads the workers' atomics; it never stops a run (the mode runner does that).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/thread_annotations.h"
#include "perf/mqperf/stats.h"

namespace tidemq::perf {

class Monitor {
 public:
  struct Config {
    std::string mode;
    std::string timeline_path;  // empty: no CSV
    bool print_progress = true;
  };
  // `producers` / `consumers` may be null (a produce run has no consumers). The progress rate and
  // latency come from consumers when present, else producers. `lag(produced, delivered)` gives
  // the lag column (nullopt: unknown).
  Monitor(Config config, const StatsSet* producers, const StatsSet* consumers,
          std::function<std::optional<uint64_t>(uint64_t produced, uint64_t delivered)> lag = {});
  ~Monitor();

  // Before start(): `extra()` is appended to every progress line (txn: the check counters).
  void set_progress_extra(std::function<std::string()> extra) { progress_extra_ = std::move(extra); }

  // Opens the timeline file (InvalidArgument if it cannot) and starts the thread. With a
  // timeline, prints timeline_start_line() on stderr: the wall-clock time second 0 starts at.
  Status start();
  // Stops and joins the thread; with a timeline, writes one last row for the partial second since
  // the last full one (if anything moved in it), so the rows add up to the run. Idempotent.
  void stop();

 private:
  void run();
  void tick(uint64_t second);
  // One timeline row with the counts since the previous row.
  void write_row(uint64_t second, uint64_t produced, uint64_t delivered);

  const Config config_;
  const StatsSet* producers_;
  const StatsSet* consumers_;
  std::function<std::optional<uint64_t>(uint64_t, uint64_t)> lag_;
  std::function<std::string()> progress_extra_;
  std::ofstream timeline_;
  std::chrono::steady_clock::time_point start_;  // set by start(), before the thread
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ GUARDED_BY(mu_) = false;

  // Touched only by the monitor thread (and by stop() after joining it).
  uint64_t last_second_ = 0;
  uint64_t last_produced_ = 0;
  uint64_t last_delivered_ = 0;
  uint64_t last_bytes_ = 0;
  LatencySnapshot last_latency_;
};

}  // namespace tidemq::perf
