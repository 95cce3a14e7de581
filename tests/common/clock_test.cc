// ManualClock (the tests' clock), SystemClock and AnchoredClock (the broker's) basics.
#include "common/clock.h"

#include <doctest/doctest.h>

namespace tidemq {
namespace {

TEST_CASE("ManualClock moves only when told; the wall clock may step back, monotonic never") {
  ManualClock c(1000);
  CHECK(c.now_ms() == 1000);
  int64_t mono = c.monotonic_ns();
  c.advance_ms(5);
  CHECK(c.now_ms() == 1005);
  CHECK(c.monotonic_ns() == mono + 5'000'000);
  CHECK(c.monotonic_ms() == c.monotonic_ns() / 1'000'000);
  c.set_wall_ms(10);
  CHECK(c.now_ms() == 10);
  CHECK(c.monotonic_ns() == mono + 5'000'000);
  ManualClock d;
  CHECK(d.now_ms() == 1'767'225'600'000);  // 2026-01-01, the snowflake epoch
}

TEST_CASE("SystemClock: wall time after 2024, monotonic non-decreasing") {
  Clock& c = Clock::system();
  CHECK(&c == &Clock::system());
  CHECK(c.now_ms() > 1'704'067'200'000);
  int64_t prev = c.monotonic_ns();
  for (int i = 0; i < 1000; ++i) {
    int64_t now = c.monotonic_ns();
    CHECK(now >= prev);
    prev = now;
  }
}

TEST_CASE("AnchoredClock follows the monotonic clock and ignores wall-clock steps") {
  ManualClock base;
  const int64_t start = base.now_ms();
  AnchoredClock c(base);
  CHECK(c.now_ms() == start);
  CHECK(c.step_ms() == 0);
  base.advance_ms(1500);  // time passes: both move
  CHECK(c.now_ms() == start + 1500);
  CHECK(c.monotonic_ms() == base.monotonic_ms());
  base.set_wall_ms(base.now_ms() + 3'600'000);  // a step forward of an hour
  CHECK(c.now_ms() == start + 1500);
  CHECK(c.step_ms() == 3'600'000);
  base.set_wall_ms(start - 3'600'000 + 1500);  // and back, an hour behind
  base.advance_ms(10);
  CHECK(c.now_ms() == start + 1510);
  CHECK(c.step_ms() == -3'600'000);
}

}  // namespace
}  // namespace tidemq
