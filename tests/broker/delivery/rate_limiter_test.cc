// Token buckets (SPEC §5.3): rate accuracy over 1 s windows, burst cap after a pause, run-time
// rate changes, byte limits with debt, wait_ms, and the RateLimiters registry. ManualClock only.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <random>

#include "broker/delivery/rate_limiter.h"

using namespace tidemq;
using namespace tidemq::broker;

namespace {

constexpr uint64_t kAll = std::numeric_limits<uint64_t>::max();

// Takes everything available (a fetch with a deep backlog).
uint64_t take_all(TokenBucket& b, int64_t now) {
  const uint64_t n = b.available(kAll, now);
  b.charge(n, 0, now);
  return n;
}

// A greedy consumer for `seconds`: steps the clock by step() ms (never across a 1 s boundary, so
// each take belongs to one window) and takes everything at each step. Returns what each 1 s
// window delivered; a take at t counts for the window that ends at or after t.
std::vector<uint64_t> greedy_windows(ManualClock& clock, int seconds,
                                     const std::function<int64_t()>& step,
                                     const std::function<uint64_t(int64_t)>& take) {
  const int64_t start = clock.monotonic_ms();
  std::vector<uint64_t> windows(seconds, 0);
  for (;;) {
    const int64_t now = clock.monotonic_ms();
    const int64_t boundary = start + ((now - start) / 1000 + 1) * 1000;
    clock.advance_ms(std::min(step(), boundary - now));
    const int64_t t = clock.monotonic_ms();
    if (t - start > seconds * 1000) break;
    windows[(t - start - 1) / 1000] += take(t);
  }
  return windows;
}

void check_within(const std::vector<uint64_t>& windows, double rate, double tolerance) {
  for (size_t i = 0; i < windows.size(); ++i) {
    CAPTURE(i);
    CAPTURE(windows[i]);
    CHECK(std::abs(static_cast<double>(windows[i]) - rate) <= rate * tolerance);
  }
}

}  // namespace

TEST_CASE("a greedy taker gets the rate within 1% in every 1 s window") {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int64_t> random_ms(1, 20);
  const std::function<int64_t()> steps[] = {[] { return 1; }, [&] { return random_ms(rng); }};
  for (const auto& step : steps) {
    for (double rate : {1.0, 100.0, 2000.0, 50000.0}) {
      CAPTURE(rate);
      CAPTURE(&step == &steps[0] ? "1 ms steps" : "random 1-20 ms steps");
      ManualClock clock;
      TokenBucket b(rate, 0, 100, clock.monotonic_ms());
      take_all(b, clock.monotonic_ms());  // the initial burst is not part of the steady rate
      auto windows = greedy_windows(clock, 5, step, [&](int64_t t) { return take_all(b, t); });
      check_within(windows, rate, 0.01);
    }
  }
}

TEST_CASE("after a pause at most rate x burst is available at once") {
  struct Case {
    double rate;
    uint32_t burst_ms;
  };
  for (Case c : {Case{1, 100}, Case{100, 100}, Case{2000, 100}, Case{2000, 500}, Case{50000, 20}, Case{10, 0}}) {
    CAPTURE(c.rate);
    CAPTURE(c.burst_ms);
    ManualClock clock;
    TokenBucket b(c.rate, 0, c.burst_ms, clock.monotonic_ms());
    take_all(b, clock.monotonic_ms());
    clock.advance_ms(5000);
    const double cap = std::max(1.0, c.rate * c.burst_ms / 1000);  // at least one message
    const uint64_t burst = take_all(b, clock.monotonic_ms());
    CHECK(static_cast<double>(burst) <= cap + 1);
    CHECK(static_cast<double>(burst) >= cap);
    CHECK(b.available(kAll, clock.monotonic_ms()) == 0);
  }
}

TEST_CASE("a new bucket starts with at most a 100 ms burst") {
  CHECK(TokenBucket(2000, 0, 100, 0).available(kAll, 0) == 200);
  CHECK(TokenBucket(2000, 0, 1000, 0).available(kAll, 0) == 200);  // fills up to 2000 over time
  CHECK(TokenBucket(2000, 0, 50, 0).available(kAll, 0) == 100);
  CHECK(TokenBucket(1, 0, 100, 0).available(kAll, 0) == 1);
  CHECK(TokenBucket(0, 0, 100, 0).available(12345, 0) == 12345);  // unlimited
}

