// LogStore lifecycle, append() and the group-committing writer thread.
#include "broker/store/log_store.h"

#include <pthread.h>

#include <algorithm>

#include "broker/store/key_layout.h"
#include "broker/store/log_store_impl.h"
#include "common/coding.h"
#include "common/logging.h"
#include "common/record_batch.h"

namespace tidemq::broker {

namespace {
constexpr std::string_view kWorkerCounterKey = "worker_id_counter";
// A round's WriteBatch buffer is kept for the next round up to this size.
constexpr size_t kMaxKeptBatchBytes = 64u << 20;
}  // namespace

Result<uint64_t> decode_partition_start(std::string_view value) {
  if (value.size() != 8) return Status::storage("malformed partition start offset");
  return coding::get_u64(value.data());
}

LogStore::Impl::Impl(LogStore& o, Db& d, TopicRegistry& t, const Clock& c, size_t quantum)
    : owner(o), db(d), topics(t), clock(c), round_quantum_bytes(quantum), log(logging::get("store")) {}

LogStore::LogStore(Db& db, TopicRegistry& topics, const Clock& clock, size_t round_quantum_bytes)
    : impl_(std::make_unique<Impl>(*this, db, topics, clock, round_quantum_bytes)) {}

LogStore::~LogStore() { stop(); }

// ---------------------------------------------------------------------------------------------
// open

Status LogStore::Impl::load_partition(leveldb::Iterator& it, uint32_t topic_id, uint32_t partition,
                                      PartitionState& ps) {
  const std::string begin = keys::log_begin(topic_id, partition);
  const std::string end = keys::log_end(topic_id, partition);
  auto in_partition = [&](const leveldb::Slice& k) {
    auto lk = keys::parse_log(std::string_view(k.data(), k.size()));
    return lk && lk->topic_id == topic_id && lk->partition == partition ? lk : std::nullopt;
  };

  // The newest batch: the last key before the next partition's range.
  bool has_data = false;
  uint64_t next = 0;
  int64_t last_ms = 0;
  it.Seek(end);
  if (it.Valid()) {
    it.Prev();
  } else {
    it.SeekToLast();
  }
  if (it.Valid()) {
    if (auto lk = in_partition(it.key())) {
      auto h = record::parse_header(std::string_view(it.value().data(), it.value().size()));
      if (!h.is_ok()) {
        return Status::storage("unreadable batch header at topic " + std::to_string(topic_id) +
                               " partition " + std::to_string(partition) + " offset " +
                               std::to_string(lk->base_offset) + ": " + h.status().message());
      }
      has_data = true;
      next = lk->base_offset + h->record_count;
      last_ms = static_cast<int64_t>(h->store_ms);
    }
  }
  TIDEMQ_RETURN_IF_ERROR(Db::from_leveldb(it.status()));

  // The start offset: persisted by retention (in the WriteBatch of its deletes), else 0. Not the
  // first batch found: if the first batches are missing without retention having moved the start,
  // the log is damaged, and reads say so (log_read.cc) instead of starting after the hole.
  uint64_t start = 0;
  auto stored = db.get(keys::partition_start(topic_id, partition));
  if (stored.is_ok()) {
    TIDEMQ_ASSIGN_OR_RETURN(start, decode_partition_start(*stored));
  } else if (stored.status().code() != StatusCode::kNotFound) {
    return stored.status();
  }
  if (!has_data) next = start;  // every batch deleted: the log continues after them
  if (start > next) {
    return Status::storage("start offset " + std::to_string(start) + " above the end " +
                           std::to_string(next) + " in topic " + std::to_string(topic_id) +
                           " partition " + std::to_string(partition));
  }

  ps.next_offset = next;
  ps.writer_last_ms = last_ms;
  ps.bytes = db.approximate_size(begin, end);
  ps.start_offset.store(start, std::memory_order_release);
  ps.end_offset.store(next, std::memory_order_release);
  ps.last_store_ms.store(last_ms, std::memory_order_release);
  return Status::ok();
}

Status LogStore::Impl::load_producers() {
  auto it = db.iterator(/*fill_cache=*/false);
  const std::string end = keys::keyspace_end(keys::Keyspace::kProducerState);
  std::lock_guard lock(state_mu);
  for (it->Seek(keys::keyspace_begin(keys::Keyspace::kProducerState)); it->Valid(); it->Next()) {
    if (it->key().compare(end) >= 0) break;
    auto pk = keys::parse_producer_state(std::string_view(it->key().data(), it->key().size()));
    if (!pk) return Status::storage("malformed producer state key");
    if (!parts.contains(pk->topic_id)) continue;  // topic dropped; drop_topic deletes these
    TIDEMQ_ASSIGN_OR_RETURN(ProducerState state, ProducerState::decode(std::string_view(
                                                      it->value().data(), it->value().size())));
    producers.emplace(ProducerId{pk->topic_id, pk->partition, pk->producer_id}, std::move(state));
  }
  return Db::from_leveldb(it->status());
}

Status LogStore::Impl::load_worker_counter() {
  auto v = db.get(keys::meta(kWorkerCounterKey));
  if (v.is_ok()) {
    if (v->size() != 8) return Status::storage("malformed worker id counter");
    worker_counter = coding::get_u64(v->data());
    return Status::ok();
  }
  return v.status().code() == StatusCode::kNotFound ? Status::ok() : v.status();
}

std::vector<uint32_t> LogStore::Impl::find_orphans() const {
  std::unordered_set<uint32_t> found;
  auto it = db.iterator(/*fill_cache=*/false);
  // Log and producer-state keys both start with the keyspace byte and the u32 topic id.
  for (keys::Keyspace ks : {keys::Keyspace::kLog, keys::Keyspace::kProducerState}) {
    const std::string end = keys::keyspace_end(ks);
    it->Seek(keys::keyspace_begin(ks));
    while (it->Valid() && it->key().compare(end) < 0 && it->key().size() >= 5) {
      const uint32_t topic_id = coding::get_u32(it->key().data() + 1);
      {
        std::lock_guard lock(state_mu);
        if (!parts.contains(topic_id)) found.insert(topic_id);
      }
      if (topic_id == UINT32_MAX) break;
      it->Seek(ks == keys::Keyspace::kLog ? keys::log_begin(topic_id + 1, 0)
                                          : keys::producer_state(topic_id + 1, 0, 0));
    }
  }
  return {found.begin(), found.end()};
}

Status LogStore::open() {
  Impl& m = *impl_;
  if (!m.queue.fresh()) return Status::internal("LogStore::open called twice");
  const int64_t t0 = m.clock.monotonic_ms();
  auto it = m.db.iterator(/*fill_cache=*/false);
  size_t npart = 0;
  for (const TopicConfig& c : m.topics.list()) {
    std::vector<std::shared_ptr<PartitionState>> v;
    v.reserve(c.partitions);
    for (uint32_t p = 0; p < c.partitions; ++p) {
      auto ps = std::make_shared<PartitionState>();
      TIDEMQ_RETURN_IF_ERROR(m.load_partition(*it, c.topic_id, p, *ps));
      v.push_back(std::move(ps));
    }
    npart += v.size();
    std::lock_guard lock(m.state_mu);
    m.parts[c.topic_id] = std::move(v);
  }
  it.reset();
  TIDEMQ_RETURN_IF_ERROR(m.load_producers());
  TIDEMQ_RETURN_IF_ERROR(m.load_worker_counter());
  m.log->info("log store open: {} partitions, {} producer states, in {} ms", npart,
              m.producers.size(), m.clock.monotonic_ms() - t0);

  const std::vector<uint32_t> orphans = m.find_orphans();

  // Orphaned data is deleted by the writer's first round, not here: open() stays fast.
  for (uint32_t topic_id : orphans) {
    m.log->warn("deleting the data of topic id {}, which has no topic any more", topic_id);
    {
      std::lock_guard state_lock(m.state_mu);
      m.dropped.insert(topic_id);
    }
    m.queue.post_first([&m, topic_id] {
      Status st = m.drop_data(topic_id);
      if (!st.is_ok()) m.log->error("deleting topic id {}: {}", topic_id, st.to_string());
    });
  }
  m.queue.start();
  m.writer = std::thread([&m] {
    pthread_setname_np(pthread_self(), "tmq-writer");
    m.writer_loop();
  });
  return Status::ok();
}

void LogStore::stop() {
  Impl& m = *impl_;
  std::lock_guard stop_lock(m.stop_mu);
  m.queue.stop();
  if (m.writer.joinable()) {
    m.writer.join();
    m.log->info("log store stopped");
  }
}

void LogStore::set_append_listener(AppendListener listener) {
  auto p = listener ? std::make_shared<const AppendListener>(std::move(listener)) : nullptr;
  std::lock_guard lock(impl_->listener_mu);
  impl_->listener = std::move(p);
}

void LogStore::set_drain_listener(DrainListener listener) {
  auto p = listener ? std::make_shared<const DrainListener>(std::move(listener)) : nullptr;
  std::lock_guard lock(impl_->listener_mu);
  impl_->drain_listener = std::move(p);
}

// ---------------------------------------------------------------------------------------------
// append and the writer

void LogStore::append(uint32_t topic_id, uint32_t partition, std::string batch, AppendCallback cb,
                      SideWrites side) {
  Impl& m = *impl_;
  const size_t bytes = batch.size();
  Impl::Append a{topic_id, partition, std::move(batch), std::move(cb), bytes, std::move(side), nullptr};
  if (m.enqueue(a)) return;
  a.cb(Status(StatusCode::kShuttingDown, "log store is not running"));
}

void LogStore::write(leveldb::WriteBatch wb, WriteCallback cb) {
  Impl& m = *impl_;
  const size_t bytes = wb.ApproximateSize();
  Impl::Append a{0, 0, {}, {}, bytes, {}, std::make_unique<Impl::Write>(Impl::Write{std::move(wb), std::move(cb)})};
  if (m.enqueue(a)) return;
  a.write->cb(Status(StatusCode::kShuttingDown, "log store is not running"));
}

bool LogStore::Impl::enqueue(Append& a) {
  const size_t bytes = a.bytes;
  // False leaves `a` as it was: the caller answers.
  return queue.push(a, [&] {
    const size_t now_pending = owner.pending_bytes_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
    if (now_pending > owner.pending_bytes_peak_.load(std::memory_order_relaxed)) {
      owner.pending_bytes_peak_.store(now_pending, std::memory_order_relaxed);  // pushers hold the queue's lock
    }
  });
}

void LogStore::Impl::writer_loop() {
  writer_id.store(std::this_thread::get_id());
  // Group commit: the queued appends go into one WriteBatch; a job splits the round. Rounds are
  // fair across partitions: at most round_quantum_bytes of each partition's queue per round (its
  // first append always), so an append to a quiet partition is written in the next round rather
  // than behind everything a busy one has queued (up to --max-pending-bytes). A write() is
  // ordered against every append.
  const RoundQueue<Append>::FairShare share{
      round_quantum_bytes,
      [](const Append& a) -> std::optional<uint64_t> {
        if (a.write) return std::nullopt;
        return uint64_t{a.topic_id} << 32 | a.partition;
      },
      [](const Append& a) { return a.bytes; },
      [this] { return owner.round_cap_.load(std::memory_order_relaxed); },
      kSmallAppendBytes};
  queue.run([this](std::vector<Append>& appends) { commit(appends); }, round_quantum_bytes > 0 ? &share : nullptr);
}

void LogStore::Impl::commit(std::vector<Append>& appends) {
  if (appends.empty()) return;
  ++round;

  struct Touched {
    PartitionState* ps;
    uint32_t topic_id;
    uint32_t partition;
    uint64_t next_offset;
    int64_t last_ms;
    uint64_t bytes;
  };
  struct Outcome {
    Status error;          // an item's own rejection
    AppendResult result;   // when error is ok
  };
  std::vector<Touched> touched;
  std::vector<Outcome> outcomes(appends.size());
  // Producer states as they were before this round, for rollback; nullopt = did not exist.
  std::unordered_map<ProducerId, std::optional<ProducerState>, ProducerIdHash> saved_producers;
  if (round_batch.ApproximateSize() > kMaxKeptBatchBytes) round_batch = leveldb::WriteBatch();
  round_batch.Clear();
  leveldb::WriteBatch& wb = round_batch;
  size_t stored = 0;
  size_t writes = 0;
  size_t pending = 0;

  for (size_t i = 0; i < appends.size(); ++i) {
    Append& a = appends[i];
    Outcome& out = outcomes[i];
    pending += a.bytes;
    if (a.write) {
      // A write(): its mutations join the round's batch in queue order.
      wb.Append(a.write->wb);
      ++writes;
      continue;
    }
    auto count = topics.partition_count(a.topic_id);
    if (!count) {
      out.error = Status(StatusCode::kTopicNotFound, "topic id " + std::to_string(a.topic_id) + " does not exist");
      continue;
    }
    if (a.partition >= *count) {
      out.error = Status(StatusCode::kInvalidPartition, "partition " + std::to_string(a.partition) +
                                                            " >= partition count " + std::to_string(*count));
      continue;
    }
    PartitionState* ps = writer_partition(a.topic_id, a.partition, *count);
    if (ps == nullptr) {
      out.error = Status(StatusCode::kTopicNotFound, "topic id " + std::to_string(a.topic_id) + " was deleted");
      continue;
    }
    auto h = record::parse_header(a.batch);
    if (!h.is_ok() || h->record_count == 0 || h->batch_len != a.batch.size()) {
      out.error = h.is_ok() ? Status::corruption("batch not validated before append") : h.status();
      continue;
    }

    ProducerState* pstate = nullptr;
    ProducerId pid{a.topic_id, a.partition, h->producer_id};
    if (h->producer_id != 0) {
      auto found = producers.find(pid);
      if (found != producers.end()) {
        ProducerState::Check c = found->second.check(h->base_sequence, h->record_count);
        if (c.verdict == ProducerState::Verdict::kDuplicate) {
          out.result = AppendResult{c.original.base_offset, c.original.record_count,
                                    c.original.store_ms, /*duplicate=*/true};
          continue;
        }
        if (c.verdict != ProducerState::Verdict::kAccept) {
          out.error = sequence_error(c, h->producer_id, h->base_sequence,
                                     found->second.newest().last_sequence() + 1);
          continue;
        }
        saved_producers.try_emplace(pid, found->second);
        pstate = &found->second;
      } else {
        saved_producers.try_emplace(pid, std::nullopt);
        pstate = &producers[pid];
      }
    }

    if (ps->round != round) {
      ps->round = round;
      touched.push_back({ps, a.topic_id, a.partition, ps->next_offset, ps->writer_last_ms, ps->bytes});
    }
    const uint64_t base = ps->next_offset;
    // Store times never go down within a partition, even when the wall clock does.
    const int64_t store_ms = std::max(clock.now_ms(), ps->writer_last_ms);
    record::stamp(a.batch, base, static_cast<uint64_t>(store_ms));
    std::string key = keys::log(a.topic_id, a.partition, base);
    wb.Put(key, a.batch);
    ps->next_offset = base + h->record_count;
    ps->writer_last_ms = store_ms;
    ps->bytes += key.size() + a.batch.size();
    if (pstate != nullptr) pstate->add({h->base_sequence, h->record_count, base, store_ms});
    out.result = AppendResult{base, h->record_count, store_ms, false};
    if (a.side) a.side(wb, out.result);
    ++stored;
  }
  // The producer-sequence records go into the same WriteBatch as the batches they describe.
  for (const auto& [pid, before] : saved_producers) {
    wb.Put(keys::producer_state(pid.topic_id, pid.partition, pid.producer_id), producers[pid].encode());
  }

  const int64_t write_start_ns = clock.monotonic_ns();
  Status st = stored > 0 || writes > 0 ? db.write(wb) : Status::ok();
  const int64_t write_us = (clock.monotonic_ns() - write_start_ns) / 1000;
  std::shared_ptr<const AppendListener> l;
  std::shared_ptr<const DrainListener> drained;
  {
    std::lock_guard lock(listener_mu);
    l = listener;
    drained = drain_listener;
  }
  if (st.is_ok()) {
    for (const Touched& t : touched) {
      t.ps->last_store_ms.store(t.ps->writer_last_ms, std::memory_order_release);
      t.ps->end_offset.store(t.ps->next_offset, std::memory_order_release);
    }
    if (l) {
      for (const Touched& t : touched) (*l)(t.topic_id, t.partition, t.ps->next_offset);
    }
  } else {
    // Nothing of this round is visible: undo the writer's offsets and producer states.
    for (const Touched& t : touched) {
      t.ps->next_offset = t.next_offset;
      t.ps->writer_last_ms = t.last_ms;
      t.ps->bytes = t.bytes;
    }
    for (auto& [pid, before] : saved_producers) {
      if (before) {
        producers[pid] = std::move(*before);
      } else {
        producers.erase(pid);
      }
    }
  }

  // seq_cst: pairs with WritePressure (a parked request sees the lower value, or the listener
  // sees that one is parked).
  owner.pending_bytes_.fetch_sub(pending, std::memory_order_seq_cst);
  if (drained) (*drained)(pending, write_us);
  for (size_t i = 0; i < appends.size(); ++i) {
    Outcome& out = outcomes[i];
    if (appends[i].write) {
      appends[i].write->cb(st);
    } else if (!out.error.is_ok()) {
      appends[i].cb(std::move(out.error));
    } else if (!st.is_ok()) {
      appends[i].cb(st);
    } else {
      appends[i].cb(out.result);
    }
  }
  appends.clear();
}

PartitionState* LogStore::Impl::writer_partition(uint32_t topic_id, uint32_t partition, uint32_t partitions) {
  std::lock_guard lock(state_mu);
  if (dropped.contains(topic_id)) return nullptr;
  auto& v = parts[topic_id];
  // A partition the registry has and we do not is new, hence empty: ids are never reused and
  // partition counts only grow.
  while (v.size() < partitions) v.push_back(std::make_shared<PartitionState>());
  return v[partition].get();
}

void LogStore::ensure_partitions(uint32_t topic_id, uint32_t partitions) {
  Impl& m = *impl_;
  std::lock_guard lock(m.state_mu);
  if (m.dropped.contains(topic_id)) return;
  auto& v = m.parts[topic_id];
  while (v.size() < partitions) v.push_back(std::make_shared<PartitionState>());
}

Result<std::shared_ptr<PartitionState>> LogStore::Impl::lookup(uint32_t topic_id, uint32_t partition) const {
  {
    std::lock_guard lock(state_mu);
    auto found = parts.find(topic_id);
    if (found != parts.end() && partition < found->second.size()) return found->second[partition];
    if (dropped.contains(topic_id)) {
      return Status(StatusCode::kTopicNotFound, "topic id " + std::to_string(topic_id) + " was deleted");
    }
  }
  auto count = topics.partition_count(topic_id);
  if (!count) return Status(StatusCode::kTopicNotFound, "topic id " + std::to_string(topic_id) + " does not exist");
  if (partition >= *count) {
    return Status(StatusCode::kInvalidPartition,
                  "partition " + std::to_string(partition) + " >= partition count " + std::to_string(*count));
  }
  return std::make_shared<PartitionState>();  // created, never written
}

}  // namespace tidemq::broker
