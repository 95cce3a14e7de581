#pragma once
// T6's audit of a stopped broker's transaction state (rel_txn_audit, tests/reliability/README.md):
// what its data dir holds of transactions, counted through the broker's own code (BrokerCore
// opens it as mqbroker does; TxnService loads the half log), and the broker's own outcome expiry
// run on a ManualClock set past the retention.
//
// Threads: one caller at a time per core; every function blocks.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/broker_core.h"
#include "common/clock.h"
#include "common/status.h"

namespace tidemq::rel {

// Transaction state in a store.
struct TxnKeys {
  uint64_t halves = 0;          // pending + parked transactions TxnService loaded from the half log
  uint64_t half_log_live = 0;   // live records over the half log's segments (must equal halves)
  uint64_t half_segments = 0;   // the half log's segment files
  uint64_t legacy_halves = 0;   // kHalf keys (the layout before the half log; open() moves them)
  uint64_t committed = 0;       // kTxnOutcome records, by state
  uint64_t rolled_back = 0;
  uint64_t other_outcomes = 0;  // an outcome record in neither state
  uint64_t expiry_keys = 0;     // kTxnOutcomeExpiry keys
  // Outcomes without an expiry key of their txn id and resolution time, plus expiry keys without
  // such an outcome (each outcome pairs with exactly one key).
  uint64_t unpaired = 0;
  uint64_t outcomes() const { return committed + rolled_back + other_outcomes; }
};

// The outcomes the producers' histories say the broker must hold (check.py --decided-out).
struct ExpectedOutcomes {
  uint64_t committed = 0;
  uint64_t rolled_back = 0;
};

// Opens `data_dir` as mqbroker does (BrokerCore::open with default settings on `clock`; no
// listener, no timers, no io threads). Errors: whatever BrokerCore::open reports (a damaged or
// missing store). The core's destructor stops and closes everything.
Result<std::unique_ptr<broker::BrokerCore>> open_store(const std::string& data_dir, const Clock& clock);

// Counts the core's transaction state. StorageError for an outcome record that does not decode
// or a failed scan.
Result<TxnKeys> count_txn_keys(broker::BrokerCore& core);

// The broker's scheduler rounds (TxnService::run_checks, each followed by drain()) until one
// changes nothing (open transactions, outcomes, expiry keys, half log segments), at most
// `max_rounds`.
// The caller sets the clock first. Returns the rounds that changed something.
Result<uint32_t> run_rounds(broker::BrokerCore& core, uint32_t max_rounds = 1000);

// What is wrong with the state before expiry: halves left (every transaction must be resolved),
// half log live counts that disagree with the index, legacy half keys, outcomes in neither
// final state or unpaired, and counts other than `expected` (when given). Empty: nothing.
std::vector<std::string> problems_before(const TxnKeys& k, const std::optional<ExpectedOutcomes>& expected);
// What is left after expiry: anything at all (halves, half log segments, outcomes, expiry keys).
std::vector<std::string> problems_after(const TxnKeys& k);

// "<n> halves, <n> outcomes (<c> committed, <r> rolled back), <n> expiry keys" (plus the rest
// when not 0), for the result line.
std::string describe(const TxnKeys& k);

}  // namespace tidemq::rel
