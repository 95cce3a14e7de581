// TablePace: the ingest EWMA, the pace derived from it, the schedule of table writes and the cases
// where it never waits. Time is explicit (µs timestamps); nothing sleeps.
#include <doctest/doctest.h>

#include <cstdint>

#include "broker/store/table_pace.h"

using namespace tidemq::broker;

namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr int64_t kSecond = 1'000'000;
constexpr int kL0 = 2;  // a level-0 file count far from the limit

TablePaceOptions options() {
  TablePaceOptions o;
  o.factor = 2.0;
  o.floor_bytes_per_sec = 16.0 * kMiB;
  o.ingest_tau_us = kSecond;
  o.memtable_bytes = 128 * kMiB;
  o.level0_unpaced_files = 6;
  return o;
}

// Appends `bytes_per_sec` to the log in 1 ms pieces over [from_us, to_us).
void feed(TablePace& pace, double bytes_per_sec, int64_t from_us, int64_t to_us) {
  const auto piece = static_cast<uint64_t>(bytes_per_sec / 1000);
  for (int64_t t = from_us; t < to_us; t += 1000) pace.ingest(piece, t);
}

// Writes `steps` table steps of `step_bytes`, each taking `write_us`, while the log keeps
// growing at `ingest_per_sec`, and waits what the pace asks after each. Returns the end time.
int64_t write_table(TablePace& pace, int64_t now_us, int steps, uint64_t step_bytes, int64_t write_us,
                    double ingest_per_sec) {
  for (int i = 0; i < steps; ++i) {
    feed(pace, ingest_per_sec, now_us, now_us + write_us);
    now_us += write_us;
    const int64_t wait = pace.delay_after(step_bytes, now_us, kL0);
    feed(pace, ingest_per_sec, now_us, now_us + wait);
    now_us += wait;
  }
  return now_us;
}

}  // namespace

TEST_CASE("the ingest estimate follows a steady rate, rises with a time constant and decays when idle") {
  TablePace pace(options());
  CHECK(pace.ingest_rate(0) == 0.0);
  feed(pace, 20.0 * kMiB, 0, kSecond);  // one time constant: 1 - 1/e of the rate
  CHECK(pace.ingest_rate(kSecond) == doctest::Approx(0.632 * 20 * kMiB).epsilon(0.02));
  feed(pace, 20.0 * kMiB, kSecond, 8 * kSecond);
  CHECK(pace.ingest_rate(8 * kSecond) == doctest::Approx(20.0 * kMiB).epsilon(0.01));
  // Idle for one time constant: 1/e of it left; ten: nearly nothing.
  CHECK(pace.ingest_rate(9 * kSecond) == doctest::Approx(0.368 * 20 * kMiB).epsilon(0.01));
  CHECK(pace.ingest_rate(18 * kSecond) < 0.001 * kMiB);
  // A timestamp older than the last sample (clock read before a lock) does not make it grow.
  CHECK(pace.ingest_rate(7 * kSecond) == doctest::Approx(pace.ingest_rate(8 * kSecond)).epsilon(0.01));
}

TEST_CASE("the pace is factor x ingest, never below the floor") {
  TablePace pace(options());
  CHECK(pace.pace(0) == 16.0 * kMiB);  // idle broker: the floor
  feed(pace, 20.0 * kMiB, 0, 10 * kSecond);
  CHECK(pace.pace(10 * kSecond) == doctest::Approx(40.0 * kMiB).epsilon(0.01));
  feed(pace, 4.0 * kMiB, 10 * kSecond, 30 * kSecond);
  CHECK(pace.pace(30 * kSecond) == 16.0 * kMiB);  // 2 x 4 MiB/s is below the floor
}

