#pragma once
// Owns the one LevelDB of a broker and is the one place LevelDB statuses become ours.
// Write errors are sticky: after the first failed write every later write fails with the same
// StorageError, so nothing is acknowledged that may not be on disk.
#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include <leveldb/db.h>
#include <leveldb/env.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>

#include "broker/store/types.h"
#include "common/status.h"
#include "common/thread_annotations.h"

namespace tidemq::broker {

struct DbOptions {
  std::string path;                   // directory; created if missing
  FlushMode flush = FlushMode::kSync;
  leveldb::Env* env = nullptr;        // nullptr = leveldb::Env::Default(); tests inject faults
  size_t write_buffer_bytes = 128 << 20;
  size_t max_file_bytes = 4 << 20;
  size_t block_cache_bytes = 64 << 20;
  bool compression = false;           // message bodies are usually incompressible
  // Start writeback of LevelDB table files every this many bytes (0 = off): keeps the log's
  // fsync from waiting behind a whole memtable flush (see writeback_env.h).
  size_t table_writeback_bytes = 1 << 20;
  // Pace table writes at this many times the ingest rate, never below table_write_floor_bytes
  // per second (0 = no pacing; needs table_writeback_bytes > 0; see table_pace.h).
  double table_write_pace = 2.0;
  uint64_t table_write_floor_bytes = 16 << 20;
};

class WritebackEnv;

class Db {
 public:
  static Result<std::unique_ptr<Db>> open(const DbOptions& options);
  ~Db();

  // Writes `batch` with fsync when `sync` is true. On failure the error becomes sticky.
  Status write(leveldb::WriteBatch& batch, bool sync);
  // Writes with the broker's flush mode (sync unless --flush async).
  Status write(leveldb::WriteBatch& batch) { return write(batch, options_.flush == FlushMode::kSync); }
  Result<std::string> get(const leveldb::Slice& key) const;  // NotFound if absent
  std::unique_ptr<leveldb::Iterator> iterator(bool fill_cache = true) const;
  void compact_range(const leveldb::Slice& begin, const leveldb::Slice& end);
  uint64_t approximate_size(const leveldb::Slice& begin, const leveldb::Slice& end) const;
  // LevelDB's level-0 file count (-1 if unavailable). Takes LevelDB's mutex: not per message.
  int level0_files() const;

  // The first write error, or ok. Never goes back to ok in this process.
  Status sticky_error() const;
  const DbOptions& options() const { return options_; }
  leveldb::DB* raw() const { return db_.get(); }

  static Status from_leveldb(const leveldb::Status& s);

 private:
  Db(DbOptions options, std::unique_ptr<WritebackEnv> writeback_env, std::unique_ptr<leveldb::DB> db,
     std::unique_ptr<leveldb::Cache> cache, std::unique_ptr<const leveldb::FilterPolicy> filter);
  DbOptions options_;
  std::unique_ptr<WritebackEnv> writeback_env_;  // wraps options_.env; outlives db_
  std::unique_ptr<leveldb::Cache> cache_;
  std::unique_ptr<const leveldb::FilterPolicy> filter_;  // bloom, 10 bits per key
  std::unique_ptr<leveldb::DB> db_;
  std::atomic<bool> failed_{false};
  mutable std::mutex mu_;
  Status sticky_ GUARDED_BY(mu_);
};

}  // namespace tidemq::broker
