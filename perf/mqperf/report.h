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

struct Summary {
  std::string mode;        // produce | consume | e2e
  uint64_t messages = 0;   // acknowledged sends (produce) or received messages (consume, e2e)
  uint64_t errors = 0;     // failed sends / fetches
  uint64_t requested = 0;  // the target; 0 when the run was bounded by --duration only
  double seconds = 0;
  uint64_t bytes = 0;      // body bytes of the counted messages
  LatencyStats latency_us;
  std::string first_error;  // the first failure's reason, for the human summary
  bool stalled = false;     // stopped because nothing progressed for the request timeout
  bool interrupted = false;  // SIGINT/SIGTERM
};

double msgs_per_sec(const Summary& s);
// Body bytes per second in MB = 2^20 bytes (1 KiB messages at 1,024 msg/s are 1.0 MB/s).
double mb_per_sec(const Summary& s);

// Exactly the SPEC §9 object on one line:
// {"mode","messages","errors","seconds","msgs_per_sec","mb_per_sec","latency_us":{"p50","p99","p999","max"}}
std::string summary_json(const Summary& s);
std::string summary_text(const Summary& s);

// 0 when every requested message got through with no error (with no target: no error and no
// stall), 1 otherwise.
int exit_code(const Summary& s);

// "[mqperf produce] 3s  123,456 msg/s  120.6 MB/s  p50 850us  p99 2.1ms  errors 0"
std::string progress_line(const std::string& mode, uint64_t second, double msgs_per_sec, double mb_per_sec,
                          uint64_t p50_us, uint64_t p99_us, uint64_t errors);

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
