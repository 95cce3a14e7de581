// TxnService: open/stop, send_half, end (commit / rollback) and the per-transaction operation and
// waiter machinery. The scheduler is in txn_checks.cc, the operator side in txn_admin.cc.
#include "broker/txn/txn_service.h"

#include <asio/post.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <future>

#include "broker/store/key_layout.h"
#include "broker/txn/time_mapping.h"
#include "common/logging.h"
#include "common/record_batch.h"

namespace tidemq::broker::txn {

namespace {

constexpr size_t kMaxGroupBytes = 255;

}  // namespace

Status TxnService::shutting_down() {
  return Status(StatusCode::kShuttingDown, "the transaction service is stopping");
}

Status TxnService::not_found(uint64_t txn_id) {
  return Status::not_found(fmt::format("no transaction {:016x}: not pending, and no outcome remembered", txn_id));
}

TxnService::TxnService(Db& db, LogStore& log, TopicRegistry& topics, const Clock& clock, TxnOptions options,
                       CheckSender& sender, asio::any_io_executor blocking)
    : db_(db),
      store_(log),
      topics_(topics),
      clock_(clock),
      opt_(options),
      sender_(sender),
      blocking_(std::move(blocking)),
      logger_(logging::get("txn")),
      index_(options.check_max) {
  HalfLogOptions lo;
  lo.dir = (std::filesystem::path(db.options().path) / "halflog").string();
  lo.segment_bytes = options.half_log_segment_bytes;
  lo.sync = db.options().flush == FlushMode::kSync;
  lo.env = db.options().env;
  half_log_ = std::make_unique<HalfLog>(std::move(lo), clock);
}

TxnService::~TxnService() { stop(); }

TimeBase TxnService::now() const { return TimeBase{clock_.now_ms(), clock_.monotonic_ms()}; }

// ---------------------------------------------------------------------------------------------
// lifecycle

Status TxnService::open() {
  const TimeBase t = now();
  // The newest record of every transaction in the log (metadata only: bodies stay on disk).
  std::unordered_map<uint64_t, std::pair<HalfPos, HalfRecord>> latest;
  TIDEMQ_RETURN_IF_ERROR(half_log_->open([&](HalfPos pos, std::string_view payload) -> Status {
    TIDEMQ_ASSIGN_OR_RETURN(LoggedHalf h, decode_logged_half(payload));
    h.rec.batch.clear();
    latest.insert_or_assign(h.txn_id, std::make_pair(pos, std::move(h.rec)));
    return Status::ok();
  }));

  // Loaded straight into the index: open() runs before serving, so holding the lock throughout
  // costs nothing.
  std::lock_guard lock(mu_);
  TIDEMQ_CHECK(index_.size() == 0, "TxnService::open called twice");
  size_t resolved = 0;
  for (auto& [txn_id, entry] : latest) {
    // Resolved (its outcome is there): its record is dead, released by never being retained.
    auto outcome = db_.get(keys::txn_outcome(txn_id));
    if (outcome.is_ok()) {
      ++resolved;
      continue;
    }
    if (outcome.status().code() != StatusCode::kNotFound) return outcome.status();
    half_log_->retain(entry.first);
    load_half(t, txn_id, entry.first, entry.second);
  }
  // Only after every record found is retained: an append may roll the head, which deletes it
  // if nothing in it is live.
  TIDEMQ_RETURN_IF_ERROR(migrate_leveldb_halves(t));
  index_.link_all();
  half_log_->collect();  // segments holding only resolved records go
  logger_->info("loaded {} half-messages ({} parked; {} resolved records skipped) from {} half log segments in {} ms",
                index_.size(), index_.parked(), resolved, half_log_->segments().size(),
                clock_.monotonic_ms() - t.now_mono_ms);
  return Status::ok();
}

void TxnService::load_half(const TimeBase& t, uint64_t txn_id, HalfPos pos, const HalfRecord& rec) {
  HalfMeta m;
  m.txn_id = txn_id;
  m.topic_id = rec.topic_id;
  m.partition = rec.partition;
  m.group = index_.group_id(rec.producer_group);
  m.check_count = rec.check_count;
  m.received_mono = past_to_mono(t, rec.received_unix_ms);
  m.age_base_mono = past_to_mono(t, rec.age_base_unix_ms);
  m.state = rec.parked ? HalfState::kParked : HalfState::kPending;
  m.pos = pos;
  // The longest legitimate gap to the next check: the interval, or the first-check delay.
  const int64_t first_ms = rec.immunity_ms > 0 ? rec.immunity_ms : opt_.transaction_timeout_ms;
  const int64_t due = due_to_mono(t, rec.next_check_unix_ms, std::max(opt_.check_interval_ms, first_ms));
  HalfMeta& in = index_.insert(m, /*link=*/false);
  if (in.state == HalfState::kPending) index_.schedule(in, due);
}

Status TxnService::migrate_leveldb_halves(const TimeBase& t) {
  leveldb::WriteBatch deletes;
  size_t found = 0, moved = 0;
  auto it = db_.iterator(/*fill_cache=*/false);
  const std::string end = keys::keyspace_end(keys::Keyspace::kHalf);
  for (it->Seek(keys::keyspace_begin(keys::Keyspace::kHalf)); it->Valid() && it->key().compare(end) < 0; it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    auto txn_id = keys::parse_half(key);
    if (!txn_id) return Status::storage(fmt::format("malformed half-message key of {} bytes", key.size()));
    deletes.Delete(it->key());
    ++found;
    // Already moved by an open that crashed before deleting the key, or resolved: just delete it.
    if (index_.find(*txn_id) != nullptr || db_.get(keys::txn_outcome(*txn_id)).is_ok()) continue;
    TIDEMQ_ASSIGN_OR_RETURN(HalfRecord rec,
                            HalfRecord::decode(*txn_id, std::string_view(it->value().data(), it->value().size())));
    // Appended durably before the key is deleted (counted live by the append).
    std::promise<Result<HalfPos>> appended;
    std::future<Result<HalfPos>> done = appended.get_future();
    half_log_->append(encode_logged_half(*txn_id, rec),
                      [&appended](Result<HalfPos> r) { appended.set_value(std::move(r)); });
    TIDEMQ_ASSIGN_OR_RETURN(HalfPos pos, done.get());
    load_half(t, *txn_id, pos, rec);
    ++moved;
  }
  TIDEMQ_RETURN_IF_ERROR(Db::from_leveldb(it->status()));
  it.reset();
  if (found == 0) return Status::ok();
  std::promise<Status> written;
  std::future<Status> done = written.get_future();
  store_.write(std::move(deletes), [&written](Status st) { written.set_value(std::move(st)); });
  TIDEMQ_RETURN_IF_ERROR(done.get());
  logger_->info("moved {} half-messages from LevelDB into the half log", moved);
  return Status::ok();
}

void TxnService::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  drain();
  half_log_->stop();
}

