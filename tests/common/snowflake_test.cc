// Snowflake ids (SPEC §4.3) against a ManualClock: no sleeps. The `wait` callback stands for the
// generator's sleep and advances the manual clock by 1 ms.
#include "common/snowflake.h"

#include <doctest/doctest.h>

#include <random>
#include <thread>
#include <unordered_set>
#include <vector>

namespace tidemq {
namespace {

constexpr int64_t kStart = kSnowflakeEpochMs + 1'000'000;

struct Fixture {
  ManualClock clock{kStart};
  int waits = 0;
  std::function<void()> wait() {
    return [this] {
      ++waits;
      clock.advance_ms(1);
    };
  }
};

uint64_t next_ok(SnowflakeGenerator& g) {
  auto r = g.next();
  REQUIRE(r.is_ok());
  return *r;
}

TEST_CASE("1,000,000 ids are unique and strictly increasing") {
  Fixture f;
  SnowflakeGenerator g(7, f.clock, 5, f.wait());
  uint64_t prev = 0;
  bool increasing = true;
  for (int i = 0; i < 1'000'000; ++i) {
    auto r = g.next();
    if (!r.is_ok() || *r <= prev) {
      increasing = false;
      break;
    }
    prev = *r;
  }
  CHECK(increasing);  // strictly increasing implies unique
  // 4096 ids per ms: the clock had to move forward ceil(1e6/4096)-1 times.
  CHECK(f.waits == (1'000'000 + 4095) / 4096 - 1);
  CHECK(SnowflakeGenerator::decode(prev).worker_id == 7);
}

TEST_CASE("sequence exhaustion within one ms waits for the next ms") {
  Fixture f;
  SnowflakeGenerator g(1, f.clock, 5, f.wait());
  for (uint32_t i = 0; i <= kMaxSequence; ++i) {
    auto p = SnowflakeGenerator::decode(next_ok(g));
    CHECK(p.unix_ms == kStart);
    CHECK(p.sequence == i);
  }
  CHECK(f.waits == 0);
  auto p = SnowflakeGenerator::decode(next_ok(g));  // the 4097th id in this ms
  CHECK(f.waits == 1);
  CHECK(p.unix_ms == kStart + 1);
  CHECK(p.sequence == 0);
}

TEST_CASE("a new millisecond restarts the sequence") {
  Fixture f;
  SnowflakeGenerator g(1, f.clock, 5, f.wait());
  (void)next_ok(g);
  (void)next_ok(g);
  f.clock.advance_ms(10);
  auto p = SnowflakeGenerator::decode(next_ok(g));
  CHECK(p.unix_ms == kStart + 10);
  CHECK(p.sequence == 0);
  CHECK(f.waits == 0);
}

TEST_CASE("clock going back by at most max_backwards_ms waits; ids still increase") {
  for (int64_t back : {1, 3, 5}) {
    CAPTURE(back);
    Fixture f;
    SnowflakeGenerator g(2, f.clock, /*max_backwards_ms=*/5, f.wait());
    uint64_t before = next_ok(g);
    f.clock.set_wall_ms(kStart - back);
    uint64_t after = next_ok(g);
    CHECK(f.waits == back);  // waited until the clock was back at the last ms
    CHECK(after > before);
    CHECK(SnowflakeGenerator::decode(after).unix_ms == kStart);
  }
}

TEST_CASE("clock going back by more than max_backwards_ms is an error, never a repeated id") {
  Fixture f;
  SnowflakeGenerator g(3, f.clock, 5, f.wait());
  std::vector<uint64_t> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(next_ok(g));
  f.clock.set_wall_ms(kStart - 6);
  auto r = g.next();
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.status().code() == StatusCode::kUnavailable);
  CHECK(r.status().retriable());
  CHECK(f.waits == 0);  // refused at once
  f.clock.set_wall_ms(kStart - 1'000'000);
  CHECK_FALSE(g.next().is_ok());
  // Once the clock is back, ids continue above everything returned before.
  f.clock.set_wall_ms(kStart);
  uint64_t next = next_ok(g);
  CHECK(next > ids.back());
}

TEST_CASE("a clock before the snowflake epoch is an error") {
  ManualClock clock(kSnowflakeEpochMs - 1);
  SnowflakeGenerator g(0, clock, 5, [&] { clock.advance_ms(1); });
  CHECK(g.next().status().code() == StatusCode::kInternal);
  clock.set_wall_ms(kSnowflakeEpochMs);
  auto r = g.next();
  REQUIRE(r.is_ok());
  CHECK(SnowflakeGenerator::decode(*r).unix_ms == kSnowflakeEpochMs);
}

TEST_CASE("two workers never collide, in the same ms or over many ids") {
  Fixture f;
  SnowflakeGenerator a(1, f.clock, 5, f.wait());
  SnowflakeGenerator b(2, f.clock, 5, f.wait());
  std::unordered_set<uint64_t> seen;
  seen.reserve(600'000);
  // All 4096 sequences of one ms from both workers.
  for (uint32_t i = 0; i <= kMaxSequence; ++i) {
    REQUIRE(seen.insert(next_ok(a)).second);
    REQUIRE(seen.insert(next_ok(b)).second);
  }
  CHECK(f.waits == 0);
  // Many more, interleaved, across many ms (the shared clock moves when either waits).
  bool unique = true;
  for (int i = 0; i < 250'000 && unique; ++i) {
    unique = seen.insert(next_ok(a)).second && seen.insert(next_ok(b)).second;
  }
  CHECK(unique);
}

TEST_CASE("every worker id yields distinct ids within one ms") {
  ManualClock clock(kStart);
  std::unordered_set<uint64_t> seen;
  for (uint32_t w = 0; w <= kMaxWorkerId; ++w) {
    SnowflakeGenerator g(w, clock, 5, [&] { clock.advance_ms(1); });
    for (int i = 0; i < 16; ++i) {
      uint64_t id = next_ok(g);
      CHECK(SnowflakeGenerator::decode(id).worker_id == w);
      REQUIRE(seen.insert(id).second);
    }
  }
  CHECK(clock.now_ms() == kStart);
}

TEST_CASE("next() is thread-safe: concurrent callers get distinct ids") {
  ManualClock clock(kStart);
  SnowflakeGenerator g(9, clock, 5, [&] { clock.advance_ms(1); });
  constexpr int kThreads = 4, kPer = 20'000;
  std::vector<std::vector<uint64_t>> out(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPer; ++i) {
        auto r = g.next();
        if (r.is_ok()) out[static_cast<size_t>(t)].push_back(*r);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::unordered_set<uint64_t> seen;
  for (const auto& v : out) {
    CHECK(v.size() == kPer);
    for (size_t i = 1; i < v.size(); ++i) CHECK(v[i] > v[i - 1]);  // per-thread order
    for (uint64_t id : v) seen.insert(id);
  }
  CHECK(seen.size() == kThreads * kPer);
}

TEST_CASE("decode() round trip of ms / worker / sequence") {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 10000; ++i) {
    int64_t ms = static_cast<int64_t>(rng() % (uint64_t{1} << 41));
    uint32_t worker = static_cast<uint32_t>(rng() % (kMaxWorkerId + 1));
    uint32_t seq = static_cast<uint32_t>(rng() % (kMaxSequence + 1));
    uint64_t id = (static_cast<uint64_t>(ms) << 22) | (uint64_t{worker} << 12) | seq;
    auto p = SnowflakeGenerator::decode(id);
    CHECK(p.unix_ms == ms + kSnowflakeEpochMs);
    CHECK(p.worker_id == worker);
    CHECK(p.sequence == seq);
    CHECK((id >> 63) == 0);  // sign bit stays clear
  }
  Fixture f;
  f.clock.advance_ms(12345);
  SnowflakeGenerator g(kMaxWorkerId, f.clock, 5, f.wait());
  auto p = SnowflakeGenerator::decode(next_ok(g));
  CHECK(p.unix_ms == kStart + 12345);
  CHECK(p.worker_id == kMaxWorkerId);
  CHECK(p.sequence == 0);
  CHECK(g.worker_id() == kMaxWorkerId);
}

TEST_CASE("to_hex / from_hex round trip") {
  CHECK(SnowflakeGenerator::to_hex(0) == "0000000000000000");
  CHECK(SnowflakeGenerator::to_hex(0xABCDEF0123456789ull) == "abcdef0123456789");
  CHECK(SnowflakeGenerator::to_hex(1) == "0000000000000001");
  std::mt19937_64 rng(5);
  for (int i = 0; i < 10000; ++i) {
    uint64_t id = rng();
    std::string hex = SnowflakeGenerator::to_hex(id);
    CHECK(hex.size() == 16);
    auto back = SnowflakeGenerator::from_hex(hex);
    REQUIRE(back.is_ok());
    CHECK(*back == id);
  }
  auto upper = SnowflakeGenerator::from_hex("ABCDEF0123456789");
  REQUIRE(upper.is_ok());
  CHECK(*upper == 0xABCDEF0123456789ull);
  auto short_form = SnowflakeGenerator::from_hex("1f");  // leading zeros may be omitted
  REQUIRE(short_form.is_ok());
  CHECK(*short_form == 0x1f);
}

TEST_CASE("from_hex rejects bad input") {
  for (std::string_view bad : {"", "00000000000000000", "0x1234", "12g4", " 1234", "1234 ", "-1",
                               "+1", "12_34", "ffffffffffffffff0"}) {
    CAPTURE(bad);
    auto r = SnowflakeGenerator::from_hex(bad);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
  }
  CHECK_FALSE(SnowflakeGenerator::from_hex(std::string_view("12\0" "4", 4)).is_ok());
}

}  // namespace
}  // namespace tidemq
