#pragma once
// Latency recording for mqperf. Uses the bucket layout of common/histogram.h (log buckets, 128
// linear sub-buckets, < 1 % error), but with relaxed atomic counters so the progress monitor can
// read a live recorder once per second without a lock on the hot path.
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/histogram.h"

namespace tidemq::perf {

// Counts at one moment. Plain data: merge, subtract and query on any thread.
class LatencySnapshot {
 public:
  LatencySnapshot();
  void merge(const LatencySnapshot& other);
  // What was recorded between `earlier` and this snapshot (max stays the cumulative max).
  LatencySnapshot since(const LatencySnapshot& earlier) const;
  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  // Same definition as Histogram::percentile: the bucket's upper bound, capped at max(); 0 if empty.
  uint64_t percentile(double q) const;

 private:
  friend class LatencyRecorder;
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

// One per worker (its writer is the worker thread or the producer's callback thread).
// record() is wait-free: one relaxed fetch_add and, rarely, a CAS on the max.
class LatencyRecorder {
 public:
  LatencyRecorder();
  void record(uint64_t value);
  LatencySnapshot snapshot() const;

 private:
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<uint64_t> max_{0};
};

}  // namespace tidemq::perf