void TxnService::drain() {
  {
    std::unique_lock lock(flight_mu_);
    flight_cv_.wait(lock, [&] { return in_flight_ == 0; });
  }
  half_log_->barrier();  // and the segment deletions and rolls those operations queued
}

void TxnService::begin_op() {
  std::lock_guard lock(flight_mu_);
  ++in_flight_;
}

void TxnService::end_op() {
  std::lock_guard lock(flight_mu_);
  TIDEMQ_CHECK(in_flight_ > 0, "TxnService operation count underflow");
  if (--in_flight_ == 0) flight_cv_.notify_all();
}

void TxnService::wait_for(uint64_t txn_id, std::function<void()> retry) {
  begin_op();  // the retry is in flight until it has run
  waiters_[txn_id].push_back(std::move(retry));
}

std::vector<std::function<void()>> TxnService::take_waiters(uint64_t txn_id) {
  auto it = waiters_.find(txn_id);
  if (it == waiters_.end()) return {};
  std::vector<std::function<void()>> out = std::move(it->second);
  waiters_.erase(it);
  return out;
}

void TxnService::run_waiters(std::vector<std::function<void()>> waiters) {
  for (auto& w : waiters) {
    w();
    end_op();
  }
}

// ---------------------------------------------------------------------------------------------
// reads (blocking)

