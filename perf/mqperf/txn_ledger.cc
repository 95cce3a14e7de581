#include "perf/mqperf/txn_ledger.h"

#include <algorithm>

namespace tidemq::perf {

namespace {

constexpr uint64_t kSendSalt = 0x73656e64;  // "send"
constexpr uint64_t kCheckSalt = 0x636865636b;  // "check"

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

TxnAction decide(double u, double rollback, double unknown) {
  if (u < rollback) return TxnAction::kRollback;
  if (u < rollback + unknown) return TxnAction::kUnknown;
  return TxnAction::kCommit;
}

}  // namespace

double txn_fraction(uint64_t txn_id, uint64_t salt) {
  // 53 high bits -> [0, 1) exactly representable.
  return static_cast<double>(splitmix64(txn_id ^ splitmix64(salt)) >> 11) * 0x1.0p-53;
}

TxnAction send_decision(uint64_t txn_id, const TxnRates& rates) {
  return decide(txn_fraction(txn_id, kSendSalt), rates.send_rollback, rates.send_unknown);
}

TxnAction check_decision(uint64_t txn_id, uint32_t check_times, const TxnRates& rates) {
  return decide(txn_fraction(txn_id, kCheckSalt + check_times), rates.check_rollback, rates.check_unknown);
}

TxnLedger::TxnLedger(TxnRates rates, int64_t check_interval_ms)
    : rates_(rates), min_gap_ms_(check_interval_ms - std::min<int64_t>(1000, check_interval_ms / 10)) {}

void TxnLedger::set_phase(Entry& e, Phase phase) {
  if (e.phase == Phase::kAwaitingCheck && phase != Phase::kAwaitingCheck) awaiting_.fetch_sub(1, std::memory_order_relaxed);
  if (e.phase != Phase::kAwaitingCheck && phase == Phase::kAwaitingCheck) awaiting_.fetch_add(1, std::memory_order_relaxed);
  e.phase = phase;
}

void TxnLedger::opened(uint64_t txn_id) {
  Shard& s = shard(txn_id);
  std::lock_guard lock(s.mu);
  s.open.try_emplace(txn_id);
}

void TxnLedger::end_acknowledged(uint64_t txn_id, TxnState state) {
  Shard& s = shard(txn_id);
  std::lock_guard lock(s.mu);
  auto it = s.open.find(txn_id);
  if (state == TxnState::kCommitted || state == TxnState::kRolledBack) {
    if (it == s.open.end()) return;
    if (it->second.last_check_ms >= 0) {
      set_phase(it->second, Phase::kResolvedByCheck);  // keep it: a later check is not unexpected
    } else {
      set_phase(it->second, Phase::kEnding);
      s.open.erase(it);
    }
    return;
  }
  if (it == s.open.end()) it = s.open.try_emplace(txn_id).first;
  if (it->second.phase == Phase::kEnding) set_phase(it->second, Phase::kAwaitingCheck);
}

void TxnLedger::lost(uint64_t txn_id) {
  Shard& s = shard(txn_id);
  std::lock_guard lock(s.mu);
  Entry& e = s.open[txn_id];
  if (e.phase == Phase::kEnding) set_phase(e, Phase::kAwaitingCheck);
}

TxnLedger::Verdict TxnLedger::on_check(uint64_t txn_id, uint32_t check_times, int64_t now_ms) {
  checks_.fetch_add(1, std::memory_order_relaxed);
  Verdict v;
  const TxnAction at_send = send_decision(txn_id, rates_);
  v.answer = at_send != TxnAction::kUnknown ? at_send : check_decision(txn_id, check_times, rates_);
  Shard& s = shard(txn_id);
  std::lock_guard lock(s.mu);
  auto it = s.open.find(txn_id);
  if (it == s.open.end()) {
    v.unexpected = true;
    unexpected_.fetch_add(1, std::memory_order_relaxed);
    return v;
  }
  Entry& e = it->second;
  if (e.last_check_ms >= 0 && now_ms - e.last_check_ms < min_gap_ms_) {
    v.duplicated = true;
    duplicated_.fetch_add(1, std::memory_order_relaxed);
  }
  e.last_check_ms = now_ms;
  if (v.answer != TxnAction::kUnknown) set_phase(e, Phase::kResolvedByCheck);
  return v;
}

}  // namespace tidemq::perf
