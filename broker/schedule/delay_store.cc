#include "broker/schedule/delay_store.h"

#include <algorithm>
#include <condition_variable>
#include <future>
#include <vector>

#include <fmt/format.h>

#include "broker/store/key_layout.h"
#include "common/coding.h"
#include "common/logging.h"
#include "common/record_batch.h"

namespace tidemq::broker {

namespace {

void lower_to(std::atomic<uint64_t>& a, uint64_t v) {
  uint64_t cur = a.load();
  while (v < cur && !a.compare_exchange_weak(cur, v)) {
  }
}

// The id of the first record of a validated batch (record::validate refuses an empty one).
uint64_t first_record_id(std::string_view batch) {
  return coding::get_u64(batch.data() + record::kHeaderBytes + 4);  // after the record's u32 length
}

bool gone(StatusCode c) { return c == StatusCode::kTopicNotFound || c == StatusCode::kInvalidPartition; }

}  // namespace

DelayStore::DelayStore(Db& db, LogStore& log, const Clock& clock, DelayOptions options)
    : db_(db), log_(log), clock_(clock), opt_(options) {}

Status DelayStore::open() {
  auto it = db_.iterator(/*fill_cache=*/false);
  const std::string end = keys::keyspace_end(keys::Keyspace::kDelay);
  std::lock_guard lock(mu_);
  for (it->Seek(keys::keyspace_begin(keys::Keyspace::kDelay)); it->Valid() && it->key().compare(end) < 0; it->Next()) {
    auto k = keys::parse_delay(std::string_view(it->key().data(), it->key().size()));
    if (!k) return Status::storage(fmt::format("malformed delay key of {} bytes", it->key().size()));
    ++per_topic_[k->topic_id];
    backlog_.fetch_add(1, std::memory_order_relaxed);
  }
  TIDEMQ_RETURN_IF_ERROR(Db::from_leveldb(it->status()));
  if (backlog() > 0) logging::get("schedule")->info("{} scheduled messages waiting", backlog());
  return Status::ok();
}

void DelayStore::count(uint32_t topic_id, int64_t delta) {
  std::lock_guard lock(mu_);
  uint64_t& n = per_topic_[topic_id];
  if (delta < 0) {
    const uint64_t down = std::min<uint64_t>(n, static_cast<uint64_t>(-delta));
    n -= down;
    backlog_.fetch_sub(down, std::memory_order_relaxed);
  } else {
    n += static_cast<uint64_t>(delta);
    backlog_.fetch_add(static_cast<uint64_t>(delta), std::memory_order_relaxed);
  }
  if (n == 0) per_topic_.erase(topic_id);
}

uint64_t DelayStore::backlog(uint32_t topic_id) const {
  std::lock_guard lock(mu_);
  auto it = per_topic_.find(topic_id);
  return it == per_topic_.end() ? 0 : it->second;
}

void DelayStore::schedule(uint32_t topic_id, uint32_t partition, uint64_t due_unix_ms, std::string batch,
                          LogStore::WriteCallback cb) {
  leveldb::WriteBatch wb;
  wb.Put(keys::delay(due_unix_ms, topic_id, partition, first_record_id(batch)), batch);
  log_.write(std::move(wb), [this, topic_id, due_unix_ms, cb = std::move(cb)](Status st) {
    if (st.is_ok()) {
      count(topic_id, +1);
      lower_to(rescan_from_, due_unix_ms);
    }
    cb(std::move(st));
  });
}

Result<size_t> DelayStore::move_due() {
  const int64_t now = clock_.now_ms();
  if (now < 0) return size_t{0};
  const uint64_t from = std::min(watermark_, rescan_from_.exchange(UINT64_MAX));
  struct Due {
    std::string key;
    keys::DelayKey k;
    std::string batch;
  };
  std::vector<Due> due;
  {
    auto it = db_.iterator(/*fill_cache=*/false);
    const std::string end = keys::delay_from(static_cast<uint64_t>(now) + 1);
    for (it->Seek(keys::delay_from(from)); it->Valid() && it->key().compare(end) < 0 && due.size() < opt_.max_per_round;
         it->Next()) {
      const std::string_view key(it->key().data(), it->key().size());
      auto k = keys::parse_delay(key);
      if (!k) {
        lower_to(rescan_from_, from);
        return Status::storage(fmt::format("malformed delay key of {} bytes", key.size()));
      }
      due.push_back({std::string(key), *k, std::string(it->value().data(), it->value().size())});
    }
    if (Status st = Db::from_leveldb(it->status()); !st.is_ok()) {
      lower_to(rescan_from_, from);
      return st;
    }
  }
  if (due.empty()) return size_t{0};

  std::mutex mu;
  std::condition_variable cv;
  size_t pending = due.size();
  std::vector<const Due*> dropped;
  Status failed;
  for (Due& d : due) {
    log_.append(
        d.k.topic_id, d.k.partition, std::move(d.batch),
        [&, dp = &d](Result<AppendResult> r) {
          if (r.is_ok()) {
            moved_.fetch_add(1, std::memory_order_relaxed);
            count(dp->k.topic_id, -1);
          }
          std::lock_guard lock(mu);
          if (!r.is_ok() && gone(r.status().code())) dropped.push_back(dp);
          else if (!r.is_ok() && failed.is_ok()) failed = r.status();
          if (--pending == 0) cv.notify_all();
        },
        [key = d.key](leveldb::WriteBatch& wb, const AppendResult&) { wb.Delete(key); });
  }
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return pending == 0; });
  }
  if (!dropped.empty()) {  // its topic or partition was deleted: nowhere to deliver it
    leveldb::WriteBatch wb;
    for (const Due* d : dropped) {
      wb.Delete(d->key);
      logging::get("schedule")->warn("dropped a scheduled message (first id {:016x}) of topic id {} partition {}: "
                                     "the topic or partition no longer exists",
                                     d->k.first_id, d->k.topic_id, d->k.partition);
    }
    std::promise<Status> written;
    auto done = written.get_future();
    log_.write(std::move(wb), [&written](Status st) { written.set_value(std::move(st)); });
    if (Status st = done.get(); st.is_ok()) {
      for (const Due* d : dropped) count(d->k.topic_id, -1);
      dropped_.fetch_add(dropped.size(), std::memory_order_relaxed);
    } else if (failed.is_ok()) {
      failed = st;
    }
  }
  if (!failed.is_ok()) {
    lower_to(rescan_from_, from);  // what failed is still there: scan from the same place again
    return failed;
  }
  watermark_ = due.back().k.due_unix_ms;
  return due.size() - dropped.size();
}

}  // namespace tidemq::broker
