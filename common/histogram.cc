#include "common/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace tidemq {

int Histogram::bucket_of(uint64_t v) {
  if (v < static_cast<uint64_t>(kSub)) return static_cast<int>(v);
  int msb = 63 - std::countl_zero(v);  // >= kSubBits
  int shift = msb - kSubBits;          // keep the top kSubBits+1 bits
  uint64_t top = v >> shift;           // in [kSub, 2*kSub)
  return (shift + 1) * kSub + static_cast<int>(top - kSub);
}

uint64_t Histogram::bucket_upper(int b) {
  if (b < kSub) return static_cast<uint64_t>(b);
  int shift = b / kSub - 1;
  uint64_t top = static_cast<uint64_t>(b % kSub) + kSub;
  return ((top + 1) << shift) - 1;
}

void Histogram::record(uint64_t v) {
  ++counts_[static_cast<size_t>(bucket_of(v))];
  ++count_;
  sum_ += v;
  max_ = std::max(max_, v);
  min_ = std::min(min_, v);
}

void Histogram::merge(const Histogram& o) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
  count_ += o.count_;
  sum_ += o.sum_;
  max_ = std::max(max_, o.max_);
  min_ = std::min(min_, o.min_);
}

void Histogram::reset() { *this = Histogram(); }

uint64_t Histogram::percentile(double q) const { return percentile_of(counts_, count_, max_, q); }

uint64_t Histogram::percentile_of(std::span<const uint64_t> counts, uint64_t count, uint64_t max, double q) {
  if (count == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count)));
  rank = std::max<uint64_t>(rank, 1);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    seen += counts[i];
    if (seen >= rank) return std::min(bucket_upper(static_cast<int>(i)), max);
  }
  return max;
}

}  // namespace tidemq
