#pragma once
// The transaction commands' arguments (queryHalfMsg, resumeCheckHalfMsg, endHalfMsg): transaction
// ids, endHalfMsg's --commit/--rollback, and whether the broker recorded the outcome asked for.
// Pure, unit-tested.
#include <cstdint>
#include <string>

#include "common/status.h"
#include "tidemq/admin.h"
#include "tidemq/txn_types.h"

namespace tidemq::tools {

// A transaction id as the tools print it: decimal ("7165309844413440001"), or hex with a 0x prefix
// ("0x63704b570ddf6001"). InvalidArgument for anything else (signs, spaces, an empty number), for
// a value past 2^64-1, and for 0 (never a transaction id).
Result<uint64_t> parse_txn_id(const std::string& text);

// endHalfMsg's flags: exactly one of --commit and --rollback. InvalidArgument naming both flags
// when none or both are given.
Result<TxnAction> end_half_action(bool commit, bool rollback);

// After endHalfMsg: ok when the broker's recorded outcome is the one asked for (also when it
// was already so). Otherwise a one-line reason: the transaction was resolved the other way first
// (the first outcome wins, nothing was changed) or is still unresolved.
Status check_end_outcome(const HalfInfo& half, TxnAction asked);

}  // namespace tidemq::tools
