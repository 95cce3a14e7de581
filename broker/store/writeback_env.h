#pragma once
// Smooth write-out of LevelDB's table files (RocksDB's `bytes_per_sync`). When LevelDB writes a
// flushed memtable or a compaction output, it appends tens of MiB to a table file and syncs it at
// the end. On ext4 (data=ordered) those dirty pages ride along with the next journal commit, so a
// produce's fsync of the LevelDB log that happens meanwhile waits for all of them: ~300 ms
// acknowledgement stalls every few seconds at 20 MB/s (perf/RESULTS.md). This Env wrapper writes
// a table file back in `bytes_per_sync` steps: after each step it waits for the previous step's
// writeback and starts this one (sync_file_range(WAIT_BEFORE | WRITE)), so a table is built at
// disk speed with at most ~2 steps queued, and little is dirty when the log is synced. It runs on
// LevelDB's background (compaction) thread only. Durability is unchanged: LevelDB still syncs
// each table before using it.
#include <cstddef>
#include <string>

#include <leveldb/env.h>

namespace tidemq::broker {

class WritebackEnv : public leveldb::EnvWrapper {
 public:
  // `target` must outlive this Env. `bytes_per_sync` > 0.
  WritebackEnv(leveldb::Env* target, size_t bytes_per_sync);

  // Table files ("*.ldb") are wrapped; every other file is the target's, unchanged.
  leveldb::Status NewWritableFile(const std::string& fname, leveldb::WritableFile** result) override;

 private:
  size_t bytes_per_sync_;
};

}  // namespace tidemq::broker
