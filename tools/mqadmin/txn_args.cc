#include "tools/mqadmin/txn_args.h"

#include <charconv>

namespace tidemq::tools {

Result<uint64_t> parse_txn_id(const std::string& text) {
  const bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
  const char* first = text.data() + (hex ? 2 : 0);
  const char* last = text.data() + text.size();
  uint64_t id = 0;
  // from_chars accepts neither a sign nor a second prefix, so "-1", "+1" and "0x0x1" fail here.
  const auto [end, ec] = std::from_chars(first, last, id, hex ? 16 : 10);
  const bool ok = first != last && ec == std::errc() && end == last;
  if (!ok) {
    return Status::invalid_argument(
        "transaction id must be a decimal number or 0x followed by hex digits (u64), got '" + text + "'");
  }
  if (id == 0) return Status::invalid_argument("transaction id 0 is not a transaction");
  return id;
}

Result<TxnAction> end_half_action(bool commit, bool rollback) {
  if (commit == rollback) {
    return Status::invalid_argument(commit ? "endHalfMsg takes --commit or --rollback, not both"
                                           : "endHalfMsg needs --commit or --rollback");
  }
  return commit ? TxnAction::kCommit : TxnAction::kRollback;
}

Status check_end_outcome(const HalfInfo& half, TxnAction asked) {
  const TxnState wanted = asked == TxnAction::kCommit ? TxnState::kCommitted : TxnState::kRolledBack;
  if (half.state == wanted) return Status::ok();
  const std::string id = std::to_string(half.txn_id);
  if (half.state == TxnState::kCommitted || half.state == TxnState::kRolledBack) {
    return Status::invalid_argument("transaction " + id + " was already " + txn_state_name(half.state) +
                                    "; --" + txn_action_name(asked) + " changed nothing (the first outcome wins)");
  }
  return Status::internal("transaction " + id + " is still " + txn_state_name(half.state) + " after --" +
                          txn_action_name(asked));
}

}  // namespace tidemq::tools
