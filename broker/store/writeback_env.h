#pragma once
// Smooth write-out of LevelDB's table files (RocksDB's `bytes_per_sync` and rate limiter). When
// LevelDB writes a flushed memtable or a compaction output, it appends tens of MiB to a table file
// and syncs it at the end. With --flush sync a produce's fsync of the LevelDB log that happens
// meanwhile ends with a device cache flush that must also persist the table pages sent since the
// previous one: acknowledgement stalls of ~300 ms every few seconds at 20 MB/s (perf/RESULTS.md).
// This Env wrapper does two things to table files ("*.ldb"), on LevelDB's background
// (compaction) thread only:
//  - Writeback in steps: every `bytes_per_sync` bytes it waits for the previous step's writeback
//    and starts this one (sync_file_range(WAIT_BEFORE | WRITE)), so a table is built at disk speed
//    with at most ~2 steps queued (p99 246 → 67 ms).
//  - Pacing: after each step it waits until the table bytes written so far fit a pace of about
//    twice the ingest rate (TablePace, table_pace.h, has the rule and the cases where it never
//    waits), so each group commit's device flush carries only a little table data. The ingest is
//    measured by counting the bytes appended to LevelDB's log files ("*.log"), which are wrapped
//    for that and otherwise unchanged. Pacing starts with start_pacing() (after DB::Open, so the
//    recovery of an old log is not paced) and ends with stop_pacing() (before the DB is closed, so
//    its last flush is not paced either).
//  - Deletion in steps (any file, RemoveFile): a file is cut from its end in kDeleteStepBytes
//    steps before it is unlinked. On a filesystem mounted with `discard` (this machine's root) the
//    unlink of a whole 128 MiB log after each memtable flush issues one large synchronous discard,
//    and a concurrent fsync waited up to ~120 ms behind it; in 4 MiB steps it waited at most
//    ~20 ms (perf/RESULTS.md). LevelDB removes only files that no live version uses (a table is
//    evicted from its cache first; a log once its memtable is on disk), so nothing reads a file
//    while it is being cut.
// Durability is unchanged: LevelDB still syncs each table before using it. Every other file
// (MANIFEST, CURRENT, LOG) is the target's, unchanged.
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>

#include <leveldb/env.h>

#include "broker/store/table_pace.h"
#include "common/thread_annotations.h"

namespace tidemq::broker {

class WritebackEnv : public leveldb::EnvWrapper {
 public:
  // `target` must outlive this Env. `bytes_per_sync` > 0.
  WritebackEnv(leveldb::Env* target, size_t bytes_per_sync, TablePaceOptions pace = {});

  // Table files are wrapped for writeback and pacing, log files for counting their bytes.
  leveldb::Status NewWritableFile(const std::string& fname, leveldb::WritableFile** result) override;
  // Forgets a removed log file (its memtable is on disk), then cuts the file down in steps and
  // removes it.
  leveldb::Status RemoveFile(const std::string& fname) override;

  static constexpr size_t kDeleteStepBytes = 4 << 20;

  // Table writes are paced from now on. `level0_files` returns LevelDB's number of level-0 files
  // (-1 if unknown); it may take LevelDB's mutex and is never called with a lock of this Env that
  // LevelDB could wait for.
  void start_pacing(std::function<int()> level0_files);
  // No more pacing; cuts a running wait short and returns once no `level0_files` call is running.
  void stop_pacing();

  // The ingest estimate (bytes/s) and the number of live log files this Env created.
  double ingest_rate() const;
  int live_logs() const;

  // Called by the files this Env makes: bytes appended to a log file; a step of `bytes` of table
  // data written (waits as the pace asks; returns the µs waited).
  void log_appended(size_t bytes);
  int64_t table_step_written(size_t bytes);

 private:
  // Truncates `fname` from its end in kDeleteStepBytes steps (best effort).
  static void shrink_in_steps(const std::string& fname);

  size_t bytes_per_sync_;
  std::mutex probe_mu_;  // held while `level0_files_` runs or a table write waits
  std::condition_variable stop_cv_;
  std::function<int()> level0_files_ GUARDED_BY(probe_mu_);  // empty: not pacing
  mutable std::mutex pace_mu_;  // a leaf: nothing is called while it is held
  TablePace pace_ GUARDED_BY(pace_mu_);
  std::set<std::string> logs_ GUARDED_BY(pace_mu_);  // log files created here and not removed
};

}  // namespace tidemq::broker
