// LatencyPace: pacing only while a light producer is active and rounds are slow, cuts that follow
// how slow, growth while rounds are fast, the round cap; ProduceMeter: who is light. Pure:
// timestamps are passed in.
#include "broker/net/latency_pace.h"

#include <doctest/doctest.h>

using tidemq::broker::LatencyPace;
using tidemq::broker::LatencyPaceOptions;
using tidemq::broker::ProduceMeter;

namespace {
constexpr int64_t kMs = 1'000;

LatencyPaceOptions options() {
  LatencyPaceOptions o;
  o.target_us = 8 * kMs;
  o.interval_us = 50 * kMs;
  o.active_us = 1'000 * kMs;
  o.max_decrease = 0.25;
  o.increase = 1.1;
  o.min_bytes_per_sec = 1000;
  o.burst_us = 10 * kMs;
  o.round_cap_bytes = 4096;
  return o;
}

// The interval that began at `start_us` ends with a round of `bytes` whose write took
// `slowest_us` (the first interval begins with a round at 0).
void interval(LatencyPace& p, int64_t start_us, size_t bytes, int64_t slowest_us) {
  p.on_round(bytes, slowest_us, start_us + 50 * kMs);
}
}  // namespace

TEST_CASE("without a light producer slow rounds pace nothing and there is no round cap") {
  LatencyPace p(options());
  p.on_round(0, 0, 0);
  interval(p, 0, 1'000'000, 200 * kMs);
  interval(p, 50 * kMs, 1'000'000, 200 * kMs);
  CHECK_FALSE(p.pacing());
  CHECK(p.round_cap(100 * kMs) == 0);
  p.admitted(1'000'000'000, 100 * kMs);
  CHECK(p.wait_us(100 * kMs) == 0);
}

TEST_CASE("a light producer alone: fast rounds pace nothing, but the round cap is on while it is active") {
  LatencyPace p(options());
  p.on_round(0, 0, 0);
  p.light(0);
  interval(p, 0, 1'000, 1 * kMs);
  CHECK_FALSE(p.pacing());
  CHECK(p.round_cap(50 * kMs) == 4096);
  CHECK(p.round_cap(1'000 * kMs) == 4096);
  CHECK(p.round_cap(1'001 * kMs) == 0);  // active_us after the last light request
}

TEST_CASE("a slow round with a light producer active starts pacing at the measured ingest cut by target/slowest") {
  LatencyPace p(options());
  p.on_round(0, 0, 0);
  p.light(10 * kMs);
  p.on_round(5'000'000, 16 * kMs, 30 * kMs);  // twice the target
  p.on_round(0, 0, 50 * kMs);                 // 5,000,000 bytes in 50 ms: 100 MB/s
  REQUIRE(p.pacing());
  CHECK(p.rate() == doctest::Approx(50e6));

  // Admitted bytes are paid for in time at the rate, with 10 ms of credit.
  const int64_t now = 50 * kMs;
  p.admitted(500'000, now);  // 10 ms at 50 MB/s: the credit
  CHECK(p.wait_us(now) == 0);
  p.admitted(500'000, now);
  CHECK(p.wait_us(now) == 10 * kMs);
  CHECK(p.wait_us(now + 10 * kMs) == 0);
}

TEST_CASE("while pacing: slow rounds cut min(rate, measured) by at most max_decrease, fast ones grow it by 10 %") {
  LatencyPace p(options());
  p.on_round(0, 0, 0);
  p.light(0);
  interval(p, 0, 5'000'000, 16 * kMs);  // 100 MB/s measured, cut 1/2: 50 MB/s
  REQUIRE(p.rate() == doctest::Approx(50e6));
  interval(p, 50 * kMs, 2'000'000, 200 * kMs);  // measured 40 MB/s < rate; 8/200 < 0.25: cut 1/4
  CHECK(p.rate() == doctest::Approx(10e6));
  interval(p, 100 * kMs, 500'000, 2 * kMs);  // fast: +10 %
  CHECK(p.rate() == doctest::Approx(11e6));
  interval(p, 150 * kMs, 500'000, 8 * kMs);  // exactly the target is not slow
  CHECK(p.rate() == doctest::Approx(12.1e6));
  interval(p, 200 * kMs, 0, 100 * kMs);  // nothing written (measured 0): the floor
  CHECK(p.rate() == doctest::Approx(1000));
  CHECK(p.pacing());
}

TEST_CASE("pacing ends active_us after the last light request, and restarts only on slow rounds") {
  LatencyPace p(options());
  p.on_round(0, 0, 0);
  p.light(0);
  interval(p, 0, 5'000'000, 16 * kMs);
  REQUIRE(p.pacing());
  for (int64_t t = 50 * kMs; t < 1'000 * kMs; t += 50 * kMs) interval(p, t, 5'000'000, 16 * kMs);
  CHECK(p.pacing());
  interval(p, 1'000 * kMs, 5'000'000, 16 * kMs);  // ends at 1,050 ms: more than 1 s after the light
  CHECK_FALSE(p.pacing());
  CHECK(p.wait_us(1'050 * kMs) == 0);
  p.light(1'100 * kMs);
  interval(p, 1'100 * kMs, 5'000'000, 2 * kMs);
  CHECK_FALSE(p.pacing());
  interval(p, 1'150 * kMs, 5'000'000, 80 * kMs);  // cut 1/10 -> max_decrease 1/4
  CHECK(p.pacing());
  CHECK(p.rate() == doctest::Approx(25e6));
}

TEST_CASE("target 0 turns it off: no pacing, no round cap") {
  LatencyPaceOptions o = options();
  o.target_us = 0;
  LatencyPace p(o);
  p.on_round(0, 0, 0);
  p.light(0);
  interval(p, 0, 5'000'000, 500 * kMs);
  CHECK_FALSE(p.pacing());
  CHECK(p.round_cap(10 * kMs) == 0);
}

TEST_CASE("ProduceMeter: light after a full window under ~1 MiB/s in small requests; a flood never is") {
  ProduceMeter victim;  // 300 bytes every 10 ms
  CHECK_FALSE(victim.light_after(300, 0));  // a new connection: no full window yet
  for (int64_t ms = 10; ms < 100; ms += 10) CHECK_FALSE(victim.light_after(300, ms));
  CHECK(victim.light_after(300, 100));  // the previous window carried 3,000 bytes
  CHECK(victim.light_after(300, 110));
  CHECK_FALSE(victim.light_after(ProduceMeter::kLightRequestBytes + 1, 120));  // a large request is not
  CHECK(victim.light_after(300, 130));  // 69 KB in the two windows: still light
  CHECK_FALSE(victim.light_after(40'000, 140));  // over 100 KiB in the two windows

  ProduceMeter flood;  // 60 KB every 10 ms: 6 MB/s
  for (int64_t ms = 0; ms < 3000; ms += 10) CHECK_FALSE(flood.light_after(60'000, ms));

  ProduceMeter paused;  // a flood whose reads the broker paused: its next request is alone
  for (int64_t ms = 0; ms < 100; ms += 10) paused.light_after(60'000, ms);
  CHECK_FALSE(paused.light_after(300, 5'000));  // seconds later: the last window with produces carried 600 KB
  CHECK(paused.light_after(300, 5'100));        // a light window since: light
}
