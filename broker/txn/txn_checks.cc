// TxnService's check-back scheduler (SPEC §6.4-6.5): run_checks, the persist-then-send path,
// parking, check replies, and outcome expiry.
#include <asio/post.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <unordered_set>

#include "broker/store/key_layout.h"
#include "broker/txn/txn_service.h"
#include "common/logging.h"

namespace tidemq::broker::txn {

namespace {

// Parks started per round at most (each is a read and a write): bounded work per round.
constexpr size_t kMaxParksPerRound = 1024;
// Half records moved out of old half log segments per round at most.
constexpr size_t kMaxMovesPerRound = 16384;
// The checks/s cap is counted in one-second windows of the monotonic clock.
constexpr int64_t kRateWindowMs = 1000;

}  // namespace

struct TxnService::Pick {
  enum class Kind { kCheck, kPark };
  Kind kind = Kind::kCheck;
  uint64_t txn_id = 0;
  uint32_t check_count = 0;        // kCheck: the count with this check
  int64_t next_due_mono = 0;       // kCheck: when it is due again if sent
  std::vector<uint64_t> sessions;  // kCheck: live producers to try, in round-robin order
};

void TxnService::run_checks() {
  std::unique_lock round(round_mu_, std::try_to_lock);
  if (!round.owns_lock()) return;  // a round is running (never overlap)
  const TimeBase t = now();
  expire_outcomes(t.now_unix_ms);
  check_due(t);
  compact_half_log(t);  // after the checks: a half picked for one is rewritten by it anyway
}

void TxnService::check_due(const TimeBase& t) {

  // 1. The groups with due work. Names are copied: CheckSender is never called under the lock.
  std::vector<uint32_t> due_groups;
  std::vector<std::string> names;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    for (uint32_t g = 0; g < index_.group_count(); ++g) {
      const HalfMeta* top = index_.top(g);
      if (top != nullptr && top->due_mono <= t.now_mono_ms) {
        due_groups.push_back(g);
        names.push_back(index_.group(g).name);
      }
    }
  }
  if (due_groups.empty()) return;

  // 2. Their live producers (sorted session ids).
  std::vector<std::vector<uint64_t>> live(due_groups.size());
  for (size_t i = 0; i < due_groups.size(); ++i) live[i] = sender_.live_producers(names[i]);

  // 3. Decide, oldest due first across the groups.
  std::vector<Pick> picks;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    if (t.now_mono_ms - window_start_mono_ >= kRateWindowMs) {
      window_start_mono_ = t.now_mono_ms;
      window_checks_ = 0;
    }
    std::vector<size_t> active(due_groups.size());
    for (size_t i = 0; i < active.size(); ++i) active[i] = i;
    size_t parks = 0;
    while (true) {
      // Groups with nothing due leave the set; then the one whose top is due first.
      std::erase_if(active, [&](size_t i) {
        const HalfMeta* top = index_.top(due_groups[i]);
        return top == nullptr || top->due_mono > t.now_mono_ms;
      });
      if (active.empty()) break;
      size_t best = 0;
      for (size_t k = 1; k < active.size(); ++k) {
        if (index_.top(due_groups[active[k]])->due_mono < index_.top(due_groups[active[best]])->due_mono) best = k;
      }
      const size_t gi = active[best];
      const uint32_t g = due_groups[gi];
      HalfMeta& m = *index_.top(g);

      // At most one outstanding check per transaction: look again when its reply is overdue.
      if (auto o = outstanding_.find(m.txn_id); o != outstanding_.end()) {
        if (o->second.until_mono > t.now_mono_ms) {
          index_.schedule(m, o->second.until_mono);
          continue;
        }
        outstanding_.erase(o);
      }
      // Checks exhausted, or too old: park (needs no producer).
      if (m.check_count >= opt_.check_max || t.now_mono_ms - m.age_base_mono >= opt_.max_half_age_ms) {
        if (parks == kMaxParksPerRound) break;
        ++parks;
        m.op = HalfOp::kParking;
        index_.unschedule(m);
        begin_op();
        drop_body(m.txn_id);  // no longer young: its body is read from the half log from now on
        picks.push_back(Pick{Pick::Kind::kPark, m.txn_id, 0, 0, {}});
        continue;
      }
      // Nobody to ask: nothing happens, nothing is counted, it stays due.
      if (live[gi].empty()) {
        active.erase(active.begin() + static_cast<std::ptrdiff_t>(best));
        continue;
      }
      if (window_checks_ >= opt_.max_checks_per_sec) break;
      ++window_checks_;
      // Round-robin: the first live session after the one the group's last check went to; the
      // others follow, in case a send finds its session gone.
      const std::vector<uint64_t>& sessions = live[gi];
      auto first = std::upper_bound(sessions.begin(), sessions.end(), index_.group(g).last_session);
      std::vector<uint64_t> order(first, sessions.end());
      order.insert(order.end(), sessions.begin(), first);
      index_.set_last_session(g, order.front());
      const uint32_t count = m.check_count + 1;
      index_.set_check_count(m, count);
      m.op = HalfOp::kChecking;
      index_.unschedule(m);
      begin_op();
      drop_body(m.txn_id);
      picks.push_back(Pick{Pick::Kind::kCheck, m.txn_id, count, t.now_mono_ms + opt_.check_interval_ms, std::move(order)});
    }
  }

  // 4. Persist, then send (reads on the blocking pool).
  for (Pick& p : picks) {
    if (p.kind == Pick::Kind::kPark) {
      asio::post(blocking_, [this, txn_id = p.txn_id] { persist_park(txn_id); });
    } else {
      asio::post(blocking_, [this, p = std::move(p)]() mutable { persist_check(std::move(p)); });
    }
  }
}

