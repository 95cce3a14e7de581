#pragma once
// What mqperf prints: the progress line (stderr, once per second), the timeline CSV row, and the
// final summary (human text, or the SPEC §9 JSON object). Pure functions, unit-tested.
#include <cstdint>
#include <optional>
#include <string>

#include "perf/mqperf/latency.h"

namespace tidemq::perf {

struct LatencyStats {
  uint64_t p50 = 0;
  uint64_t p99 = 0;
  uint64_t p999 = 0;
  uint64_t max = 0;
};

LatencyStats latency_stats(const LatencySnapshot& snapshot);

// txn: what happened to the transactions and their check-backs.
struct TxnSummary {
  uint64_t transactions = 0;  // half-messages stored
  uint64_t commits = 0;       // local transactions that answered COMMIT / ROLLBACK / UNKNOWN
  uint64_t rollbacks = 0;
  uint64_t unknowns = 0;
  uint64_t ends_lost = 0;     // EndTransaction not acknowledged (the check-back resolves them)
  uint64_t checks = 0;        // check-backs answered
  uint64_t unexpected_checks = 0;  // of transactions whose COMMIT/ROLLBACK was acknowledged
  uint64_t duplicated_checks = 0;  // a second check of one transaction within the check interval
  uint64_t awaiting_checks = 0;    // transactions still waiting for a check at the end
};

struct Summary {
  std::string mode;        // produce | consume | e2e | txn
  // acknowledged sends (produce), received messages (consume, e2e), or committed transactions
  // whose COMMIT was acknowledged (txn)
  uint64_t messages = 0;
  uint64_t errors = 0;     // failed sends / fetches
  uint64_t requested = 0;  // the target; 0 when the run was bounded by --duration only
  double seconds = 0;
  uint64_t bytes = 0;      // body bytes of the counted messages
  LatencyStats latency_us;
  std::string first_error;  // the first failure's reason, for the human summary
  bool stalled = false;     // stopped because nothing progressed for the request timeout
  bool interrupted = false;  // SIGINT/SIGTERM
  std::optional<TxnSummary> txn;  // txn mode only
};

double msgs_per_sec(const Summary& s);
// Body bytes per second in MB = 2^20 bytes (1 KiB messages at 1,024 msg/s are 1.0 MB/s).
double mb_per_sec(const Summary& s);

// Exactly the SPEC §9 object on one line:
// {"mode","messages","errors","seconds","msgs_per_sec","mb_per_sec","latency_us":{"p50","p99","p999","max"}}
// txn adds "checks","unexpected_checks","duplicated_checks" at the end.
std::string summary_json(const Summary& s);
std::string summary_text(const Summary& s);

// 0 when every requested message got through with no error (with no target: no error and no
// stall) and, for txn, no unexpected or duplicated check; 1 otherwise.
int exit_code(const Summary& s);

// "[mqperf produce] 3s  123,456 msg/s  120.6 MB/s  p50 850us  p99 2.1ms  errors 0" + `extra`
std::string progress_line(const std::string& mode, uint64_t second, double msgs_per_sec, double mb_per_sec,
                          uint64_t p50_us, uint64_t p99_us, uint64_t errors, const std::string& extra = "");
// txn's addition to the progress line: "  checks 12  unexpected 0  duplicated 0"
std::string checks_progress(uint64_t checks, uint64_t unexpected, uint64_t duplicated);

// "second,produced,delivered,lag" rows; an absent value is an empty field.
std::string timeline_header();
std::string timeline_row(uint64_t second, std::optional<uint64_t> produced, std::optional<uint64_t> delivered,
                         std::optional<uint64_t> lag);

// "[mqperf consume] timeline starts at unix_ms 1700000000123": printed on stderr when a timeline
// starts, so the timelines of several processes can be put on one time axis.
std::string timeline_start_line(const std::string& mode, int64_t unix_ms);

// 1234567 -> "1,234,567"
std::string format_thousands(uint64_t n);
// 850 -> "850us", 2100 -> "2.1ms", 1500000 -> "1.50s"
std::string format_latency_us(uint64_t us);

}  // namespace tidemq::perf
