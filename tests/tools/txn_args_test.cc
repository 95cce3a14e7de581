// The transaction commands' argument logic: transaction ids, --commit/--rollback, and the check
// of the outcome the broker recorded.
#include "tools/mqadmin/txn_args.h"

#include <doctest/doctest.h>

namespace tidemq::tools {
namespace {

TEST_CASE("parse_txn_id: decimal u64 or 0x-hex; nothing else, not 0, not past 2^64-1") {
  struct Ok {
    const char* text;
    uint64_t id;
  };
  constexpr uint64_t kMax = 18446744073709551615ULL;
  for (const Ok& c : {Ok{"1", 1}, Ok{"7165309844413440001", 7165309844413440001ULL}, Ok{"007", 7},
                      Ok{"18446744073709551615", kMax}, Ok{"0x63704b570ddf6001", 7165309844413440001ULL},
                      Ok{"0X1F", 31}, Ok{"0xFFFFFFFFFFFFFFFF", kMax}, Ok{"0x000000000000000001", 1}}) {
    auto got = parse_txn_id(c.text);
    INFO(c.text);
    REQUIRE(got.is_ok());
    CHECK(*got == c.id);
  }
  for (const char* bad : {"", "0x", "x1", "-1", "+1", " 1", "1 ", "12a", "0x0x1", "0xg", "1e3", "1.0",
                          "18446744073709551616", "0x10000000000000000", "6370c0a1b2c3d401"}) {
    auto got = parse_txn_id(bad);
    INFO(bad);
    REQUIRE(!got.is_ok());
    CHECK(got.status().code() == StatusCode::kInvalidArgument);
    CHECK(got.status().message() ==
          "transaction id must be a decimal number or 0x followed by hex digits (u64), got '" + std::string(bad) + "'");
  }
  for (const char* zero : {"0", "0x0", "000"}) {
    INFO(zero);
    CHECK(parse_txn_id(zero).status().message() == "transaction id 0 is not a transaction");
  }
}

TEST_CASE("end_half_action: exactly one of --commit and --rollback") {
  CHECK(*end_half_action(true, false) == TxnAction::kCommit);
  CHECK(*end_half_action(false, true) == TxnAction::kRollback);
  auto none = end_half_action(false, false);
  REQUIRE(!none.is_ok());
  CHECK(none.status().code() == StatusCode::kInvalidArgument);
  CHECK(none.status().message() == "endHalfMsg needs --commit or --rollback");
  auto both = end_half_action(true, true);
  REQUIRE(!both.is_ok());
  CHECK(both.status().message() == "endHalfMsg takes --commit or --rollback, not both");
}

TEST_CASE("check_end_outcome: ok when recorded as asked; the first outcome wins otherwise") {
  HalfInfo h;
  h.txn_id = 42;
  h.state = TxnState::kCommitted;
  CHECK(check_end_outcome(h, TxnAction::kCommit).is_ok());
  Status lost = check_end_outcome(h, TxnAction::kRollback);
  CHECK(lost.code() == StatusCode::kInvalidArgument);
  CHECK(lost.message() == "transaction 42 was already committed; --rollback changed nothing (the first outcome wins)");
  h.state = TxnState::kRolledBack;
  CHECK(check_end_outcome(h, TxnAction::kRollback).is_ok());
  CHECK(check_end_outcome(h, TxnAction::kCommit).message() ==
        "transaction 42 was already rolled_back; --commit changed nothing (the first outcome wins)");
  for (TxnState unresolved : {TxnState::kPending, TxnState::kParked}) {
    h.state = unresolved;
    Status st = check_end_outcome(h, TxnAction::kCommit);
    CHECK(st.code() == StatusCode::kInternal);
    CHECK(st.message() == "transaction 42 is still " + txn_state_name(unresolved) + " after --commit");
  }
}

}  // namespace
}  // namespace tidemq::tools