// Blocking pool: the new check count and next due time are durable before the check is sent,
// so a restart never sends a check twice in an interval.
void TxnService::persist_check(Pick p) {
  auto half = read_half(p.txn_id);
  if (!half.is_ok() || !*half) {
    logger_->error("check of transaction {:016x} not sent: {}", p.txn_id,
                   half.is_ok() ? std::string("its half-message record is missing") : half.status().to_string());
    return finish_check(p.txn_id, std::nullopt, clock_.monotonic_ms() + opt_.check_interval_ms);
  }
  HalfRecord rec = std::move(**half);
  rec.check_count = p.check_count;
  rec.next_check_unix_ms = clock_.now_ms() + opt_.check_interval_ms;
  std::string payload = encode_logged_half(p.txn_id, rec);
  const uint64_t txn_id = p.txn_id;
  put_half(txn_id, std::move(payload), [this, p = std::move(p), rec = std::move(rec)](Status st) mutable {
    if (!st.is_ok()) {
      logger_->error("check of transaction {:016x} not sent: {}", p.txn_id, st.to_string());
      return finish_check(p.txn_id, std::nullopt, clock_.monotonic_ms() + opt_.check_interval_ms);
    }
    // Durable. The send (building the request) happens on the blocking pool, not the writer.
    asio::post(blocking_, [this, p = std::move(p), rec = std::move(rec)]() mutable {
      send_check(std::move(p), std::move(rec));
    });
  });
}

void TxnService::send_check(Pick p, HalfRecord rec) {
  CheckRequest req;
  req.txn_id = p.txn_id;
  req.producer_group = std::move(rec.producer_group);
  req.topic_id = rec.topic_id;
  req.partition = rec.partition;
  req.batch = std::move(rec.batch);
  req.check_count = p.check_count;
  // Outstanding from before the send: a reply can arrive before finish_check runs, and must find
  // (and clear) it then, not leave a stale one behind.
  std::optional<uint64_t> sent_to;
  for (uint64_t session : p.sessions) {
    {
      std::lock_guard lock(mu_);
      outstanding_[p.txn_id] = Outstanding{session, clock_.monotonic_ms() + opt_.check_reply_timeout_ms};
    }
    if (sender_.send(session, req)) {
      sent_to = session;
      break;
    }
  }
  if (!sent_to) {
    std::lock_guard lock(mu_);
    outstanding_.erase(p.txn_id);
  }
  if (!sent_to) {
    logger_->info("check {} of transaction {:016x} not sent: none of its group's {} producers is still there",
                  p.check_count, p.txn_id, p.sessions.size());
  }
  // Not sent: due again now (the next round retries with the producers then live).
  finish_check(p.txn_id, sent_to, sent_to ? p.next_due_mono : clock_.monotonic_ms());
}

