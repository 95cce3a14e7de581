// rel_txn_audit: T6's audit of a stopped broker's transaction state (tests/reliability/README.md).
//
//   rel_txn_audit --data DIR [--expect COMMITTED ROLLED_BACK] [--canary-no-expiry]
//
// On DIR, through the broker's own code (txn_audit.h): opens it as mqbroker does and counts the
// transactions left open (half log), the outcome records and their expiry keys — none open, each
// outcome paired with its one expiry key, and (--expect, from check.py --decided-out) as many
// committed and rolled-back outcomes as the histories saw decided. Then moves its ManualClock past
// the outcome retention (default 24 h, + 1 h) and runs the broker's scheduler rounds
// (TxnService::run_checks: outcome expiry, half log compaction) until one changes nothing,
// closes, opens DIR again and checks that nothing is left: no half record, no half log segment,
// no outcome, no expiry key. Prints one line ("audit: ...") and exits 0 when all of it holds, 1
// when not (the line names what), 2 when DIR holds no store or does not open.
//
// --canary-no-expiry: the clock stays where it is (the rounds still run, and expire nothing):
// the audit must then fail on any store that held an outcome.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "broker/config.h"
#include "common/clock.h"
#include "common/logging.h"
#include "tests/reliability/txn_audit.h"

namespace {

constexpr int64_t kPastRetentionMs = 3'600'000;  // how far past the retention the clock goes

int cannot(const std::string& what, const tidemq::Status& st) {
  fmt::print("audit: {}: {}\n", what, st.to_string());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tidemq;
  CLI::App app{"rel_txn_audit: T6's audit of a stopped broker's transaction state"};
  std::string data;
  std::vector<uint64_t> expect;
  bool canary = false;
  app.add_option("--data", data, "the stopped broker's data dir")->required();
  app.add_option("--expect", expect, "committed and rolled-back outcomes the histories saw decided")->expected(2);
  app.add_flag("--canary-no-expiry", canary, "leave the clock at now: the audit must fail");
  CLI11_PARSE(app, argc, argv);
  (void)logging::init("warn");

  std::optional<rel::ExpectedOutcomes> expected;
  if (expect.size() == 2) expected = rel::ExpectedOutcomes{expect[0], expect[1]};
  ManualClock clock(Clock::system().now_ms());

  if (!std::filesystem::exists(std::filesystem::path(data) / "CURRENT")) {  // opening would create a store
    return cannot(data, Status::not_found("no LevelDB store there (no CURRENT file)"));
  }
  auto core = rel::open_store(data, clock);
  if (!core.is_ok()) return cannot("opening " + data, core.status());
  auto before = rel::count_txn_keys(**core);
  if (!before.is_ok()) return cannot("counting", before.status());
  std::vector<std::string> problems = rel::problems_before(*before, expected);
  const int64_t travel = canary ? 0 : broker::BrokerConfig{}.outcome_retention_ms + kPastRetentionMs;
  clock.advance_ms(travel);
  auto rounds = rel::run_rounds(**core);
  if (!rounds.is_ok()) return cannot("expiring", rounds.status());
  core->reset();  // stops the service and the store, closes LevelDB

  auto again = rel::open_store(data, clock);
  if (!again.is_ok()) return cannot("opening " + data + " again", again.status());
  auto after = rel::count_txn_keys(**again);
  if (!after.is_ok()) return cannot("counting again", after.status());
  again->reset();
  for (std::string& p : rel::problems_after(*after)) problems.push_back(std::move(p));

  std::string line = fmt::format("audit: {}", rel::describe(*before));
  if (expected) line += fmt::format(" (the histories: {} + {})", expected->committed, expected->rolled_back);
  line += fmt::format("; after the broker's rounds at +{} h ({} changed something) and a reopen: {}",
                      travel / 3'600'000, *rounds, rel::describe(*after));
  if (!problems.empty()) {
    line += ": AUDIT FAILED:";
    for (size_t i = 0; i < problems.size(); ++i) line += (i ? "; " : " ") + problems[i];
  }
  fmt::print("{}{}\n", canary ? "canary " : "", line);
  return problems.empty() ? 0 : 1;
}
