#pragma once
// Smooth write-out of LevelDB's table files (RocksDB's `bytes_per_sync`). When LevelDB writes a
// flushed memtable or a compaction output, it appends tens of MiB to a table file and syncs it at
// the end. On ext4 (data=ordered) those dirty pages ride along with the next journal commit, so a
// produce's fsync of the LevelDB log that happens meanwhile waits for all of them: ~300 ms
// acknowledgement stalls every few seconds at 20 MB/s (perf/RESULTS.md). This Env wrapper asks
// the kernel to start writing a table file back every `bytes_per_sync` bytes
// (sync_file_range(SYNC_FILE_RANGE_WRITE): start I/O, do not wait), so little is left dirty when
// the log is synced. Durability is unchanged: LevelDB still syncs each table before using it.
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