void TxnService::finish_check(uint64_t txn_id, std::optional<uint64_t> sent_to, int64_t due_mono) {
  std::vector<std::function<void()>> waiters;
  {
    std::lock_guard lock(mu_);
    HalfMeta* m = index_.find(txn_id);
    TIDEMQ_CHECK(m != nullptr && m->op == HalfOp::kChecking, "a transaction being checked left the index");
    m->op = HalfOp::kNone;
    if (!sent_to) index_.set_check_count(*m, m->check_count - 1);  // counted only when sent
    index_.schedule(*m, due_mono);
    waiters = take_waiters(txn_id);
  }
  if (sent_to) checks_sent_.fetch_add(1, std::memory_order_relaxed);
  run_waiters(std::move(waiters));
  end_op();
}

void TxnService::persist_park(uint64_t txn_id) {
  auto half = read_half(txn_id);
  if (!half.is_ok() || !*half) {
    return finish_park(txn_id, half.is_ok() ? Status::storage(fmt::format(
                                                  "the half-message record of transaction {:016x} is missing", txn_id))
                                            : half.status());
  }
  HalfRecord rec = std::move(**half);
  rec.parked = true;
  put_half(txn_id, encode_logged_half(txn_id, rec), [this, txn_id](Status st) { finish_park(txn_id, std::move(st)); });
}

void TxnService::finish_park(uint64_t txn_id, Status st) {
  std::vector<std::function<void()>> waiters;
  uint32_t checks = 0;
  int64_t age_ms = 0;
  {
    std::lock_guard lock(mu_);
    HalfMeta* m = index_.find(txn_id);
    TIDEMQ_CHECK(m != nullptr && m->op == HalfOp::kParking, "a transaction being parked left the index");
    m->op = HalfOp::kNone;
    checks = m->check_count;
    age_ms = clock_.monotonic_ms() - m->received_mono;
    if (st.is_ok()) {
      index_.set_state(*m, HalfState::kParked);
      outstanding_.erase(txn_id);
    } else {
      index_.schedule(*m, clock_.monotonic_ms() + opt_.check_interval_ms);
    }
    waiters = take_waiters(txn_id);
  }
  if (st.is_ok()) {
    logger_->warn("transaction {:016x} parked after {} checks at age {} ms: resume or end it (mqadmin)", txn_id,
                  checks, age_ms);
  } else {
    logger_->error("parking transaction {:016x} failed: {}", txn_id, st.to_string());
  }
  run_waiters(std::move(waiters));
  end_op();
}

void TxnService::on_check_reply(uint64_t session_id, uint64_t txn_id, Action action) {
  {
    std::lock_guard lock(mu_);
    auto o = outstanding_.find(txn_id);
    if (o != outstanding_.end() && o->second.session == session_id) outstanding_.erase(o);
  }
  if (action == Action::kUnknown) return;
  end(txn_id, action, Source::kCheck, [this, txn_id](Result<Outcome> r) {
    if (!r.is_ok() && r.status().code() != StatusCode::kShuttingDown) {
      logger_->warn("applying a check reply to transaction {:016x}: {}", txn_id, r.status().to_string());
    }
  });
}

void TxnService::on_session_closed(uint64_t session_id) {
  std::lock_guard lock(mu_);
  std::erase_if(outstanding_, [&](const auto& kv) { return kv.second.session == session_id; });
}

