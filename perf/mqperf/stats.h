#pragma once
// Counters shared by mqperf workers and the progress monitor. Workers only bump relaxed atomics
// (no lock per message); the monitor and the summary read sums.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/thread_annotations.h"
#include "perf/mqperf/latency.h"

namespace tidemq::perf {

// One producer or reader connection. `sent` is written by the worker thread, `done`, `errors` and
// `latency` by whoever sees the outcome (the producer's callback thread, or the reader thread);
// they sit on separate cache lines so the two writers do not share one.
struct WorkerStats {
  alignas(64) std::atomic<uint64_t> sent{0};    // send_async calls (producers)
  alignas(64) std::atomic<uint64_t> done{0};    // acknowledged sends or received messages
  std::atomic<uint64_t> bytes{0};               // body bytes of those messages
  std::atomic<uint64_t> errors{0};              // failed sends or fetches
  LatencyRecorder latency;                      // send->ack, send->receive, or fetch round trip (µs)
};

class StatsSet {
 public:
  explicit StatsSet(uint32_t workers);
  uint32_t size() const { return static_cast<uint32_t>(workers_.size()); }
  WorkerStats& worker(uint32_t i) { return *workers_[i]; }

  uint64_t sent() const;
  uint64_t done() const;
  uint64_t bytes() const;
  uint64_t errors() const;
  LatencySnapshot latency() const;

  // Keeps the first failure's reason for the summary. Error path only (takes a lock).
  void note_error(const Status& status);
  std::string first_error() const;

 private:
  std::vector<std::unique_ptr<WorkerStats>> workers_;
  mutable std::mutex mu_;
  std::string first_error_ GUARDED_BY(mu_);
};

// Microseconds on the steady clock (what e2e writes into the first 8 bytes of a body).
int64_t steady_now_us();

// e2e payload stamp: little-endian u64 in body[0..8). decode returns -1 for a body under 8 bytes.
void encode_send_time(std::string& body, int64_t us);
int64_t decode_send_time(const std::string& body);

}  // namespace tidemq::perf
