#include "broker/txn/txn_types.h"

namespace tidemq::broker::txn {

std::string_view action_name(Action a) {
  switch (a) {
    case Action::kCommit: return "COMMIT";
    case Action::kRollback: return "ROLLBACK";
    case Action::kUnknown: return "UNKNOWN";
  }
  return "?";
}

std::string_view source_name(Source s) {
  switch (s) {
    case Source::kProducer: return "producer";
    case Source::kCheck: return "check";
    case Source::kOperator: return "operator";
  }
  return "?";
}

std::string_view state_name(TxnState s) {
  switch (s) {
    case TxnState::kPending: return "PENDING";
    case TxnState::kParked: return "PARKED";
    case TxnState::kCommitted: return "COMMITTED";
    case TxnState::kRolledBack: return "ROLLED_BACK";
  }
  return "?";
}

}  // namespace tidemq::broker::txn
