// TxnService's operator side: query, resume (mqadmin queryHalfMsg / resumeCheckHalfMsg) and the
// halfStatus summary.
#include <fmt/format.h>

#include <algorithm>
#include <future>

#include "broker/store/key_layout.h"
#include "broker/txn/txn_service.h"
#include "common/logging.h"

namespace tidemq::broker::txn {

HalfView TxnService::view_of(uint64_t txn_id, const OutcomeRecord& o) const {
  HalfView v;
  v.txn_id = txn_id;
  v.state = o.state;
  v.producer_group = o.producer_group;
  v.topic_id = o.topic_id;
  v.partition = o.partition;
  v.check_count = o.check_count;
  v.age_ms = std::max<int64_t>(0, clock_.now_ms() - o.received_unix_ms);
  v.offset = o.offset;
  v.resolved_unix_ms = o.resolved_unix_ms;
  return v;
}

Result<HalfView> TxnService::query(uint64_t txn_id) {
  std::optional<HalfView> mem;
  {
    std::lock_guard lock(mu_);
    if (const HalfMeta* m = index_.find(txn_id)) {
      const int64_t now_mono = clock_.monotonic_ms();
      HalfView v;
      v.txn_id = txn_id;
      v.state = m->state == HalfState::kParked ? TxnState::kParked : TxnState::kPending;
      v.producer_group = index_.group(m->group).name;
      v.topic_id = m->topic_id;
      v.partition = m->partition;
      v.check_count = m->check_count;
      v.age_ms = now_mono - m->received_mono;
      v.next_check_in_ms = m->state == HalfState::kPending ? m->due_mono - now_mono : 0;
      mem = std::move(v);
    }
  }
  Status read_error;
  if (mem) {
    auto half = read_half(txn_id);
    if (half.is_ok() && *half) {
      mem->batch = std::move((*half)->batch);
      return *mem;
    }
    // Resolved meanwhile (its segment may be gone), or not written yet: the outcome says which.
    if (!half.is_ok()) read_error = half.status();
  }
  TIDEMQ_ASSIGN_OR_RETURN(std::optional<OutcomeRecord> o, read_outcome(txn_id));
  if (o) return view_of(txn_id, *o);
  if (!read_error.is_ok()) return read_error;
  if (mem) return *mem;  // being stored: no body yet
  return not_found(txn_id);
}

Result<HalfView> TxnService::resume(uint64_t txn_id) {
  bool in_memory = false;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return shutting_down();
    if (HalfMeta* m = index_.find(txn_id)) {
      if (m->op != HalfOp::kNone) {
        return Status::busy(
            fmt::format("transaction {:016x} is being written (stored, checked or ended); try again", txn_id));
      }
      m->op = HalfOp::kResuming;
      index_.unschedule(*m);
      begin_op();
      in_memory = true;
    }
  }
  if (!in_memory) {
    TIDEMQ_ASSIGN_OR_RETURN(std::optional<OutcomeRecord> o, read_outcome(txn_id));
    if (!o) return not_found(txn_id);
    return Status::invalid_argument(
        fmt::format("transaction {:016x} is already {}: nothing to resume", txn_id, state_name(o->state)));
  }

  // Persist first: not parked, no checks yet, due now, a fresh max-age allowance.
  const TimeBase t = now();
  Status st;
  auto half = read_half(txn_id);
  HalfRecord rec;
  if (!half.is_ok()) {
    st = half.status();
  } else if (!*half) {
    st = Status::storage(fmt::format("the half-message record of transaction {:016x} is missing", txn_id));
  } else {
    rec = std::move(**half);
    rec.parked = false;
    rec.check_count = 0;
    rec.next_check_unix_ms = t.now_unix_ms;
    rec.age_base_unix_ms = t.now_unix_ms;
    std::promise<Status> written;
    std::future<Status> done = written.get_future();
    put_half(txn_id, encode_logged_half(txn_id, rec), [&written](Status s) { written.set_value(std::move(s)); });
    st = done.get();  // blocking is allowed here (blocking pool); the half log never waits for us
  }

  HalfView v;
  std::vector<std::function<void()>> waiters;
  {
    std::lock_guard lock(mu_);
    HalfMeta* m = index_.find(txn_id);
    TIDEMQ_CHECK(m != nullptr && m->op == HalfOp::kResuming, "a transaction being resumed left the index");
    m->op = HalfOp::kNone;
    if (st.is_ok()) {
      index_.set_state(*m, HalfState::kPending);
      index_.set_check_count(*m, 0);
      m->age_base_mono = t.now_mono_ms;
      outstanding_.erase(txn_id);
      index_.schedule(*m, t.now_mono_ms);
      v.txn_id = txn_id;
      v.state = TxnState::kPending;
      v.producer_group = rec.producer_group;
      v.topic_id = rec.topic_id;
      v.partition = rec.partition;
      v.age_ms = t.now_mono_ms - m->received_mono;
      v.batch = std::move(rec.batch);
    } else if (m->state == HalfState::kPending) {
      index_.schedule(*m, m->due_mono);
    }
    waiters = take_waiters(txn_id);
  }
  run_waiters(std::move(waiters));
  end_op();
  if (!st.is_ok()) return st;
  logger_->info("transaction {:016x} resumed: checks start again", txn_id);
  return v;
}

HalfSummary TxnService::summary(const std::string& group_or_empty) const {
  HalfSummary s;
  s.checks_histogram.assign(opt_.check_max + 1, 0);
  {
    std::lock_guard lock(mu_);
    const int64_t now_mono = clock_.monotonic_ms();
    auto add = [&](uint32_t id) {
      const HalfIndex::Group& g = index_.group(id);
      GroupSummary gs;
      gs.producer_group = g.name;
      gs.pending = g.halves - g.parked;
      gs.parked = g.parked;
      const HalfMeta* oldest = index_.oldest(id);
      gs.oldest_age_ms = oldest != nullptr ? now_mono - oldest->received_mono : 0;
      gs.checks_histogram = g.histogram;
      s.groups.push_back(std::move(gs));
    };
    if (group_or_empty.empty()) {
      for (uint32_t id = 0; id < index_.group_count(); ++id) {
        if (index_.group(id).halves > 0) add(id);
      }
    } else if (auto id = index_.find_group(group_or_empty)) {
      add(*id);
    } else {
      GroupSummary gs;
      gs.producer_group = group_or_empty;
      gs.checks_histogram.assign(opt_.check_max + 1, 0);
      s.groups.push_back(std::move(gs));
    }
  }
  std::sort(s.groups.begin(), s.groups.end(),
            [](const GroupSummary& a, const GroupSummary& b) { return a.producer_group < b.producer_group; });
  for (GroupSummary& g : s.groups) {
    s.pending += g.pending;
    s.parked += g.parked;
    s.oldest_age_ms = std::max(s.oldest_age_ms, g.oldest_age_ms);
    for (size_t i = 0; i < s.checks_histogram.size() && i < g.checks_histogram.size(); ++i) {
      s.checks_histogram[i] += g.checks_histogram[i];
    }
    g.live_producers = static_cast<uint32_t>(sender_.live_producers(g.producer_group).size());
  }
  s.checks_sent = checks_sent_.load(std::memory_order_relaxed);
  s.committed = committed_.load(std::memory_order_relaxed);
  s.rolled_back = rolled_back_.load(std::memory_order_relaxed);
  return s;
}

size_t TxnService::half_count() const {
  std::lock_guard lock(mu_);
  return index_.size();
}

}  // namespace tidemq::broker::txn
