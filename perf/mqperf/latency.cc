#include "perf/mqperf/latency.h"

#include <algorithm>
#include <cmath>

namespace tidemq::perf {

LatencySnapshot::LatencySnapshot() : counts_(Histogram::kBuckets, 0) {}

void LatencySnapshot::merge(const LatencySnapshot& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

LatencySnapshot LatencySnapshot::since(const LatencySnapshot& earlier) const {
  LatencySnapshot out;
  uint64_t total = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    // Counters only grow; a bucket read before its count_ was bumped can make a difference
    // momentarily inconsistent, never negative.
    out.counts_[i] = counts_[i] >= earlier.counts_[i] ? counts_[i] - earlier.counts_[i] : 0;
    total += out.counts_[i];
  }
  out.count_ = total;
  out.max_ = max_;
  return out;
}

uint64_t LatencySnapshot::percentile(double q) const {
  return Histogram::percentile_of(counts_, count_, max_, q);
}

LatencyRecorder::LatencyRecorder() : counts_(new std::atomic<uint64_t>[Histogram::kBuckets]) {
  for (int i = 0; i < Histogram::kBuckets; ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void LatencyRecorder::record(uint64_t value) {
  counts_[static_cast<size_t>(Histogram::bucket_of(value))].fetch_add(1, std::memory_order_relaxed);
  uint64_t seen = max_.load(std::memory_order_relaxed);
  while (value > seen && !max_.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

LatencySnapshot LatencyRecorder::snapshot() const {
  LatencySnapshot out;
  uint64_t total = 0;
  for (size_t i = 0; i < out.counts_.size(); ++i) {
    out.counts_[i] = counts_[i].load(std::memory_order_relaxed);
    total += out.counts_[i];
  }
  // The sum of what was read, so percentiles are consistent with the buckets.
  out.count_ = total;
  out.max_ = max_.load(std::memory_order_relaxed);
  return out;
}

}  // namespace tidemq::perf
