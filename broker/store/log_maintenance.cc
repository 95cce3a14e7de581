// LogStore jobs that run on the writer thread between append rounds: retention, drop_topic,
// next_worker_id. Compactions run afterwards on the calling thread so appends do not wait for them.
#include <algorithm>
#include <limits>

#include "broker/store/key_layout.h"
#include "broker/store/log_store.h"
#include "broker/store/log_store_impl.h"
#include "common/coding.h"
#include "common/record_batch.h"

namespace tidemq::broker {

namespace {

constexpr size_t kMaxDeletesPerWrite = 4096;  // bounds a WriteBatch when a lot expires at once
constexpr uint32_t kWorkerIds = 1024;         // 10 bits of the snowflake id
constexpr std::string_view kWorkerCounterKey = "worker_id_counter";

std::string encode_u64(uint64_t v) {
  std::string s;
  coding::append_u64(s, v);
  return s;
}

}  // namespace

// Deletes whole batches from the low end of one partition while they are older than the
// retention time or the partition is above its retention size. The newest batch is always kept
// (Kafka keeps its active segment too): the partition's end offset and last store time stay
// recoverable from the data itself. Each WriteBatch carries the deletes and the new start offset;
// the start offset is published after the write.
Result<uint64_t> LogStore::Impl::retain_partition(const TopicConfig& c, uint32_t partition,
                                                  PartitionState& ps, int64_t now_ms,
                                                  std::vector<Range>& compact) {
  if (c.retention_ms <= 0 && c.retention_bytes <= 0) return uint64_t{0};
  const uint64_t start = ps.start_offset.load(std::memory_order_relaxed);
  if (ps.next_offset == start) return uint64_t{0};
  const int64_t cutoff = c.retention_ms > 0 ? now_ms - c.retention_ms : std::numeric_limits<int64_t>::min();

  leveldb::WriteBatch wb;
  size_t in_batch = 0;
  uint64_t new_start = start;
  uint64_t bytes = ps.bytes;
  uint64_t deleted = 0;
  auto flush = [&]() -> Status {
    if (in_batch == 0) return Status::ok();
    wb.Put(keys::partition_start(c.topic_id, partition), encode_u64(new_start));
    TIDEMQ_RETURN_IF_ERROR(db.write(wb));
    ps.start_offset.store(new_start, std::memory_order_release);
    ps.bytes = bytes;
    wb.Clear();
    in_batch = 0;
    return Status::ok();
  };

  auto it = db.iterator(/*fill_cache=*/false);
  for (it->Seek(keys::log(c.topic_id, partition, start)); it->Valid(); it->Next()) {
    auto lk = keys::parse_log(std::string_view(it->key().data(), it->key().size()));
    if (!lk || lk->topic_id != c.topic_id || lk->partition != partition) break;
    auto h = record::parse_header(std::string_view(it->value().data(), it->value().size()));
    if (!h.is_ok()) return Status::storage("unreadable batch header during retention: " + h.status().message());
    const uint64_t batch_end = lk->base_offset + h->record_count;
    if (batch_end >= ps.next_offset) break;  // keep the newest batch
    const bool expired = static_cast<int64_t>(h->store_ms) < cutoff;
    const bool oversize = c.retention_bytes > 0 && bytes > static_cast<uint64_t>(c.retention_bytes);
    if (!expired && !oversize) break;
    wb.Delete(it->key());
    const uint64_t size = it->key().size() + it->value().size();
    bytes = bytes > size ? bytes - size : 0;
    new_start = batch_end;
    ++deleted;
    if (++in_batch == kMaxDeletesPerWrite) TIDEMQ_RETURN_IF_ERROR(flush());
  }
  TIDEMQ_RETURN_IF_ERROR(Db::from_leveldb(it->status()));
  TIDEMQ_RETURN_IF_ERROR(flush());
  if (deleted > 0) {
    compact.emplace_back(keys::log_begin(c.topic_id, partition), keys::log(c.topic_id, partition, new_start));
  }
  return deleted;
}

// Forgets producers whose newest batch is older than the topic's retention time (Kafka expires
// idle producer ids the same way); a retry that late is accepted as new.
Status LogStore::Impl::expire_producers(int64_t now_ms) {
  leveldb::WriteBatch wb;
  std::vector<ProducerId> gone;
  for (const auto& [pid, state] : producers) {
    auto c = topics.find_by_id(pid.topic_id);
    if (!c || c->retention_ms <= 0 || state.empty()) continue;
    if (state.newest().store_ms < now_ms - c->retention_ms) {
      wb.Delete(keys::producer_state(pid.topic_id, pid.partition, pid.producer_id));
      gone.push_back(pid);
    }
  }
  if (gone.empty()) return Status::ok();
  TIDEMQ_RETURN_IF_ERROR(db.write(wb));
  for (const ProducerId& pid : gone) producers.erase(pid);
  return Status::ok();
}

Result<uint64_t> LogStore::apply_retention() {
  Impl& m = *impl_;
  std::vector<Impl::Range> compact;
  Result<uint64_t> deleted = m.run_on_writer<Result<uint64_t>>([&]() -> Result<uint64_t> {
    const int64_t now = m.clock.now_ms();
    uint64_t total = 0;
    for (const TopicConfig& c : m.topics.list()) {
      std::vector<std::shared_ptr<PartitionState>> v;
      {
        std::lock_guard lock(m.state_mu);
        auto found = m.parts.find(c.topic_id);
        if (found == m.parts.end()) continue;
        v = found->second;
      }
      for (uint32_t p = 0; p < v.size(); ++p) {
        TIDEMQ_ASSIGN_OR_RETURN(uint64_t n, m.retain_partition(c, p, *v[p], now, compact));
        total += n;
      }
    }
    TIDEMQ_RETURN_IF_ERROR(m.expire_producers(now));
    return total;
  });
  // Deleted ranges are compacted away so later seeks do not step over tombstones.
  for (const auto& [begin, end] : compact) m.db.compact_range(begin, end);
  if (deleted.is_ok() && *deleted > 0) m.log->info("retention deleted {} batches", *deleted);
  return deleted;
}

// Deletes every key of a topic: its log, partition starts and producer states, in WriteBatches
// of at most kMaxDeletesPerWrite. Ranges, not partition counts, so partitions a crash left
// beyond the known count go too.
Status LogStore::Impl::drop_data(uint32_t topic_id) {
  leveldb::WriteBatch wb;
  size_t in_batch = 0;
  auto delete_range = [&](const std::string& begin, const std::string& end) -> Status {
    auto it = db.iterator(/*fill_cache=*/false);
    for (it->Seek(begin); it->Valid() && it->key().compare(end) < 0; it->Next()) {
      wb.Delete(it->key());
      if (++in_batch == kMaxDeletesPerWrite) {
        TIDEMQ_RETURN_IF_ERROR(db.write(wb));
        wb.Clear();
        in_batch = 0;
      }
    }
    return Db::from_leveldb(it->status());
  };
  const bool last = topic_id == UINT32_MAX;
  TIDEMQ_RETURN_IF_ERROR(delete_range(keys::log_begin(topic_id, 0), keys::log_end(topic_id, UINT32_MAX)));
  TIDEMQ_RETURN_IF_ERROR(delete_range(keys::partition_start(topic_id, 0),
                                      last ? keys::keyspace_end(keys::Keyspace::kPartitionStart)
                                           : keys::partition_start(topic_id + 1, 0)));
  TIDEMQ_RETURN_IF_ERROR(delete_range(keys::producer_state(topic_id, 0, 0),
                                      last ? keys::keyspace_end(keys::Keyspace::kProducerState)
                                           : keys::producer_state(topic_id + 1, 0, 0)));
  if (in_batch > 0) TIDEMQ_RETURN_IF_ERROR(db.write(wb));
  std::erase_if(producers, [&](const auto& e) { return e.first.topic_id == topic_id; });
  return Status::ok();
}

Status LogStore::drop_topic(uint32_t topic_id, uint32_t /*partitions*/) {
  Impl& m = *impl_;
  Status st = m.run_on_writer<Status>([&]() -> Status {
    {
      std::lock_guard lock(m.state_mu);
      m.dropped.insert(topic_id);  // ids are never reused: later appends get TopicNotFound
      m.parts.erase(topic_id);
    }
    return m.drop_data(topic_id);
  });
  if (st.is_ok()) {
    m.db.compact_range(keys::log_begin(topic_id, 0), keys::log_end(topic_id, UINT32_MAX));
    m.log->info("dropped the data of topic id {}", topic_id);
  }
  return st;
}

Result<uint32_t> LogStore::next_worker_id(const std::function<bool(uint32_t)>& in_use) {
  Impl& m = *impl_;
  return m.run_on_writer<Result<uint32_t>>([&]() -> Result<uint32_t> {
    for (uint32_t i = 0; i < kWorkerIds; ++i) {
      const uint64_t candidate = m.worker_counter + i;
      const auto id = static_cast<uint32_t>(candidate % kWorkerIds);
      if (in_use(id)) continue;
      leveldb::WriteBatch wb;
      wb.Put(keys::meta(kWorkerCounterKey), encode_u64(candidate + 1));
      TIDEMQ_RETURN_IF_ERROR(m.db.write(wb));
      m.worker_counter = candidate + 1;
      return id;
    }
    return Status::busy("all " + std::to_string(kWorkerIds) + " snowflake worker ids are leased");
  });
}

}  // namespace tidemq::broker
