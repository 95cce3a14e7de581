// IngestPace: when pacing starts and stops, how the rate follows level 0, and admitted bytes paid
// for in time. Pure: timestamps are passed in (microseconds).
#include "broker/net/ingest_pace.h"

#include <doctest/doctest.h>

using tidemq::broker::IngestPace;
using tidemq::broker::IngestPaceOptions;

namespace {
constexpr int64_t kSec = 1'000'000;

IngestPaceOptions options() {
  IngestPaceOptions o;
  o.start_files = 6;
  o.decrease = 0.75;
  o.min_bytes_per_sec = 1000;
  o.burst_us = 10'000;
  return o;
}
}  // namespace

TEST_CASE("below start_files nothing is paced, whatever the ingest") {
  IngestPace p(options());
  p.on_round(0, 0, 0);
  for (int files = 1; files < 6; ++files) p.on_round(1'000'000, files, files * kSec);
  CHECK_FALSE(p.pacing());
  CHECK(p.rate() == 0);
  p.admitted(1'000'000'000, 6 * kSec);
  CHECK(p.wait_us(6 * kSec) == 0);
}

TEST_CASE("reaching start_files paces at `decrease` (here 3/4) x the ingest measured since level 0 last changed") {
  IngestPace p(options());
  p.on_round(0, 5, 0);
  p.on_round(40'000, 5, kSec / 2);  // same count: keeps measuring
  p.on_round(60'000, 6, kSec);      // 100,000 bytes in 1 s
  REQUIRE(p.pacing());
  CHECK(p.rate() == doctest::Approx(75'000));
}

TEST_CASE("each further level-0 file lowers the rate; shrinking raises it; below start_files ends pacing") {
  IngestPace p(options());
  p.on_round(0, 5, 0);
  p.on_round(100'000, 6, kSec);  // 75,000 B/s
  p.on_round(100'000, 7, 2 * kSec);  // measured 100,000 > rate: 0.75 x 75,000
  CHECK(p.rate() == doctest::Approx(56'250));
  p.on_round(10'000, 8, 3 * kSec);  // measured 10,000 < rate: 0.75 x 10,000
  CHECK(p.rate() == doctest::Approx(7'500));
  p.on_round(0, 7, 4 * kSec);  // a compaction took files out, still >= 6
  CHECK(p.rate() == doctest::Approx(9'375));
  p.on_round(0, 2, 5 * kSec);
  CHECK_FALSE(p.pacing());
  CHECK(p.wait_us(5 * kSec) == 0);
}

TEST_CASE("the rate never goes below min_bytes_per_sec; an unknown count changes nothing") {
  IngestPace p(options());
  p.on_round(0, 5, 0);
  p.on_round(10, 6, kSec);  // measured 10 B/s
  CHECK(p.rate() == doctest::Approx(1000));
  p.on_round(0, -1, 2 * kSec);
  CHECK(p.pacing());
  CHECK(p.rate() == doctest::Approx(1000));
}

TEST_CASE("admitted bytes are paid for in time at the rate, with burst_us of credit") {
  IngestPace p(options());
  p.on_round(0, 5, 0);
  p.on_round(100'000, 6, kSec);  // 75,000 B/s: 750 bytes take 10 ms
  const int64_t t = kSec;
  CHECK(p.wait_us(t) == 0);
  p.admitted(750, t);  // uses the burst credit
  CHECK(p.wait_us(t) == 0);
  p.admitted(750, t);  // paid until t + 10 ms
  CHECK(p.wait_us(t) == 10'000);
  CHECK(p.wait_us(t + 4'000) == 6'000);
  CHECK(p.wait_us(t + 10'000) == 0);
  // Idle time earns at most burst_us of credit.
  p.admitted(1'500, t + 1 * kSec);  // 20 ms of bytes, 10 ms of credit
  CHECK(p.wait_us(t + 1 * kSec) == 10'000);
}