// Run by run_checks. A head segment half the compaction age old is rolled (so a quiet broker's
// head ages too); the live records of segments older than the compaction age are appended again
// (moved to the head), after which nothing holds those segments and they are deleted.
void TxnService::compact_half_log(const TimeBase& t) {
  std::unordered_set<uint32_t> old;
  for (const HalfSegmentInfo& s : half_log_->segments()) {
    const int64_t age = t.now_mono_ms - s.created_mono_ms;
    if (s.head) {
      if (s.bytes > 0 && age >= opt_.half_log_compact_ms / 2) half_log_->roll();
    } else if (s.live > 0 && age >= opt_.half_log_compact_ms) {
      old.insert(s.id);
    }
  }
  if (old.empty()) return;
  std::vector<uint64_t> moves;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    index_.for_each([&](HalfMeta& m) {
      if (moves.size() == kMaxMovesPerRound || m.op != HalfOp::kNone || !old.contains(m.pos.segment)) return;
      m.op = HalfOp::kMoving;
      index_.unschedule(m);
      begin_op();
      moves.push_back(m.txn_id);
    });
  }
  logger_->debug("moving {} half records out of {} old half log segments", moves.size(), old.size());
  for (uint64_t txn_id : moves) asio::post(blocking_, [this, txn_id] { move_half(txn_id); });
}

// Blocking pool: the transaction's record, appended again unchanged.
void TxnService::move_half(uint64_t txn_id) {
  auto finish = [this, txn_id](Status st) {
    std::vector<std::function<void()>> waiters;
    {
      std::lock_guard lock(mu_);
      HalfMeta* m = index_.find(txn_id);
      TIDEMQ_CHECK(m != nullptr && m->op == HalfOp::kMoving, "a transaction being moved left the index");
      m->op = HalfOp::kNone;
      if (m->state == HalfState::kPending) index_.schedule(*m, m->due_mono);
      waiters = take_waiters(txn_id);
    }
    if (!st.is_ok()) logger_->error("moving the half record of transaction {:016x}: {}", txn_id, st.to_string());
    run_waiters(std::move(waiters));
    end_op();
  };
  auto half = read_half(txn_id);
  if (!half.is_ok()) return finish(half.status());
  if (!*half) return finish(Status::storage(fmt::format("the half record of transaction {:016x} is missing", txn_id)));
  put_half(txn_id, encode_logged_half(txn_id, **half), std::move(finish));
}

// Run by run_checks (a non-network thread): a range scan of the expiry index up to the cutoff,
// then one write deleting up to expire_batch outcomes and their expiry keys.
void TxnService::expire_outcomes(int64_t now_unix_ms) {
  if (expiry_in_flight_.load()) return;  // the previous batch is not written yet
  const int64_t cutoff = now_unix_ms - opt_.outcome_retention_ms;
  if (cutoff <= 0) return;
  const std::string end = keys::txn_outcome_expiry(static_cast<uint64_t>(cutoff), 0);
  leveldb::WriteBatch wb;
  uint32_t n = 0;
  auto it = db_.iterator(/*fill_cache=*/false);
  for (it->Seek(keys::keyspace_begin(keys::Keyspace::kTxnOutcomeExpiry));
       it->Valid() && it->key().compare(end) < 0 && n < opt_.expire_batch; it->Next()) {
    auto k = keys::parse_txn_outcome_expiry(std::string_view(it->key().data(), it->key().size()));
    wb.Delete(it->key());
    if (k) {
      wb.Delete(keys::txn_outcome(k->txn_id));
    } else {
      logger_->warn("deleting a malformed outcome expiry key of {} bytes", it->key().size());
    }
    ++n;
  }
  Status st = Db::from_leveldb(it->status());
  it.reset();
  if (!st.is_ok()) logger_->error("scanning expired transaction outcomes: {}", st.to_string());
  if (n == 0) return;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    begin_op();
  }
  expiry_in_flight_ = true;
  store_.write(std::move(wb), [this, n](Status st) {
    if (st.is_ok()) {
      logger_->debug("expired {} transaction outcomes", n);
    } else {
      logger_->error("expiring transaction outcomes: {}", st.to_string());
    }
    expiry_in_flight_ = false;
    end_op();
  });
}

}  // namespace tidemq::broker::txn