TEST_CASE("fast table writes are stretched to the pace; writes slower than it never wait") {
  TablePace pace(options());
  feed(pace, 20.0 * kMiB, 0, 10 * kSecond);
  const int64_t t0 = 10 * kSecond;
  // 41 steps of 1 MiB that the disk takes 2 ms each (500 MiB/s) at 2 x 20 MiB/s: the first is
  // taken as its own share, the other 40 MiB take 1 s.
  const int64_t t1 = write_table(pace, t0, 41, kMiB, 2000, 20.0 * kMiB);
  CHECK(t1 - t0 == doctest::Approx(kSecond + 2000).epsilon(0.01));
  // Steps of 50 ms each (20 MiB/s, slower than the pace): no wait at all.
  int64_t t = t1;
  for (int i = 0; i < 10; ++i) {
    feed(pace, 20.0 * kMiB, t, t + 50'000);
    t += 50'000;
    CHECK(pace.delay_after(kMiB, t, kL0) == 0);
  }
}

TEST_CASE("idle time earns no burst: after a pause the second step already waits") {
  TablePace pace(options());  // idle broker: floor pace, 1 MiB = 62.5 ms
  CHECK(pace.delay_after(kMiB, 100 * kSecond, kL0) == 0);  // the first step is taken as its own share
  CHECK(pace.delay_after(kMiB, 100 * kSecond, kL0) == doctest::Approx(62'500).epsilon(0.01));
}

TEST_CASE("a level-0 backlog near LevelDB's slowdown trigger stops pacing, without a debt after it") {
  TablePace pace(options());
  feed(pace, 20.0 * kMiB, 0, 10 * kSecond);
  const int64_t t = 10 * kSecond;
  for (int i = 0; i < 20; ++i) CHECK(pace.delay_after(kMiB, t, 6) == 0);
  CHECK(pace.must_not_wait(6));
  CHECK_FALSE(pace.must_not_wait(5));
  CHECK_FALSE(pace.must_not_wait(-1));  // unknown: ignored
  // Back under the limit a little over a step later: the 20 unpaced MiB are not charged, the schedule restarts.
  feed(pace, 20.0 * kMiB, t, t + 30'000);
  CHECK(pace.delay_after(kMiB, t + 30'000, 5) == 0);
  CHECK(pace.delay_after(kMiB, t + 30'000, 5) == doctest::Approx(25'000).epsilon(0.02));  // 1 MiB at 40 MiB/s
}

TEST_CASE("a memtable flush that is behind (previous log alive, current one half full) is not paced") {
  TablePace pace(options());
  pace.log_created();  // the current memtable's log
  feed(pace, 20.0 * kMiB, 0, 5 * kSecond);
  pace.log_created();  // memtable switch: the previous memtable is being flushed
  CHECK(pace.live_logs() == 2);
  CHECK(pace.current_log_bytes() == 0);
  feed(pace, 20.0 * kMiB, 5 * kSecond, 7 * kSecond);  // 40 MiB into the new log: not yet behind
  CHECK_FALSE(pace.must_not_wait(kL0));
  CHECK(pace.delay_after(kMiB, 7 * kSecond, kL0) == 0);
  CHECK(pace.delay_after(kMiB, 7 * kSecond, kL0) > 0);
  feed(pace, 20.0 * kMiB, 7 * kSecond, 10'300'000);  // past 64 MiB: the flush is behind
  CHECK(pace.must_not_wait(kL0));
  CHECK(pace.delay_after(kMiB, 10'300'000, kL0) == 0);
  pace.log_removed();  // the flush finished, its log is gone: paced again
  CHECK(pace.live_logs() == 1);
  CHECK_FALSE(pace.must_not_wait(kL0));
  CHECK(pace.delay_after(kMiB, 10'300'000, kL0) > 0);
  pace.log_removed();
  pace.log_removed();  // more removals than creations do not go negative
  CHECK(pace.live_logs() == 0);
}

TEST_CASE("factor 0 never waits") {
  TablePaceOptions o = options();
  o.factor = 0;
  TablePace pace(o);
  for (int i = 0; i < 10; ++i) CHECK(pace.delay_after(kMiB, kSecond, kL0) == 0);
}