TEST_CASE("set_rates takes effect at once and does not create a burst") {
  ManualClock clock;
  auto now = [&] { return clock.monotonic_ms(); };
  auto step_1ms = [] { return 1; };

  SUBCASE("faster: no jump, then the new rate") {
    TokenBucket b(1000, 0, 100, now());
    take_all(b, now());
    b.set_rates(10000, 0, 100, now());
    CHECK(b.available(kAll, now()) == 0);
    clock.advance_ms(1);
    CHECK(take_all(b, now()) == 10);
    check_within(greedy_windows(clock, 3, step_1ms, [&](int64_t t) { return take_all(b, t); }), 10000, 0.01);
  }
  SUBCASE("slower: tokens above the new size are dropped") {
    TokenBucket b(10000, 0, 100, now());  // 1000 tokens
    b.set_rates(100, 0, 100, now());
    CHECK(b.available(kAll, now()) == 10);
    take_all(b, now());
    check_within(greedy_windows(clock, 3, step_1ms, [&](int64_t t) { return take_all(b, t); }), 100, 0.01);
  }
  SUBCASE("from unlimited to limited and back") {
    TokenBucket b(0, 0, 100, now());
    CHECK(b.available(7, now()) == 7);
    b.charge(1'000'000, 1'000'000, now());  // unlimited: charging leaves no debt
    b.set_rates(100, 0, 100, now());
    CHECK(b.available(kAll, now()) == 10);
    b.set_rates(0, 0, 100, now());
    CHECK(b.available(kAll, now()) == kAll);
    CHECK(b.wait_ms(now()) == 0);
  }
}

