#pragma once
// How fast LevelDB may write its table files (RocksDB's auto-tuned rate limiter, simplified).
//
// Why: with --flush sync every produce ends with an fsync of LevelDB's log, and that fsync ends
// with a device cache flush that must also persist whatever table data was sent to the disk since
// the previous one. A memtable flush or compaction that writes tables as fast as it can makes those
// fsyncs wait (e2e p99 67 ms at 20,000 msg/s; perf/RESULTS.md). Writing tables at about twice the
// ingest rate keeps each group commit's device flush small (p99 17 ms in the fixed-pace experiment)
// and still finishes a memtable flush in about half the time the next memtable takes to fill.
//
// The rule, evaluated after each table write step (WritebackEnv, every --table-writeback-bytes):
//   ingest  = EWMA (time constant `ingest_tau_us`) of the bytes appended to LevelDB's log files
//   pace    = max(floor_bytes_per_sec, factor × ingest)   bytes/s of table data
//   delay   = how far the table bytes written so far run ahead of `pace` (no credit for idle time)
// and the step waits `delay`, unless pacing could make a writer wait, in which case it is 0 and
// the schedule restarts from now:
//   - level-0 has `level0_unpaced_files` or more files (LevelDB slows writes at 8 and stops them at
//     12; a compaction that keeps up must not be throttled into that), or
//   - a memtable flush is behind: the previous log still exists (its memtable is not on disk yet)
//     while the current one already holds half a memtable. A writer waits when the current
//     memtable fills before the previous one is flushed.
// A writer that stalls also stops appending to the log, so the EWMA falls during a stall; these
// two checks are what keep a low estimate from throttling the work that would end the stall.
//
// Pure: no clock, no I/O, not thread-safe; timestamps are microseconds on any monotonic clock.
#include <cstddef>
#include <cstdint>

namespace tidemq::broker {

struct TablePaceOptions {
  double factor = 2.0;                        // pace = factor × ingest; <= 0: never wait
  double floor_bytes_per_sec = 16.0 * (1 << 20);  // the pace never goes below this
  int64_t ingest_tau_us = 1'000'000;          // EWMA time constant of the ingest rate
  uint64_t memtable_bytes = 128ull << 20;     // LevelDB's write_buffer_size
  int level0_unpaced_files = 6;               // no waiting at this many level-0 files or more
};

class TablePace {
 public:
  explicit TablePace(TablePaceOptions options);

  // A log file was created (LevelDB switched to a new memtable) / removed (the memtable it
  // belonged to is on disk).
  void log_created();
  void log_removed();
  // `bytes` were appended to the current log file at `now_us`.
  void ingest(uint64_t bytes, int64_t now_us);

  // The ingest estimate at `now_us`, bytes/s.
  double ingest_rate(int64_t now_us) const;
  // The table write pace at `now_us`, bytes/s.
  double pace(int64_t now_us) const;
  // True when waiting could make a writer wait (see the header comment). `level0_files` < 0:
  // unknown, ignored.
  bool must_not_wait(int level0_files) const;

  // `bytes` of table data were written, the last of them at `now_us`. Returns how long to wait
  // (µs, >= 0) before writing more so that table writes average `pace`.
  int64_t delay_after(uint64_t bytes, int64_t now_us, int level0_files);

  int live_logs() const { return live_logs_; }
  uint64_t current_log_bytes() const { return current_log_bytes_; }

 private:
  // The exponentially decayed sum of ingested bytes at `now_us` (bytes·s/s: rate × tau).
  double decayed_sum(int64_t now_us) const;

  TablePaceOptions options_;
  double sum_ = 0;             // decayed byte sum as of sum_at_us_
  int64_t sum_at_us_ = 0;
  bool have_sample_ = false;
  int live_logs_ = 0;
  uint64_t current_log_bytes_ = 0;
  double scheduled_until_us_ = 0;  // when the table bytes written so far are due at `pace`
};

}  // namespace tidemq::broker