Result<std::optional<HalfRecord>> TxnService::read_half(uint64_t txn_id) const {
  HalfPos pos;
  {
    std::lock_guard lock(mu_);
    if (const HalfMeta* m = index_.find(txn_id)) pos = m->pos;
  }
  if (!pos) return std::optional<HalfRecord>();
  auto payload = half_log_->read(pos);
  if (!payload.is_ok()) {
    return Status(payload.status().code(), fmt::format("the half record of transaction {:016x}: {}", txn_id,
                                                       payload.status().message()));
  }
  TIDEMQ_ASSIGN_OR_RETURN(LoggedHalf h, decode_logged_half(*payload));
  if (h.txn_id != txn_id) {
    return Status::storage(fmt::format("the half log record of transaction {:016x} names transaction {:016x}",
                                       txn_id, h.txn_id));
  }
  return std::optional<HalfRecord>(std::move(h.rec));
}

void TxnService::put_half(uint64_t txn_id, std::string payload, std::function<void(Status)> done) {
  half_log_->append(std::move(payload), [this, txn_id, done = std::move(done)](Result<HalfPos> r) {
    if (!r.is_ok()) return done(r.status());
    HalfPos old;
    {
      std::lock_guard lock(mu_);
      HalfMeta* m = index_.find(txn_id);
      TIDEMQ_CHECK(m != nullptr && m->op != HalfOp::kNone, "a half record was written with no operation in flight");
      old = std::exchange(m->pos, *r);
    }
    if (old) half_log_->release(old);
    done(Status::ok());
  });
}

Result<std::optional<OutcomeRecord>> TxnService::read_outcome(uint64_t txn_id) const {
  auto v = db_.get(keys::txn_outcome(txn_id));
  if (!v.is_ok()) {
    if (v.status().code() == StatusCode::kNotFound) return std::optional<OutcomeRecord>();
    return v.status();
  }
  TIDEMQ_ASSIGN_OR_RETURN(OutcomeRecord rec, OutcomeRecord::decode(txn_id, *v));
  return std::optional<OutcomeRecord>(std::move(rec));
}

Result<Outcome> TxnService::lookup_outcome(uint64_t txn_id) const {
  TIDEMQ_ASSIGN_OR_RETURN(std::optional<OutcomeRecord> o, read_outcome(txn_id));
  if (!o) return not_found(txn_id);
  return Outcome{txn_id, o->state, o->topic_id, o->partition, o->offset, o->resolved_unix_ms};
}

// ---------------------------------------------------------------------------------------------
// young bodies

// A young body's bytes as counted against young_body_bytes: the batch and its map entry.
size_t TxnService::young_cost(const std::string& batch) { return batch.size() + kYoungEntryBytes; }

void TxnService::keep_body(uint64_t txn_id, std::string batch) {
  std::lock_guard lock(mu_);
  if (young_bytes_ + young_cost(batch) > opt_.young_body_bytes) return;  // read from the half log instead
  young_bytes_ += young_cost(batch);
  young_.insert_or_assign(txn_id, std::move(batch));
}

std::optional<std::string> TxnService::take_body(uint64_t txn_id) {
  auto it = young_.find(txn_id);
  if (it == young_.end()) return std::nullopt;
  std::string batch = std::move(it->second);
  young_bytes_ -= young_cost(batch);
  young_.erase(it);
  return batch;
}

void TxnService::drop_body(uint64_t txn_id) { take_body(txn_id); }

// ---------------------------------------------------------------------------------------------
// send_half