TEST_CASE("a byte limit: a message is never split, the debt is paid back") {
  ManualClock clock;
  auto now = [&] { return clock.monotonic_ms(); };
  TokenBucket b(0, 10000, 100, now());  // 10 kB/s, 1000-byte bucket
  CHECK(b.available(10, now()) == 10);   // no message limit
  CHECK(b.available_bytes(now()) == 1000);
  b.charge(1, 5000, now());  // one 5000-byte message: 4000 bytes of debt
  CHECK(b.available(10, now()) == 0);
  CHECK(b.available_bytes(now()) == 0);
  CHECK(b.wait_ms(now()) == 401);  // 4001 bytes at 10 bytes/ms
  clock.advance_ms(400);
  CHECK(b.available(10, now()) == 0);
  CHECK(b.wait_ms(now()) == 1);
  clock.advance_ms(1);
  CHECK(b.available(10, now()) == 10);
  CHECK(b.available_bytes(now()) == 10);
  CHECK(TokenBucket(100, 0, 100, 0).available_bytes(0) == kAll);

  SUBCASE("1000-byte messages at 100 kB/s: 100 messages per second") {
    TokenBucket bytes(0, 100'000, 100, now());
    auto take = [&](int64_t t) {
      // A fetch: reads what the byte budget allows, at least one message.
      const uint64_t budget = bytes.available_bytes(t);
      if (budget == 0) return uint64_t{0};
      const uint64_t n = bytes.available(std::max<uint64_t>(1, budget / 1000), t);
      bytes.charge(n, n * 1000, t);
      return n;
    };
    take(now());
    auto windows = greedy_windows(clock, 10, [] { return 1; }, take);
    check_within(windows, 100, 0.01);
  }
}

TEST_CASE("wait_ms says when the next message is due") {
  ManualClock clock;
  auto now = [&] { return clock.monotonic_ms(); };
  TokenBucket b(3, 0, 100, now());  // one token every 333.3 ms
  CHECK(b.wait_ms(now()) == 0);
  take_all(b, now());
  CHECK(b.wait_ms(now()) == 334);
  clock.advance_ms(333);
  CHECK(b.available(kAll, now()) == 0);
  CHECK(b.wait_ms(now()) == 1);
  clock.advance_ms(1);
  CHECK(b.wait_ms(now()) == 0);
  CHECK(b.available(kAll, now()) == 1);

  // Two fetches granted the same token both charge it: the debt delays the next one.
  TokenBucket d(10, 0, 100, now());  // 1 token, 100 ms each
  CHECK(d.available(kAll, now()) == 1);
  d.charge(1, 0, now());
  d.charge(1, 0, now());
  CHECK(d.wait_ms(now()) == 200);

  // Both limits: the slower one decides.
  TokenBucket both(10, 1000, 100, now());  // 1 message, 100 bytes
  both.charge(1, 600, now());              // messages empty (100 ms), bytes -500 (501 ms)
  CHECK(both.wait_ms(now()) == 501);
}

TEST_CASE("extreme rates a group config may set: counts saturate, waits are capped (found by fuzz_handlers)") {
  // 1e76 msg/s: more tokens than a uint64_t holds (converting them was undefined behaviour).
  TokenBucket huge(1e76, 1e76, 100, 0);
  CHECK(huge.available(kAll, 10) == kAll);
  CHECK(huge.available(7, 10) == 7);
  CHECK(huge.available_bytes(10) == kAll);
  // 1e-300 msg/s after its first message: the next one is due in ~1e305 ms; capped at a day.
  TokenBucket tiny(1e-300, 0, 100, 0);
  REQUIRE(tiny.available(kAll, 0) == 1);  // a bucket holds at least one token
  tiny.charge(1, 0, 0);
  CHECK(tiny.available(kAll, 1) == 0);
  CHECK(tiny.wait_ms(1) == 86'400'000);
}

TEST_CASE("RateLimiters: a topic's own bucket over the group's, nullptr when unlimited") {
  ManualClock clock;
  RateLimiters limiters(clock);
  GroupConfig c;
  c.name = "billing";
  limiters.configure(c);
  CHECK(limiters.find("billing", "orders") == nullptr);

  c.max_msgs_per_sec = 100;
  c.topic_rates = {{"fast", 1000, 0}, {"free", 0, 0}};
  limiters.configure(c);
  auto group_bucket = limiters.find("billing", "orders");
  REQUIRE(group_bucket != nullptr);
  CHECK(limiters.find("billing", "audit") == group_bucket);  // one bucket for the whole group
  auto fast = limiters.find("billing", "fast");
  REQUIRE(fast != nullptr);
  CHECK(fast != group_bucket);
  CHECK(fast->available(kAll, clock.monotonic_ms()) == 100);
  CHECK(group_bucket->available(kAll, clock.monotonic_ms()) == 10);
  CHECK(limiters.find("billing", "free") == nullptr);  // listed without a limit: unlimited
  CHECK(limiters.find("audit", "orders") == nullptr);  // another group

  // A topic no longer listed falls back to the group bucket.
  c.topic_rates = {{"free", 0, 0}};
  limiters.configure(c);
  CHECK(limiters.find("billing", "fast") == group_bucket);

  // Only a topic limit: other topics are unlimited.
  c.max_msgs_per_sec = 0;
  c.topic_rates = {{"fast", 1000, 0}};
  limiters.configure(c);
  CHECK(limiters.find("billing", "orders") == nullptr);
  CHECK(limiters.find("billing", "fast") != nullptr);

  limiters.remove("billing");
  CHECK(limiters.find("billing", "fast") == nullptr);
}

TEST_CASE("RateLimiters::configure keeps the tokens of existing buckets") {
  ManualClock clock;
  auto now = [&] { return clock.monotonic_ms(); };
  RateLimiters limiters(clock);
  GroupConfig c;
  c.name = "billing";
  c.max_msgs_per_sec = 1000;
  limiters.configure(c);
  auto bucket = limiters.find("billing", "orders");
  REQUIRE(bucket != nullptr);
  CHECK(take_all(*bucket, now()) == 100);

  c.max_msgs_per_sec = 2000;  // an operator raises the rate during a backlog
  limiters.configure(c);
  CHECK(limiters.find("billing", "orders") == bucket);  // same bucket, fetches keep using it
  CHECK(bucket->available(kAll, now()) == 0);          // no new burst
  clock.advance_ms(10);
  CHECK(bucket->available(kAll, now()) == 20);  // the new rate at once

  c.max_msgs_per_sec = 0;
  limiters.configure(c);
  CHECK(limiters.find("billing", "orders") == nullptr);
}
