#include "perf/mqperf/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace tidemq::perf {
namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) v = 0;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace

LatencyStats latency_stats(const LatencySnapshot& s) {
  return {s.percentile(0.50), s.percentile(0.99), s.percentile(0.999), s.max()};
}

double msgs_per_sec(const Summary& s) {
  return s.seconds > 0 ? static_cast<double>(s.messages) / s.seconds : 0.0;
}

double mb_per_sec(const Summary& s) {
  return s.seconds > 0 ? static_cast<double>(s.bytes) / s.seconds / (1024.0 * 1024.0) : 0.0;
}

std::string summary_json(const Summary& s) {
  std::string out = "{";
  out += "\"mode\":" + json_string(s.mode);
  out += ",\"messages\":" + std::to_string(s.messages);
  out += ",\"errors\":" + std::to_string(s.errors);
  out += ",\"seconds\":" + fixed(s.seconds, 3);
  out += ",\"msgs_per_sec\":" + fixed(msgs_per_sec(s), 1);
  out += ",\"mb_per_sec\":" + fixed(mb_per_sec(s), 2);
  out += ",\"latency_us\":{";
  out += "\"p50\":" + std::to_string(s.latency_us.p50);
  out += ",\"p99\":" + std::to_string(s.latency_us.p99);
  out += ",\"p999\":" + std::to_string(s.latency_us.p999);
  out += ",\"max\":" + std::to_string(s.latency_us.max);
  out += "}";
  if (s.txn) {
    out += ",\"checks\":" + std::to_string(s.txn->checks);
    out += ",\"unexpected_checks\":" + std::to_string(s.txn->unexpected_checks);
    out += ",\"duplicated_checks\":" + std::to_string(s.txn->duplicated_checks);
  }
  out += "}";
  return out;
}

std::string summary_text(const Summary& s) {
  std::string out;
  out += "mode       " + s.mode + "\n";
  out += "messages   " + format_thousands(s.messages);
  if (s.requested > 0) out += " of " + format_thousands(s.requested);
  out += "\n";
  out += "errors     " + format_thousands(s.errors);
  if (!s.first_error.empty()) out += " (first: " + s.first_error + ")";
  out += "\n";
  out += "seconds    " + fixed(s.seconds, 3) + "\n";
  out += "rate       " + format_thousands(static_cast<uint64_t>(std::llround(msgs_per_sec(s)))) + " msg/s  " +
         fixed(mb_per_sec(s), 1) + " MB/s\n";
  out += "latency    p50 " + format_latency_us(s.latency_us.p50) + "  p99 " + format_latency_us(s.latency_us.p99) +
         "  p999 " + format_latency_us(s.latency_us.p999) + "  max " + format_latency_us(s.latency_us.max) + "\n";
  if (const auto& t = s.txn) {
    out += "txns       " + format_thousands(t->transactions) + " (commit " + format_thousands(t->commits) +
           ", rollback " + format_thousands(t->rollbacks) + ", unknown " + format_thousands(t->unknowns) +
           "; end lost " + format_thousands(t->ends_lost) + ")\n";
    out += "checks     " + format_thousands(t->checks) + "  unexpected " + format_thousands(t->unexpected_checks) +
           "  duplicated " + format_thousands(t->duplicated_checks) + "  still awaited " +
           format_thousands(t->awaiting_checks) + "\n";
  }
  if (s.stalled) out += "stopped    no progress within the request timeout\n";
  if (s.interrupted) out += "stopped    interrupted\n";
  return out;
}

int exit_code(const Summary& s) {
  if (s.errors > 0 || s.stalled || s.interrupted) return 1;
  if (s.txn && (s.txn->unexpected_checks > 0 || s.txn->duplicated_checks > 0)) return 1;
  if (s.requested > 0 && s.messages != s.requested) return 1;
  return 0;
}

std::string progress_line(const std::string& mode, uint64_t second, double rate, double mbps, uint64_t p50_us,
                          uint64_t p99_us, uint64_t errors, const std::string& extra) {
  return "[mqperf " + mode + "] " + std::to_string(second) + "s  " +
         format_thousands(static_cast<uint64_t>(std::llround(std::max(rate, 0.0)))) + " msg/s  " + fixed(mbps, 1) +
         " MB/s  p50 " + format_latency_us(p50_us) + "  p99 " + format_latency_us(p99_us) + "  errors " +
         format_thousands(errors) + extra;
}

std::string checks_progress(uint64_t checks, uint64_t unexpected, uint64_t duplicated) {
  return "  checks " + format_thousands(checks) + "  unexpected " + format_thousands(unexpected) + "  duplicated " +
         format_thousands(duplicated);
}

std::string timeline_header() { return "second,produced,delivered,lag"; }

std::string timeline_row(uint64_t second, std::optional<uint64_t> produced, std::optional<uint64_t> delivered,
                         std::optional<uint64_t> lag) {
  auto field = [](std::optional<uint64_t> v) { return v ? std::to_string(*v) : std::string(); };
  return std::to_string(second) + "," + field(produced) + "," + field(delivered) + "," + field(lag);
}

std::string timeline_start_line(const std::string& mode, int64_t unix_ms) {
  return "[mqperf " + mode + "] timeline starts at unix_ms " + std::to_string(unix_ms);
}

std::string format_thousands(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  const size_t len = digits.size();
  for (size_t i = 0; i < len; ++i) {
    if (i > 0 && (len - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string format_latency_us(uint64_t us) {
  if (us < 1000) return std::to_string(us) + "us";
  if (us < 1'000'000) return fixed(static_cast<double>(us) / 1000.0, 1) + "ms";
  return fixed(static_cast<double>(us) / 1e6, 2) + "s";
}

}  // namespace tidemq::perf
