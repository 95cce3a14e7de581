// HDR-style histogram: every percentile within 1 % (1/128) above the exact quantile.
#include "common/histogram.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace tidemq {
namespace {

constexpr double kQuantiles[] = {0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 1.0};

// Exact quantile with the histogram's definition: the value of rank ceil(q * n), at least 1.
uint64_t exact_quantile(const std::vector<uint64_t>& sorted, double q) {
  auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::max<size_t>(rank, 1);
  return sorted[rank - 1];
}

void check_against_exact(const Histogram& h, std::vector<uint64_t> values) {
  std::sort(values.begin(), values.end());
  REQUIRE(h.count() == values.size());
  CHECK(h.max() == values.back());
  CHECK(h.min() == values.front());
  for (double q : kQuantiles) {
    CAPTURE(q);
    uint64_t exact = exact_quantile(values, q);
    uint64_t got = h.percentile(q);
    CAPTURE(exact);
    CAPTURE(got);
    CHECK(got >= exact);
    CHECK(static_cast<double>(got - exact) <= 0.01 * static_cast<double>(exact));
  }
}

TEST_CASE("empty histogram") {
  Histogram h;
  CHECK(h.count() == 0);
  CHECK(h.max() == 0);
  CHECK(h.min() == 0);
  CHECK(h.mean() == 0.0);
  for (double q : kQuantiles) CHECK(h.percentile(q) == 0);
}

TEST_CASE("small values are exact") {
  Histogram h;
  std::vector<uint64_t> v;
  for (uint64_t i = 0; i < Histogram::kSub; ++i) {
    h.record(i);
    v.push_back(i);
  }
  for (double q : kQuantiles) CHECK(h.percentile(q) == exact_quantile(v, q));
  CHECK(h.mean() == doctest::Approx(63.5));
}

TEST_CASE("percentiles within 1% on uniform data") {
  std::mt19937_64 rng(1);
  Histogram h;
  std::vector<uint64_t> v;
  for (int i = 0; i < 200000; ++i) {
    uint64_t x = 1 + rng() % 10'000'000;
    h.record(x);
    v.push_back(x);
  }
  check_against_exact(h, v);
}

TEST_CASE("percentiles within 1% on log-uniform data (1 ns .. 100 s)") {
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<double> exponent(0.0, 11.0);
  Histogram h;
  std::vector<uint64_t> v;
  double sum = 0;
  for (int i = 0; i < 200000; ++i) {
    auto x = static_cast<uint64_t>(std::pow(10.0, exponent(rng)));
    h.record(x);
    v.push_back(x);
    sum += static_cast<double>(x);
  }
  check_against_exact(h, v);
  CHECK(h.mean() == doctest::Approx(sum / static_cast<double>(v.size())));
}

TEST_CASE("max and percentile(1.0) are the exact max, also for huge values") {
  Histogram h;
  h.record(5);
  h.record(1'000'003);
  CHECK(h.max() == 1'000'003);
  CHECK(h.percentile(1.0) == 1'000'003);
  CHECK(h.percentile(2.0) == 1'000'003);   // clamped
  CHECK(h.percentile(-1.0) == 5);          // clamped to the lowest rank
  h.record(UINT64_MAX);
  CHECK(h.max() == UINT64_MAX);
  CHECK(h.percentile(1.0) == UINT64_MAX);
  CHECK(h.min() == 5);
}

TEST_CASE("merge equals recording everything into one") {
  std::mt19937_64 rng(3);
  Histogram a, b, all;
  std::vector<uint64_t> v;
  for (int i = 0; i < 50000; ++i) {
    uint64_t x = rng() % 1'000'000;
    ((i % 3) ? a : b).record(x);
    all.record(x);
    v.push_back(x);
  }
  Histogram merged = a;
  merged.merge(b);
  CHECK(merged.count() == all.count());
  CHECK(merged.max() == all.max());
  CHECK(merged.min() == all.min());
  CHECK(merged.mean() == doctest::Approx(all.mean()));
  for (double q : kQuantiles) CHECK(merged.percentile(q) == all.percentile(q));
  check_against_exact(merged, v);

  Histogram empty;
  Histogram m2 = a;
  m2.merge(empty);
  CHECK(m2.count() == a.count());
  CHECK(m2.min() == a.min());
  empty.merge(Histogram());
  CHECK(empty.count() == 0);
  CHECK(empty.min() == 0);
}

TEST_CASE("reset empties the histogram") {
  Histogram h;
  h.record(10);
  h.reset();
  CHECK(h.count() == 0);
  CHECK(h.max() == 0);
  CHECK(h.percentile(0.5) == 0);
}

TEST_CASE("bucket_of / bucket_upper: monotone, inverse, within 1/128") {
  // bucket_upper is strictly increasing and bucket_of inverts it at both edges of every bucket.
  for (int b = 0; b < Histogram::kBuckets; ++b) {
    uint64_t up = Histogram::bucket_upper(b);
    if (b > 0) REQUIRE(up > Histogram::bucket_upper(b - 1));
    REQUIRE(Histogram::bucket_of(up) == b);
    if (b + 1 < Histogram::kBuckets) REQUIRE(Histogram::bucket_of(up + 1) == b + 1);
  }
  CHECK(Histogram::bucket_of(0) == 0);
  CHECK(Histogram::bucket_of(UINT64_MAX) == Histogram::kBuckets - 1);
  CHECK(Histogram::bucket_upper(Histogram::kBuckets - 1) == UINT64_MAX);

  // bucket_of is monotone, and every value's bucket bound is within 1/128 above it.
  std::mt19937_64 rng(4);
  std::vector<uint64_t> values;
  for (uint64_t v = 0; v < 100000; ++v) values.push_back(v);
  for (int s = 0; s < 64; ++s) {
    uint64_t p = uint64_t{1} << s;
    for (uint64_t d : {p - 1, p, p + 1}) values.push_back(d);
  }
  for (int i = 0; i < 100000; ++i) values.push_back(rng() >> (rng() % 64));
  std::sort(values.begin(), values.end());
  int prev = -1;
  for (uint64_t v : values) {
    int b = Histogram::bucket_of(v);
    REQUIRE(b >= prev);
    REQUIRE(b < Histogram::kBuckets);
    prev = b;
    uint64_t up = Histogram::bucket_upper(b);
    REQUIRE(up >= v);
    REQUIRE(up - v <= v / Histogram::kSub);
  }
}

}  // namespace
}  // namespace tidemq