void TxnService::send_half(std::string producer_group, uint32_t topic_id, uint32_t partition, std::string batch,
                           uint32_t immunity_ms, SendHalfCallback cb, bool first_attempt) {
  auto id = txn_id_of(batch);
  if (!id.is_ok()) return cb(id.status());
  const uint64_t txn_id = *id;
  if (producer_group.empty() || producer_group.size() > kMaxGroupBytes) {
    return cb(Status::invalid_argument(
        fmt::format("a half-message needs a producer group of 1..{} bytes (the connection's Hello names it)",
                    kMaxGroupBytes)));
  }
  auto partitions = topics_.partition_count(topic_id);
  if (!partitions) return cb(Status(StatusCode::kTopicNotFound, fmt::format("topic id {} does not exist", topic_id)));
  if (partition >= *partitions) {
    return cb(Status(StatusCode::kInvalidPartition,
                     fmt::format("partition {} >= partition count {}", partition, *partitions)));
  }
  const TimeBase t = now();
  const uint32_t immunity = static_cast<uint32_t>(std::min<int64_t>(immunity_ms, kMaxImmunityMs));
  const int64_t first_ms = immunity > 0 ? immunity : opt_.transaction_timeout_ms;
  {
    std::unique_lock lock(mu_);
    if (stopping_) {
      lock.unlock();
      return cb(shutting_down());
    }
    if (HalfMeta* m = index_.find(txn_id)) {
      if (m->op == HalfOp::kStoring) {  // a retry racing the first send: answer once it is stored
        wait_for(txn_id, [this, g = std::move(producer_group), topic_id, partition, b = std::move(batch), immunity_ms,
                          cb = std::move(cb), first_attempt]() mutable {
          send_half(std::move(g), topic_id, partition, std::move(b), immunity_ms, std::move(cb), first_attempt);
        });
        return;
      }
      const SendHalfAck ack{txn_id, mono_to_unix(t, m->received_mono)};
      lock.unlock();
      return cb(ack);
    }
    if (index_.size() >= opt_.max_half_messages) {
      const size_t held = index_.size();
      lock.unlock();
      return cb(Status(StatusCode::kTooManyHalfMessages,
                       fmt::format("too many half-messages: the broker holds {} (pending, parked or being "
                                   "stored), its limit is {} (--max-half-messages)",
                                   held, opt_.max_half_messages)));
    }
    const uint32_t group = index_.group_id(producer_group);
    if (opt_.max_half_per_group > 0 && index_.group(group).halves >= opt_.max_half_per_group) {
      const uint64_t held = index_.group(group).halves;
      lock.unlock();
      return cb(Status(StatusCode::kTooManyHalfMessages,
                       fmt::format("too many half-messages in producer group '{}': it holds {}, the limit per "
                                   "group is {} (--max-half-per-group)",
                                   producer_group, held, opt_.max_half_per_group)));
    }
    HalfMeta m;
    m.txn_id = txn_id;
    m.received_mono = t.now_mono_ms;
    m.age_base_mono = t.now_mono_ms;
    m.due_mono = t.now_mono_ms + first_ms;  // first check exactly at the timeout (or immunity)
    m.topic_id = topic_id;
    m.partition = partition;
    m.group = group;
    m.op = HalfOp::kStoring;
    index_.insert(m);
    begin_op();
  }
  HalfRecord rec;
  rec.producer_group = std::move(producer_group);
  rec.topic_id = topic_id;
  rec.partition = partition;
  rec.received_unix_ms = t.now_unix_ms;
  rec.age_base_unix_ms = t.now_unix_ms;
  rec.next_check_unix_ms = t.now_unix_ms + first_ms;
  rec.immunity_ms = immunity;
  rec.batch = std::move(batch);
  record::stamp(rec.batch, 0, static_cast<uint64_t>(std::max<int64_t>(0, t.now_unix_ms)));
  // A first attempt has no remembered outcome: stored at once (the append is non-blocking).
  if (first_attempt) return write_half(txn_id, std::move(rec), std::move(cb));
  // The outcome lookup (dedup against a resolved transaction) reads LevelDB: blocking pool.
  asio::post(blocking_, [this, txn_id, rec = std::move(rec), cb = std::move(cb)]() mutable {
    store_half(txn_id, std::move(rec), std::move(cb));
  });
}

void TxnService::store_half(uint64_t txn_id, HalfRecord rec, SendHalfCallback cb) {
  // A transaction resolved before (a retry of a SendHalf whose ack was lost, resolved by a
  // check meanwhile) is acknowledged again and nothing is stored.
  auto outcome = read_outcome(txn_id);
  if (!outcome.is_ok()) return finish_store(txn_id, outcome.status(), false, std::move(cb));
  if (*outcome) {
    return finish_store(txn_id, SendHalfAck{txn_id, (*outcome)->received_unix_ms}, false, std::move(cb));
  }
  write_half(txn_id, std::move(rec), std::move(cb));
}

