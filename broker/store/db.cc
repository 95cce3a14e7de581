#include "broker/store/db.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include <leveldb/cache.h>
#include <leveldb/filter_policy.h>
#include <leveldb/options.h>

#include "broker/store/writeback_env.h"
#include "common/logging.h"

namespace tidemq::broker {

namespace {
int level0_files_of(leveldb::DB* db) {
  std::string v;
  return db->GetProperty("leveldb.num-files-at-level0", &v) ? std::atoi(v.c_str()) : -1;
}
}  // namespace

Status Db::from_leveldb(const leveldb::Status& s) {
  if (s.ok()) return Status::ok();
  if (s.IsNotFound()) return Status::not_found(s.ToString());
  if (s.IsInvalidArgument()) return Status::invalid_argument(s.ToString());
  if (s.IsNotSupportedError()) return Status(StatusCode::kUnsupported, s.ToString());
  // Corruption and I/O errors: the data on disk is in doubt.
  return Status::storage(s.ToString());
}

Result<std::unique_ptr<Db>> Db::open(const DbOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(options.path, ec);
  if (ec) return Status::storage("cannot create data directory '" + options.path + "': " + ec.message());

  std::unique_ptr<leveldb::Cache> cache(leveldb::NewLRUCache(options.block_cache_bytes));
  // Point reads of keys that usually do not exist (a SendHalf's outcome lookup, the outcome
  // check of each half record at open) skip a table without reading its blocks.
  std::unique_ptr<const leveldb::FilterPolicy> bloom(leveldb::NewBloomFilterPolicy(10));
  leveldb::Options lo;
  lo.create_if_missing = true;
  lo.paranoid_checks = true;
  lo.env = options.env != nullptr ? options.env : leveldb::Env::Default();
  std::unique_ptr<WritebackEnv> writeback_env;
  if (options.table_writeback_bytes > 0) {
    TablePaceOptions pace;
    pace.factor = options.table_write_pace;
    pace.floor_bytes_per_sec = static_cast<double>(options.table_write_floor_bytes);
    pace.memtable_bytes = options.write_buffer_bytes;
    writeback_env = std::make_unique<WritebackEnv>(lo.env, options.table_writeback_bytes, pace);
    lo.env = writeback_env.get();
  }
  lo.write_buffer_size = options.write_buffer_bytes;
  lo.max_file_size = options.max_file_bytes;
  lo.block_cache = cache.get();
  lo.filter_policy = bloom.get();
  lo.compression = options.compression ? leveldb::kSnappyCompression : leveldb::kNoCompression;

  leveldb::DB* raw = nullptr;
  leveldb::Status s = leveldb::DB::Open(lo, options.path, &raw);
  if (!s.ok()) {
    Status st = from_leveldb(s);
    return Status(st.code(), "cannot open LevelDB at '" + options.path + "': " + st.message());
  }
  if (writeback_env && options.table_write_pace > 0) {
    // After the recovery in DB::Open (not paced); stopped again in ~Db before LevelDB closes.
    writeback_env->start_pacing([raw] { return level0_files_of(raw); });
  }
  logging::get("store")->info("opened LevelDB at {} (flush={}, compression={}, table pace={}x ingest, floor {} MiB/s)",
                              options.path, options.flush == FlushMode::kSync ? "sync" : "async",
                              options.compression ? "snappy" : "none",
                              writeback_env ? options.table_write_pace : 0.0,
                              options.table_write_floor_bytes >> 20);
  return std::unique_ptr<Db>(
      new Db(options, std::move(writeback_env), std::unique_ptr<leveldb::DB>(raw), std::move(cache), std::move(bloom)));
}

Db::Db(DbOptions options, std::unique_ptr<WritebackEnv> writeback_env, std::unique_ptr<leveldb::DB> db,
       std::unique_ptr<leveldb::Cache> cache, std::unique_ptr<const leveldb::FilterPolicy> filter)
    : options_(std::move(options)),
      writeback_env_(std::move(writeback_env)),
      cache_(std::move(cache)),
      filter_(std::move(filter)),
      db_(std::move(db)) {}

// db_ is declared after cache_ and filter_, so it is destroyed first: LevelDB must close before them.
// Pacing stops first, so the flush LevelDB may still be finishing runs at full speed.
Db::~Db() {
  if (writeback_env_) writeback_env_->stop_pacing();
}

Status Db::write(leveldb::WriteBatch& batch, bool sync) {
  if (failed_.load(std::memory_order_acquire)) return sticky_error();
  leveldb::WriteOptions wo;
  wo.sync = sync;
  leveldb::Status s = db_->Write(wo, &batch);
  if (s.ok()) return Status::ok();

  Status st = Status::storage(std::string(sync ? "write+fsync failed: " : "write failed: ") +
                              s.ToString() + " (writes refused until restart)");
  {
    std::lock_guard lock(mu_);
    if (sticky_.is_ok()) {
      sticky_ = st;
      logging::get("store")->critical("LevelDB {}; the broker stops acknowledging writes",
                                      st.message());
    }
    st = sticky_;
  }
  failed_.store(true, std::memory_order_release);
  return st;
}

Result<std::string> Db::get(const leveldb::Slice& key) const {
  leveldb::ReadOptions ro;
  ro.verify_checksums = true;
  std::string value;
  leveldb::Status s = db_->Get(ro, key, &value);
  if (!s.ok()) return from_leveldb(s);
  return value;
}

std::unique_ptr<leveldb::Iterator> Db::iterator(bool fill_cache) const {
  leveldb::ReadOptions ro;
  ro.verify_checksums = true;
  ro.fill_cache = fill_cache;
  return std::unique_ptr<leveldb::Iterator>(db_->NewIterator(ro));
}

void Db::compact_range(const leveldb::Slice& begin, const leveldb::Slice& end) {
  db_->CompactRange(&begin, &end);
}

int Db::level0_files() const { return level0_files_of(db_.get()); }

uint64_t Db::approximate_size(const leveldb::Slice& begin, const leveldb::Slice& end) const {
  leveldb::Range r(begin, end);
  uint64_t size = 0;
  db_->GetApproximateSizes(&r, 1, &size);
  return size;
}

Status Db::sticky_error() const {
  if (!failed_.load(std::memory_order_acquire)) return Status::ok();
  std::lock_guard lock(mu_);
  return sticky_;
}

}  // namespace tidemq::broker
