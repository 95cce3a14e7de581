// Names of the transaction enums (tidemq/txn_types.h).
#include "tidemq/txn_types.h"

namespace tidemq {

std::string txn_action_name(TxnAction action) {
  switch (action) {
    case TxnAction::kCommit: return "commit";
    case TxnAction::kRollback: return "rollback";
    case TxnAction::kUnknown: return "unknown";
  }
  return "invalid";
}

Result<TxnAction> parse_txn_action(const std::string& name) {
  for (TxnAction a : {TxnAction::kCommit, TxnAction::kRollback, TxnAction::kUnknown}) {
    if (txn_action_name(a) == name) return a;
  }
  return Status::invalid_argument("unknown transaction action '" + name + "' (commit, rollback, unknown)");
}

std::string txn_state_name(TxnState state) {
  switch (state) {
    case TxnState::kPending: return "pending";
    case TxnState::kParked: return "parked";
    case TxnState::kCommitted: return "committed";
    case TxnState::kRolledBack: return "rolled_back";
  }
  return "invalid";
}

Result<TxnState> parse_txn_state(const std::string& name) {
  for (TxnState s : {TxnState::kPending, TxnState::kParked, TxnState::kCommitted, TxnState::kRolledBack}) {
    if (txn_state_name(s) == name) return s;
  }
  return Status::invalid_argument("unknown transaction state '" + name +
                                  "' (pending, parked, committed, rolled_back)");
}

}  // namespace tidemq