void TxnService::write_half(uint64_t txn_id, HalfRecord rec, SendHalfCallback cb) {
  const SendHalfAck ack{txn_id, rec.received_unix_ms};
  std::string payload = encode_logged_half(txn_id, rec);
  keep_body(txn_id, std::move(rec.batch));
  put_half(txn_id, std::move(payload), [this, txn_id, ack, cb = std::move(cb)](Status st) mutable {
    if (st.is_ok()) {
      finish_store(txn_id, ack, true, std::move(cb));
    } else {
      finish_store(txn_id, std::move(st), false, std::move(cb));
    }
  });
}

// `stored`: the half record was written (it stays in memory, scheduled). Otherwise (an error, or
// acknowledged from a remembered outcome) it leaves the index.
void TxnService::finish_store(uint64_t txn_id, Result<SendHalfAck> result, bool stored, SendHalfCallback cb) {
  std::vector<std::function<void()>> waiters;
  {
    std::lock_guard lock(mu_);
    HalfMeta* m = index_.find(txn_id);
    TIDEMQ_CHECK(m != nullptr && m->op == HalfOp::kStoring, "a half-message being stored left the index");
    if (stored) {
      m->op = HalfOp::kNone;
      index_.schedule(*m, m->due_mono);
    } else {
      index_.erase(txn_id);
      drop_body(txn_id);
    }
    waiters = take_waiters(txn_id);
  }
  if (!result.is_ok()) logger_->warn("storing half-message {:016x} failed: {}", txn_id, result.status().to_string());
  cb(std::move(result));
  run_waiters(std::move(waiters));
  end_op();
}

// ---------------------------------------------------------------------------------------------
// end

void TxnService::end(uint64_t txn_id, Action action, Source source, EndCallback cb) {
  std::unique_lock lock(mu_);
  if (stopping_) {
    lock.unlock();
    return cb(shutting_down());
  }
  HalfMeta* m = index_.find(txn_id);
  if (m == nullptr) {  // resolved (or unknown): the outcome is in LevelDB, if anywhere
    begin_op();
    lock.unlock();
    asio::post(blocking_, [this, txn_id, cb = std::move(cb)] {
      cb(lookup_outcome(txn_id));
      end_op();
    });
    return;
  }
  if (m->op != HalfOp::kNone) {  // wait for the operation in flight, then decide again
    wait_for(txn_id, [this, txn_id, action, source, cb = std::move(cb)]() mutable {
      end(txn_id, action, source, std::move(cb));
    });
    return;
  }
  if (action == Action::kUnknown) {
    const Outcome o{txn_id, m->state == HalfState::kParked ? TxnState::kParked : TxnState::kPending, m->topic_id,
                    m->partition, 0, 0};
    lock.unlock();
    return cb(o);
  }
  m->op = HalfOp::kResolving;
  index_.unschedule(*m);  // due_mono is kept for a resolution that fails
  OutcomeRecord o;
  o.state = action == Action::kCommit ? TxnState::kCommitted : TxnState::kRolledBack;
  o.source = source;
  o.producer_group = index_.group(m->group).name;
  o.topic_id = m->topic_id;
  o.partition = m->partition;
  o.received_unix_ms = mono_to_unix(now(), m->received_mono);
  o.check_count = m->check_count;
  begin_op();
  lock.unlock();
  logger_->debug("{} of transaction {:016x} by the {}", action_name(action), txn_id, source_name(source));
  if (action == Action::kCommit) {
    std::optional<std::string> young;
    {
      std::lock_guard relock(mu_);
      young = take_body(txn_id);
    }
    if (young) {  // a young half: no read, no pool hop (append is non-blocking)
      const uint32_t topic_id = o.topic_id, partition = o.partition;
      return append_commit(txn_id, topic_id, partition, std::move(*young), std::move(o), std::move(cb));
    }
    // The body is read from the half log: blocking pool.
    asio::post(blocking_, [this, txn_id, o = std::move(o), cb = std::move(cb)]() mutable {
      commit(txn_id, std::move(o), std::move(cb));
    });
  } else {
    rollback(txn_id, std::move(o), std::move(cb));
  }
}

