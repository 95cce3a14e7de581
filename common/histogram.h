#pragma once
// HDR-style latency histogram: values grouped by power of two, each power split into 128 linear
// sub-buckets, so any recorded value is reported within 1/128 (< 1 %) of itself.
// Not thread-safe: keep one per thread and merge().
#include <array>
#include <cstdint>
#include <span>

namespace tidemq {

class Histogram {
 public:
  static constexpr int kSubBits = 7;  // 128 sub-buckets
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kBuckets = (64 - kSubBits + 1) * kSub;

  void record(uint64_t value);
  void merge(const Histogram& other);
  void reset();
  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0; }
  // Value at quantile q in [0, 1]; 0 when empty. Reported as the bucket's upper bound, capped at max().
  uint64_t percentile(double q) const;

  static int bucket_of(uint64_t value);
  static uint64_t bucket_upper(int bucket);
  // percentile() over any per-bucket counts laid out like this histogram's (kBuckets of them).
  static uint64_t percentile_of(std::span<const uint64_t> counts, uint64_t count, uint64_t max, double q);

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
  uint64_t min_ = UINT64_MAX;
};

}  // namespace tidemq
