// mqperf txn without a broker: the deterministic decisions, the check ledger (expected,
// unexpected and duplicated checks), the RocketMQ flag spellings, txn flag validation, and the
// summary's txn keys and exit code.
#include <doctest/doctest.h>

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "perf/mqperf/options.h"
#include "perf/mqperf/report.h"
#include "perf/mqperf/txn_ledger.h"

namespace tidemq::perf {
namespace {

PerfOptions parse_txn(std::vector<std::string> args) {
  PerfOptions o;
  o.mode = Mode::kTxn;
  CLI::App app;
  add_flags(app, o, Mode::kTxn);
  args.insert(args.begin(), "mqperf");
  args = expand_rocketmq_flags(std::move(args));
  std::vector<const char*> argv;
  for (auto& a : args) argv.push_back(a.c_str());
  app.parse(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
  finalize_options(o);
  return o;
}

constexpr uint64_t kBaseId = 0x01a835114d407000;  // a snowflake id; consecutive ids below

TEST_CASE("decisions are a pure function of the id (and check number) and follow the rates") {
  const TxnRates rates{0.2, 0.1, 0.3, 0.25};
  int rollback = 0, unknown = 0, commit = 0, check_rollback = 0, check_unknown = 0, unstable = 0;
  const int n = 100'000;
  for (int i = 0; i < n; ++i) {
    const uint64_t id = kBaseId + static_cast<uint64_t>(i);
    const TxnAction a = send_decision(id, rates);
    unstable += a != send_decision(id, rates) || check_decision(id, 2, rates) != check_decision(id, 2, rates);
    rollback += a == TxnAction::kRollback;
    unknown += a == TxnAction::kUnknown;
    commit += a == TxnAction::kCommit;
    const TxnAction c = check_decision(id, 1, rates);
    check_rollback += c == TxnAction::kRollback;
    check_unknown += c == TxnAction::kUnknown;
  }
  CHECK(unstable == 0);  // any producer of the run answers the same
  CHECK(rollback == doctest::Approx(0.2 * n).epsilon(0.05));
  CHECK(unknown == doctest::Approx(0.1 * n).epsilon(0.05));
  CHECK(commit == doctest::Approx(0.7 * n).epsilon(0.05));
  CHECK(check_rollback == doctest::Approx(0.3 * n).epsilon(0.05));
  CHECK(check_unknown == doctest::Approx(0.25 * n).epsilon(0.05));
  // A check answered UNKNOWN is not answered UNKNOWN forever: the check number changes the draw.
  int still_unknown_after_5 = 0;
  for (int i = 0; i < 10'000; ++i) {
    bool all = true;
    for (uint32_t t = 1; t <= 5; ++t) all = all && check_decision(kBaseId + i, t, rates) == TxnAction::kUnknown;
    still_unknown_after_5 += all;
  }
  CHECK(still_unknown_after_5 < 30);  // 0.25^5 * 10,000 ~ 10
  // Edge rates.
  CHECK(send_decision(kBaseId, {0, 0, 0, 0}) == TxnAction::kCommit);
  CHECK(send_decision(kBaseId, {1, 0, 0, 0}) == TxnAction::kRollback);
  CHECK(send_decision(kBaseId, {0, 1, 0, 0}) == TxnAction::kUnknown);
  CHECK(txn_fraction(1, 2) >= 0.0);
  CHECK(txn_fraction(1, 2) < 1.0);
}

// An id whose send decision under `rates` is `want`.
uint64_t id_deciding(TxnAction want, const TxnRates& rates, uint64_t from = kBaseId) {
  for (uint64_t id = from;; ++id) {
    if (send_decision(id, rates) == want) return id;
  }
}

TEST_CASE("ledger: a check of an UNKNOWN transaction is expected; its answer resolves it") {
  const TxnRates rates{0, 0.5, 0, 0};  // checks answer COMMIT
  TxnLedger ledger(rates, 30'000);
  const uint64_t id = id_deciding(TxnAction::kUnknown, rates);
  ledger.opened(id);
  ledger.end_acknowledged(id, TxnState::kPending);
  CHECK(ledger.awaiting_checks() == 1);
  auto v = ledger.on_check(id, 1, 100'000);
  CHECK(!v.unexpected);
  CHECK(!v.duplicated);
  CHECK(v.answer == TxnAction::kCommit);
  CHECK(ledger.awaiting_checks() == 0);
  CHECK(ledger.checks() == 1);
  CHECK(ledger.unexpected_checks() == 0);
}

TEST_CASE("ledger: a check of a transaction whose COMMIT/ROLLBACK was acknowledged is unexpected") {
  const TxnRates rates{0.5, 0, 0, 0};
  TxnLedger ledger(rates, 30'000);
  const uint64_t committed = id_deciding(TxnAction::kCommit, rates);
  const uint64_t rolled_back = id_deciding(TxnAction::kRollback, rates);
  for (uint64_t id : {committed, rolled_back}) ledger.opened(id);
  ledger.end_acknowledged(committed, TxnState::kCommitted);
  ledger.end_acknowledged(rolled_back, TxnState::kRolledBack);
  CHECK(ledger.awaiting_checks() == 0);
  auto a = ledger.on_check(committed, 1, 10'000);
  CHECK(a.unexpected);
  CHECK(a.answer == TxnAction::kCommit);  // still answered as its local transaction decided
  auto b = ledger.on_check(rolled_back, 1, 10'000);
  CHECK(b.unexpected);
  CHECK(b.answer == TxnAction::kRollback);
  CHECK(ledger.unexpected_checks() == 2);
  // An id this run never sent (another run of the same group) is unexpected too.
  CHECK(ledger.on_check(12345, 1, 10'000).unexpected);
  CHECK(ledger.checks() == 3);
}

TEST_CASE("ledger: a lost end (or half, or an end still in flight) makes a check expected, answered with the local decision") {
  const TxnRates rates{0.5, 0, 1, 0};  // a check of an UNKNOWN one would answer ROLLBACK
  TxnLedger ledger(rates, 30'000);
  const uint64_t lost_commit = id_deciding(TxnAction::kCommit, rates);
  const uint64_t in_flight = id_deciding(TxnAction::kCommit, rates, lost_commit + 1);
  const uint64_t lost_half = id_deciding(TxnAction::kRollback, rates);
  ledger.opened(lost_commit);
  ledger.lost(lost_commit);
  ledger.lost(lost_half);  // SendHalf failed: never opened
  ledger.opened(in_flight);
  CHECK(ledger.awaiting_checks() == 2);
  auto a = ledger.on_check(lost_commit, 1, 1000);
  CHECK(!a.unexpected);
  CHECK(a.answer == TxnAction::kCommit);
  auto b = ledger.on_check(lost_half, 1, 1000);
  CHECK(!b.unexpected);
  CHECK(b.answer == TxnAction::kRollback);
  auto c = ledger.on_check(in_flight, 1, 1000);
  CHECK(!c.unexpected);
  // Its end arrives after the check resolved it: a re-check is still not unexpected.
  ledger.end_acknowledged(in_flight, TxnState::kCommitted);
  CHECK(!ledger.on_check(in_flight, 2, 40'000).unexpected);
  CHECK(ledger.awaiting_checks() == 0);
  CHECK(ledger.unexpected_checks() == 0);
}

TEST_CASE("ledger: two checks of one transaction within the check interval are duplicated") {
  const TxnRates rates{0, 1, 0, 1};  // every check answers UNKNOWN: the broker keeps asking
  TxnLedger ledger(rates, 30'000);
  CHECK(ledger.min_check_gap_ms() == 29'000);  // slack min(1 s, interval / 10)
  const uint64_t id = kBaseId;
  ledger.opened(id);
  ledger.end_acknowledged(id, TxnState::kPending);
  CHECK(!ledger.on_check(id, 1, 6'000).duplicated);
  CHECK(!ledger.on_check(id, 2, 36'000).duplicated);      // 30 s later: on schedule
  CHECK(ledger.on_check(id, 3, 40'000).duplicated);       // 4 s later: one too many
  CHECK(!ledger.on_check(id, 4, 69'500).duplicated);      // 29.5 s after the last: within the slack
  CHECK(ledger.duplicated_checks() == 1);
  CHECK(ledger.awaiting_checks() == 1);  // never resolved
  TxnLedger short_interval(rates, 500);
  CHECK(short_interval.min_check_gap_ms() == 450);
}

TEST_CASE("mqperf txn flags: RocketMQ's -sr -su -cr -cu, long names, validation") {
  PerfOptions o = parse_txn({"-sr", "0.1", "-su=0.2", "-cr", "0.3", "-cu", "0.05", "--check-interval-ms", "6000",
                             "--inflight", "16", "--group", "pg", "--check-wait", "40"});
  CHECK(o.send_rollback_rate == 0.1);
  CHECK(o.send_unknown_rate == 0.2);
  CHECK(o.check_rollback_rate == 0.3);
  CHECK(o.check_unknown_rate == 0.05);
  CHECK(o.check_interval_ms == 6000);
  CHECK(o.inflight == 16);
  CHECK(o.group == "pg");
  CHECK(o.check_wait_s == 40);
  CHECK(validate_options(o).is_ok());
  PerfOptions l = parse_txn({"--send-rollback-rate", "0.5", "--check-unknown-rate", "1"});
  CHECK(l.send_rollback_rate == 0.5);
  CHECK(l.check_unknown_rate == 1);
  CHECK(validate_options(l).is_ok());
  // Only whole words change; other arguments are left alone.
  CHECK(expand_rocketmq_flags({"mqperf", "txn", "-srx", "--topic", "-sr"}) ==
        std::vector<std::string>{"mqperf", "txn", "-srx", "--topic", "--send-rollback-rate"});

  auto invalid = [](PerfOptions p) { return validate_options(p).message(); };
  PerfOptions bad = parse_txn({});
  bad.send_rollback_rate = 1.5;
  CHECK(invalid(bad).find("--send-rollback-rate") != std::string::npos);
  bad = parse_txn({"-sr", "0.6", "-su", "0.6"});
  CHECK(invalid(bad).find("at most 1") != std::string::npos);
  bad = parse_txn({"-cr", "0.6", "-cu", "0.6"});
  CHECK(invalid(bad).find("--check-rollback-rate") != std::string::npos);
  bad = parse_txn({"--check-interval-ms", "0"});
  CHECK(invalid(bad).find("--check-interval-ms") != std::string::npos);
  bad = parse_txn({"--checker-threads", "0"});
  CHECK(invalid(bad).find("--checker-threads") != std::string::npos);
  CHECK_THROWS_AS(parse_txn({"--batch", "1"}), CLI::ParseError);  // every transaction is its own request
}

TEST_CASE("txn summary: JSON adds the three check counters; unexpected or duplicated checks fail the run") {
  Summary s;
  s.mode = "txn";
  s.messages = 700;
  s.requested = 700;
  s.seconds = 2.0;
  s.bytes = 700 * 1024;
  s.latency_us = {1000, 3000, 5000, 9000};
  s.txn = TxnSummary{1000, 700, 200, 100, 0, 100, 0, 0, 0};
  CHECK(summary_json(s) ==
        "{\"mode\":\"txn\",\"messages\":700,\"errors\":0,\"seconds\":2.000,\"msgs_per_sec\":350.0,"
        "\"mb_per_sec\":0.34,\"latency_us\":{\"p50\":1000,\"p99\":3000,\"p999\":5000,\"max\":9000},"
        "\"checks\":100,\"unexpected_checks\":0,\"duplicated_checks\":0}");
  CHECK(exit_code(s) == 0);
  const std::string text = summary_text(s);
  CHECK(text.find("txns       1,000 (commit 700, rollback 200, unknown 100; end lost 0)") != std::string::npos);
  CHECK(text.find("checks     100  unexpected 0  duplicated 0  still awaited 0") != std::string::npos);
  s.txn->unexpected_checks = 1;
  CHECK(exit_code(s) == 1);
  s.txn->unexpected_checks = 0;
  s.txn->duplicated_checks = 2;
  CHECK(exit_code(s) == 1);
  CHECK(progress_line("txn", 1, 350, 0.3, 1000, 3000, 0, checks_progress(5, 0, 1)) ==
        "[mqperf txn] 1s  350 msg/s  0.3 MB/s  p50 1.0ms  p99 3.0ms  errors 0  checks 5  unexpected 0  duplicated 1");
}

}  // namespace
}  // namespace tidemq::perf
