#include "tests/reliability/txn_audit.h"

#include <fmt/format.h>

#include <string_view>
#include <unordered_map>

#include "broker/store/key_layout.h"
#include "broker/txn/half_record.h"

namespace tidemq::rel {

namespace keys = broker::keys;
using broker::txn::OutcomeRecord;
using broker::txn::TxnState;

Result<std::unique_ptr<broker::BrokerCore>> open_store(const std::string& data_dir, const Clock& clock) {
  broker::BrokerConfig config;
  config.data_dir = data_dir;
  return broker::BrokerCore::open(std::move(config), clock);
}

Result<TxnKeys> count_txn_keys(broker::BrokerCore& core) {
  TxnKeys k;
  k.halves = core.txn->half_count();
  for (const auto& s : core.txn->half_log_segments()) {
    ++k.half_segments;
    k.half_log_live += s.live;
  }
  // The transaction keyspaces are adjacent (half, outcome, outcome expiry): outcomes are all read
  // before the first expiry key.
  const std::string end = keys::keyspace_end(keys::Keyspace::kTxnOutcomeExpiry);
  std::unordered_map<uint64_t, int64_t> unmatched;  // outcome txn id -> its resolution time
  auto it = core.db->iterator(/*fill_cache=*/false);
  for (it->Seek(keys::keyspace_begin(keys::Keyspace::kHalf)); it->Valid() && it->key().compare(end) < 0; it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    switch (static_cast<keys::Keyspace>(key[0])) {
      case keys::Keyspace::kHalf:
        ++k.legacy_halves;
        break;
      case keys::Keyspace::kTxnOutcome: {
        const auto txn_id = keys::parse_txn_outcome(key);
        if (!txn_id) return Status::storage(fmt::format("a malformed outcome key of {} bytes", key.size()));
        auto rec = OutcomeRecord::decode(*txn_id, std::string_view(it->value().data(), it->value().size()));
        if (!rec.is_ok()) return rec.status();
        if (rec->state == TxnState::kCommitted) {
          ++k.committed;
        } else if (rec->state == TxnState::kRolledBack) {
          ++k.rolled_back;
        } else {
          ++k.other_outcomes;
        }
        unmatched.emplace(*txn_id, rec->resolved_unix_ms);
        break;
      }
      case keys::Keyspace::kTxnOutcomeExpiry: {
        ++k.expiry_keys;
        const auto e = keys::parse_txn_outcome_expiry(key);
        auto o = e ? unmatched.find(e->txn_id) : unmatched.end();
        if (o != unmatched.end() && static_cast<uint64_t>(o->second) == e->resolved_unix_ms) {
          unmatched.erase(o);
        } else {
          ++k.unpaired;  // malformed, or no outcome of that txn id resolved at that time
        }
        break;
      }
      default:
        return Status::storage(fmt::format("key byte {:#04x} inside the transaction keyspaces",
                                           static_cast<unsigned>(static_cast<uint8_t>(key[0]))));
    }
  }
  if (Status st = broker::Db::from_leveldb(it->status()); !st.is_ok()) return st;
  k.unpaired += unmatched.size();  // outcomes without their expiry key
  return k;
}

Result<uint32_t> run_rounds(broker::BrokerCore& core, uint32_t max_rounds) {
  TIDEMQ_ASSIGN_OR_RETURN(TxnKeys last, count_txn_keys(core));
  uint32_t changed = 0;
  for (uint32_t i = 0; i < max_rounds; ++i) {
    core.txn->run_checks();  // what the broker's check job runs: expiry, checks, half log compaction
    core.txn->drain();       // and everything that round started
    TIDEMQ_ASSIGN_OR_RETURN(TxnKeys now, count_txn_keys(core));
    if (now.outcomes() == last.outcomes() && now.expiry_keys == last.expiry_keys &&
        now.half_segments == last.half_segments && now.halves == last.halves) {
      break;
    }
    ++changed;
    last = now;
  }
  return changed;
}

std::vector<std::string> problems_before(const TxnKeys& k, const std::optional<ExpectedOutcomes>& expected) {
  std::vector<std::string> out;
  if (k.halves > 0) out.push_back(fmt::format("{} transactions still pending or parked", k.halves));
  if (k.half_log_live != k.halves) {
    out.push_back(fmt::format("the half log counts {} live records for {} open transactions", k.half_log_live,
                              k.halves));
  }
  if (k.legacy_halves > 0) out.push_back(fmt::format("{} half keys in LevelDB", k.legacy_halves));
  if (k.other_outcomes > 0) {
    out.push_back(fmt::format("{} outcomes neither committed nor rolled back", k.other_outcomes));
  }
  if (k.unpaired > 0) out.push_back(fmt::format("{} outcomes or expiry keys without their pair", k.unpaired));
  if (expected && (k.committed != expected->committed || k.rolled_back != expected->rolled_back)) {
    out.push_back(fmt::format("the histories saw {} committed and {} rolled back decided, the store holds {} and {}",
                              expected->committed, expected->rolled_back, k.committed, k.rolled_back));
  }
  return out;
}

std::vector<std::string> problems_after(const TxnKeys& k) {
  std::vector<std::string> out;
  if (k.halves > 0 || k.half_log_live > 0) {
    out.push_back(fmt::format("{} transactions ({} live half records) left", k.halves, k.half_log_live));
  }
  if (k.half_segments > 0) out.push_back(fmt::format("{} half log segments left", k.half_segments));
  if (k.legacy_halves > 0) out.push_back(fmt::format("{} half keys left", k.legacy_halves));
  if (k.outcomes() > 0) out.push_back(fmt::format("{} outcomes left", k.outcomes()));
  if (k.expiry_keys > 0) out.push_back(fmt::format("{} expiry keys left", k.expiry_keys));
  return out;
}

std::string describe(const TxnKeys& k) {
  std::string s = fmt::format("{} halves, {} outcomes", k.halves, k.outcomes());
  if (k.outcomes() > 0) s += fmt::format(" ({} committed, {} rolled back)", k.committed, k.rolled_back);
  s += fmt::format(", {} expiry keys", k.expiry_keys);
  if (k.half_segments > 0) {
    s += fmt::format(", {} half log segment{}", k.half_segments, k.half_segments == 1 ? "" : "s");
  }
  if (k.legacy_halves > 0) s += fmt::format(", {} half keys", k.legacy_halves);
  if (k.other_outcomes > 0) s += fmt::format(", {} outcomes of another state", k.other_outcomes);
  if (k.unpaired > 0) s += fmt::format(", {} unpaired", k.unpaired);
  return s;
}

}  // namespace tidemq::rel
