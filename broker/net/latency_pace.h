#pragma once
// How fast heavy producers may go to the writer while a light producer is waiting on them
// (a delay-based limiter in the spirit of TCP Vegas / LEDBAT, on the writer's rounds).
//
// Why: every producer's acknowledgement waits for a group-commit round, and a round's LevelDB
// write + fsync carries whatever the other producers queued: under a flood of 16 KiB batches a
// round took 30–200 ms (memtable switches, table data in the same device flush), so a producer
// that sends one small message at a time and waits for each answer saw a p99 of ~100 ms against
// ~1 ms alone (T7). Its own round is small; what it waits for is the flood's. Pacing the flood
// so that rounds stay short keeps the light producer's wait to about two short rounds.
//
// Who is light: a produce that is its connection's only request in flight, from a connection that
// produced at most ~1 MiB/s (its current 100 ms window and the last one before) in small requests
// (ProduceMeter below; the produce handler calls WritePressure::note_light). Pacing is on only
// while a light producer was seen within `active_us`; with no light producer (a bulk load, a
// benchmark) rounds are as long as the flood makes them and nothing here waits.
//
// The rule, evaluated per `interval_us` of writer rounds while a light producer is active (else
// pacing is off), with `slowest` the longest round write of the interval and `measured` the bytes
// written in it per second:
//   - slowest > target_us: cut = max(max_decrease, target / slowest) — the further over, the
//     harder; not pacing yet: pace at measured × cut; pacing: rate = min(rate, measured) × cut;
//   - otherwise, while pacing: rate × increase (up to kMaxBytesPerSec).
//   - the rate never goes below min_bytes_per_sec.
// Admitted bytes are paid for in time at the rate (`wait_us()`), with up to `burst_us` of credit;
// light requests are admitted regardless and their bytes count.
//
// Pure: no clock, no I/O, not thread-safe; timestamps are microseconds on any monotonic clock.
#include <cstddef>
#include <cstdint>

#include "broker/net/pace_credit.h"

namespace tidemq::broker {

// One connection's produce rate, in windows of kWindowMs: whether it is a light producer. A new
// connection is not light before its first full window (a flood's first request is not).
// Strand-only (Session's ClientInfo).
class ProduceMeter {
 public:
  static constexpr size_t kLightRequestBytes = 64u << 10;
  static constexpr int64_t kWindowMs = 100;
  static constexpr uint64_t kLightBytesPerWindow = 100u << 10;  // ~1 MiB/s

  // Counts a produce of `bytes` at `now_ms`; true if the connection is light: this request is at
  // most kLightRequestBytes, and the previous window with produces and this one so far together
  // carried at most kLightBytesPerWindow.
  bool light_after(size_t bytes, int64_t now_ms);

 private:
  int64_t window_at_ms_ = -1;  // the current window began here (-1: no produce yet)
  uint64_t window_bytes_ = 0;
  int64_t previous_bytes_ = -1;  // the last window before this one (-1: none yet)
};

struct LatencyPaceOptions {
  int64_t target_us = 8'000;     // a round may take this long; <= 0: never pace
  int64_t interval_us = 50'000;  // how often the rate is adjusted
  int64_t active_us = 1'000'000; // pacing ends this long after the last light request
  double max_decrease = 0.25;    // the hardest cut in one interval
  double increase = 1.1;
  double min_bytes_per_sec = 4.0 * (1 << 20);
  int64_t burst_us = 10'000;
  size_t round_cap_bytes = 1u << 20;  // the writer's round cap while a light producer is active
};

class LatencyPace {
 public:
  explicit LatencyPace(LatencyPaceOptions options = {});

  // A light request was admitted at `now_us`.
  void light(int64_t now_us);
  // The writer finished a round of `written` bytes whose write took `write_us`.
  void on_round(size_t written, int64_t write_us, int64_t now_us);
  // `bytes` went to the writer at `now_us` (while pacing, they are paid for in time).
  void admitted(size_t bytes, int64_t now_us);
  // 0 when a heavy request may be admitted at `now_us`, else the microseconds until it may.
  int64_t wait_us(int64_t now_us) const;

  static constexpr double kMaxBytesPerSec = 1e12;

  // The writer's round cap at `now_us` (LogStore::set_round_cap): round_cap_bytes while a light
  // producer is active, else 0. A light append then waits for at most about two rounds of
  // that size, whatever the pace.
  size_t round_cap(int64_t now_us) const;

  bool pacing() const { return pacing_; }
  double rate() const { return pacing_ ? rate_ : 0; }  // bytes/s while pacing

 private:
  void end_interval(int64_t now_us);
  bool active(int64_t now_us) const;

  const LatencyPaceOptions options_;
  int64_t light_at_us_ = -1;     // the last light request (-1: none yet)
  int64_t interval_at_us_ = -1;  // when the current interval began (-1: no round yet)
  uint64_t interval_bytes_ = 0;
  int64_t interval_slowest_us_ = 0;
  bool pacing_ = false;
  double rate_ = 0;
  PaceCredit credit_;  // while pacing
};

}  // namespace tidemq::broker
