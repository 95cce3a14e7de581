#pragma once
// An example service's own local store: a LevelDB each (the one embedded database tidemq builds with).
// Failures become tidemq::Status here, in one place.
#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <memory>
#include <optional>
#include <string>

#include "common/status.h"

namespace tidemq_examples {

class LocalDb {
 public:
  static tidemq::Result<std::unique_ptr<LocalDb>> open(const std::string& dir) {
    leveldb::Options options;
    options.create_if_missing = true;
    leveldb::DB* db = nullptr;
    leveldb::Status st = leveldb::DB::Open(options, dir, &db);
    if (!st.ok()) return tidemq::Status::storage("open " + dir + ": " + st.ToString());
    return std::unique_ptr<LocalDb>(new LocalDb(db));
  }

  // The value under `key`, nullopt when absent; StorageError when it cannot be read.
  tidemq::Result<std::optional<std::string>> get(const std::string& key) const {
    std::string value;
    leveldb::Status st = db_->Get(leveldb::ReadOptions(), key, &value);
    if (st.IsNotFound()) return std::optional<std::string>();
    if (!st.ok()) return tidemq::Status::storage("get " + key + ": " + st.ToString());
    return std::optional<std::string>(std::move(value));
  }

  // Applies the batch atomically and fsyncs before returning: it is the local commit.
  tidemq::Status commit(leveldb::WriteBatch& batch) {
    leveldb::WriteOptions options;
    options.sync = true;
    leveldb::Status st = db_->Write(options, &batch);
    if (!st.ok()) return tidemq::Status::storage("write: " + st.ToString());
    return tidemq::Status::ok();
  }

  // Calls fn(key, value) for every key starting with `prefix`, in key order.
  template <typename Fn>
  void scan(const std::string& prefix, Fn&& fn) const {
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      fn(it->key().ToString(), it->value().ToString());
    }
  }

 private:
  explicit LocalDb(leveldb::DB* db) : db_(db) {}
  std::unique_ptr<leveldb::DB> db_;
};

}  // namespace tidemq_examples
