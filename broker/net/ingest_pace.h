#pragma once
// How fast produce requests may go to the writer while LevelDB's compaction falls behind
// (RocksDB's "delayed writes", simplified).
//
// Why: a produce flood faster than compaction fills LevelDB's level 0 to its stop trigger
// (12 files, a compile-time constant), and LevelDB then blocks *every* write until a compaction
// ends — seconds, for every producer alike (T7: a light producer's p99 went to ~2 s). Admitting
// the flood a little slower as level 0 grows keeps it below the trigger; since admission is fair
// (WritePressure), the bytes that wait are the flood's.
//
// The rule, evaluated after each writer round with the round's bytes and the level-0 file count:
//   - level 0 below `start_files`: no pacing.
//   - reaching `start_files`: pace at `decrease` (1/2) × the ingest measured since level 0 last
//     changed.
//   - while pacing, each further level-0 file: rate = `decrease` × min(rate, measured ingest);
//     level 0 shrinking but still at or above `start_files`: rate × `increase`.
//   - the rate never goes below `min_bytes_per_sec`.
// Admitted bytes are paid for in time at the rate (`wait_us()`), with up to `burst_us` of credit.
//
// Pure: no clock, no I/O, not thread-safe; timestamps are microseconds on any monotonic clock.
#include <cstddef>
#include <cstdint>

#include "broker/net/pace_credit.h"

namespace tidemq::broker {

struct IngestPaceOptions {
  int start_files = 6;  // LevelDB compacts level 0 at 4 files, slows writes at 8, stops them at 12
  double decrease = 0.5;
  double increase = 1.25;
  double min_bytes_per_sec = 4.0 * (1 << 20);
  int64_t burst_us = 10'000;
};

class IngestPace {
 public:
  explicit IngestPace(IngestPaceOptions options = {});

  // The writer finished a round of `written` bytes; level 0 now has `level0_files` files
  // (negative: unknown, ignored).
  void on_round(size_t written, int level0_files, int64_t now_us);
  // `bytes` went to the writer at `now_us` (while pacing, they are paid for in time).
  void admitted(size_t bytes, int64_t now_us);
  // 0 when a request may be admitted at `now_us`, else the microseconds until it may.
  int64_t wait_us(int64_t now_us) const;

  bool pacing() const { return pacing_; }
  // What burst_us of the rate admits: a request this small never waits long for the pace.
  size_t burst_bytes() const { return static_cast<size_t>(rate_ * static_cast<double>(options_.burst_us) / 1e6); }
  double rate() const { return pacing_ ? rate_ : 0; }  // bytes/s while pacing

 private:
  const IngestPaceOptions options_;
  int files_ = 0;
  int64_t since_us_ = -1;   // when level 0 last changed (-1: no round yet)
  uint64_t written_since_ = 0;
  bool pacing_ = false;
  double rate_ = 0;
  PaceCredit credit_;  // while pacing
};

}  // namespace tidemq::broker