void TxnService::commit(uint64_t txn_id, OutcomeRecord o, EndCallback cb) {
  auto half = read_half(txn_id);
  if (!half.is_ok()) return finish_resolve(txn_id, half.status(), std::move(cb));
  if (!*half) {
    return finish_resolve(
        txn_id, Status::storage(fmt::format("the half-message record of pending transaction {:016x} is missing", txn_id)),
        std::move(cb));
  }
  HalfRecord& rec = **half;
  o.received_unix_ms = rec.received_unix_ms;
  append_commit(txn_id, rec.topic_id, rec.partition, std::move(rec.batch), std::move(o), std::move(cb));
}

void TxnService::append_commit(uint64_t txn_id, uint32_t topic_id, uint32_t partition, std::string batch,
                               OutcomeRecord o, EndCallback cb) {
  // Not an idempotent batch: the producer's sequences must not see it.
  record::clear_producer(batch);
  auto side = [txn_id, o](leveldb::WriteBatch& wb, const AppendResult& r) {
    // In the append's WriteBatch: the outcome (with the offset) is recorded; from then on the
    // half record is dead (released once this is durable).
    OutcomeRecord done = o;
    done.offset = r.base_offset;
    done.resolved_unix_ms = r.store_ms;
    wb.Put(keys::txn_outcome(txn_id), done.encode());
    wb.Put(keys::txn_outcome_expiry(static_cast<uint64_t>(std::max<int64_t>(0, r.store_ms)), txn_id), {});
  };
  store_.append(
      topic_id, partition, std::move(batch),
      [this, txn_id, topic_id, partition, cb = std::move(cb)](Result<AppendResult> r) mutable {
        if (!r.is_ok()) return finish_resolve(txn_id, r.status(), std::move(cb));
        TIDEMQ_CHECK(!r->duplicate, "a committed half-message was taken for an idempotent duplicate");
        finish_resolve(txn_id, Outcome{txn_id, TxnState::kCommitted, topic_id, partition, r->base_offset, r->store_ms},
                       std::move(cb));
      },
      std::move(side));
}

void TxnService::rollback(uint64_t txn_id, OutcomeRecord o, EndCallback cb) {
  o.resolved_unix_ms = std::max<int64_t>(0, clock_.now_ms());
  leveldb::WriteBatch wb;
  wb.Put(keys::txn_outcome(txn_id), o.encode());
  wb.Put(keys::txn_outcome_expiry(static_cast<uint64_t>(o.resolved_unix_ms), txn_id), {});
  const Outcome out{txn_id, TxnState::kRolledBack, o.topic_id, o.partition, 0, o.resolved_unix_ms};
  store_.write(std::move(wb), [this, txn_id, out, cb = std::move(cb)](Status st) mutable {
    if (st.is_ok()) {
      finish_resolve(txn_id, out, std::move(cb));
    } else {
      finish_resolve(txn_id, std::move(st), std::move(cb));
    }
  });
}

void TxnService::finish_resolve(uint64_t txn_id, Result<Outcome> result, EndCallback cb) {
  std::vector<std::function<void()>> waiters;
  HalfPos dead;
  {
    std::lock_guard lock(mu_);
    HalfMeta* m = index_.find(txn_id);
    TIDEMQ_CHECK(m != nullptr && m->op == HalfOp::kResolving, "a transaction being resolved left the index");
    if (result.is_ok()) {
      dead = m->pos;
      index_.erase(txn_id);
      drop_body(txn_id);
      outstanding_.erase(txn_id);
    } else {
      // Still pending (or parked): a later end may try again.
      m->op = HalfOp::kNone;
      if (m->state == HalfState::kPending) index_.schedule(*m, m->due_mono);
    }
    waiters = take_waiters(txn_id);
  }
  if (dead) half_log_->release(dead);
  if (result.is_ok()) {
    (result->state == TxnState::kCommitted ? committed_ : rolled_back_).fetch_add(1, std::memory_order_relaxed);
  } else {
    logger_->warn("ending transaction {:016x} failed, it stays pending: {}", txn_id, result.status().to_string());
  }
  cb(std::move(result));
  run_waiters(std::move(waiters));
  end_op();
}

}  // namespace tidemq::broker::txn
