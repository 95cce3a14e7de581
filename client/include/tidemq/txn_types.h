#pragma once
// Transaction vocabulary shared by the transactional producer and Admin (SPEC §6): what a
// producer, its checker or an operator decides about a transaction, and where a transaction
// stands on the broker. Plain enums and their names; no I/O.
#include <string>

#include "common/status.h"

namespace tidemq {

// A decision about a transaction (SendInTransaction's local transaction, a TransactionChecker,
// Admin::end_half). The first kCommit or kRollback the broker records wins and is final;
// kUnknown changes nothing (the broker checks back later).
enum class TxnAction {
  kCommit,
  kRollback,
  kUnknown,
};

// Where a transaction stands on the broker.
enum class TxnState {
  kPending,     // half-message stored, invisible, checked back when due
  kParked,      // checks exhausted (check_max or 72 h): kept, never delivered, resumable
  kCommitted,   // appended to its topic (outcome remembered >= 24 h)
  kRolledBack,  // dropped (outcome remembered >= 24 h)
};

// "commit", "rollback", "unknown".
std::string txn_action_name(TxnAction action);
// The inverse of txn_action_name; InvalidArgument for anything else.
Result<TxnAction> parse_txn_action(const std::string& name);

// "pending", "parked", "committed", "rolled_back".
std::string txn_state_name(TxnState state);
// The inverse of txn_state_name; InvalidArgument for anything else.
Result<TxnState> parse_txn_state(const std::string& name);

}  // namespace tidemq
