#include "perf/mqperf/options.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <string_view>
#include <utility>

namespace tidemq::perf {

std::string mode_name(Mode mode) {
  switch (mode) {
    case Mode::kProduce: return "produce";
    case Mode::kConsume: return "consume";
    case Mode::kE2e: return "e2e";
    case Mode::kTxn: return "txn";
  }
  return "unknown";
}

namespace {

// txn's four rates: flag, field, help (RocketMQ benchmark's -sr, -su, -cr, -cu).
struct RateFlag {
  const char* name;
  double PerfOptions::*field;
  const char* help;
};
constexpr RateFlag kTxnRateFlags[] = {
    {"--send-rollback-rate", &PerfOptions::send_rollback_rate,
     "Fraction of local transactions answering ROLLBACK (RocketMQ -sr)"},
    {"--send-unknown-rate", &PerfOptions::send_unknown_rate,
     "Fraction of local transactions answering UNKNOWN (RocketMQ -su)"},
    {"--check-rollback-rate", &PerfOptions::check_rollback_rate,
     "Fraction of check-backs answering ROLLBACK (RocketMQ -cr)"},
    {"--check-unknown-rate", &PerfOptions::check_unknown_rate,
     "Fraction of check-backs answering UNKNOWN (RocketMQ -cu)"},
};

}  // namespace

void add_flags(CLI::App& cmd, PerfOptions& o, Mode mode) {
  cmd.add_option("-b,--broker", o.broker, "Broker host:port (or $TIDEMQ_BROKER)")->capture_default_str();
  cmd.add_option("--topic", o.topic, "Topic")->capture_default_str();
  cmd.add_option("--count", o.count, "Total messages (default 1,000,000 unless --duration)");
  cmd.add_option("--duration", o.duration_s, "Stop after this many seconds");
  cmd.add_option("--request-timeout-ms", o.request_timeout_ms,
                 "A request, and a run that makes no progress, gives up after this")
      ->capture_default_str();
  cmd.add_option("--timeline", o.timeline, "Write one CSV row per second: second,produced,delivered,lag");
  cmd.add_flag("--json", o.json, "Print the summary as one JSON object on stdout");
  if (mode == Mode::kConsume || mode == Mode::kE2e) {
    cmd.add_option("--group", o.group, "Consume as members of this consumer group (one member per --consumers)");
  }
  if (mode == Mode::kTxn) {
    cmd.add_option("--group", o.group, "Producer group (default mqperf-txn-<pid>)");
  }
  const bool produces = mode == Mode::kProduce || mode == Mode::kE2e || mode == Mode::kTxn;
  if (produces) {
    cmd.add_option("--size", o.size, "Message body bytes")->capture_default_str();
    cmd.add_option("--producers", o.producers, "Producer connections (one thread each)")->capture_default_str();
    cmd.add_option("--inflight", o.inflight,
                   mode == Mode::kTxn ? "Concurrent transactions per producer"
                                      : "Unacknowledged produce requests per connection")
        ->capture_default_str();
    if (mode != Mode::kTxn) {
      cmd.add_option("--batch", o.batch, "Max batch bytes per partition; 0 or 1 = one message per request")
          ->capture_default_str();
      cmd.add_option("--linger-us", o.linger_us, "Batch linger in microseconds")->capture_default_str();
    }
    cmd.add_option("--rate", o.rate, "Messages per second over all producers; 0 = as fast as possible")
        ->capture_default_str();
    cmd.add_option("--partitions", o.partitions, "Create the topic with this many partitions if it is missing")
        ->capture_default_str();
  }
  if (mode == Mode::kConsume || mode == Mode::kE2e) {
    cmd.add_option("--consumers", o.consumers, "Reader connections (one thread each)")->capture_default_str();
  }
  if (mode == Mode::kTxn) {
    for (const auto& f : kTxnRateFlags) cmd.add_option(f.name, o.*f.field, f.help)->capture_default_str();
    cmd.add_option("--check-interval-ms", o.check_interval_ms,
                   "The broker's check interval: two checks of one transaction closer than this are duplicated")
        ->capture_default_str();
    cmd.add_option("--check-wait", o.check_wait_s,
                   "After the last transaction, keep answering checks until none is awaited, at most this many seconds")
        ->capture_default_str();
    cmd.add_option("--checker-threads", o.checker_threads, "Checker threads per producer")->capture_default_str();
  }
}

std::vector<std::string> expand_rocketmq_flags(std::vector<std::string> args) {
  static const std::pair<std::string_view, std::string_view> kWords[] = {
      {"-sr", "--send-rollback-rate"},
      {"-su", "--send-unknown-rate"},
      {"-cr", "--check-rollback-rate"},
      {"-cu", "--check-unknown-rate"},
  };
  for (auto& a : args) {
    for (const auto& [word, long_name] : kWords) {
      if (a == word) {
        a = long_name;
      } else if (a.size() > word.size() && a.compare(0, word.size(), word) == 0 && a[word.size()] == '=') {
        a = std::string(long_name) + a.substr(word.size());
      }
    }
  }
  return args;
}

void finalize_options(PerfOptions& o) {
  if (o.count == 0 && o.duration_s <= 0) o.count = kDefaultCount;
}

namespace {

bool valid_topic_name(const std::string& name) {
  if (name.empty() || name.size() > 127) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '%' || c == '-';
  });
}

}  // namespace

Status validate_options(const PerfOptions& o) {
  if (!o.group.empty() && o.mode == Mode::kProduce) {
    return Status::invalid_argument("--group is for consume and e2e (produce has no consumer group)");
  }
  if (!o.group.empty() && !valid_topic_name(o.group)) {
    return Status::invalid_argument("--group must match [A-Za-z0-9_.%-]{1,127}, got '" + o.group + "'");
  }
  if (o.broker.empty() || o.broker.find(':') == std::string::npos) {
    return Status::invalid_argument("--broker must be host:port, got '" + o.broker + "'");
  }
  if (!valid_topic_name(o.topic)) {
    return Status::invalid_argument("--topic must match [A-Za-z0-9_.%-]{1,127}, got '" + o.topic + "'");
  }
  if (o.count == 0 && !(o.duration_s > 0)) return Status::invalid_argument("give --count or --duration");
  if (o.duration_s < 0 || !std::isfinite(o.duration_s)) return Status::invalid_argument("--duration must be >= 0");
  if (o.request_timeout_ms <= 0) return Status::invalid_argument("--request-timeout-ms must be > 0");
  const bool produces = o.mode == Mode::kProduce || o.mode == Mode::kE2e || o.mode == Mode::kTxn;
  const bool consumes = o.mode == Mode::kConsume || o.mode == Mode::kE2e;
  if (produces) {
    if (o.size > kMaxMessageBytes) return Status::invalid_argument("--size must be at most 4 MiB");
    if (o.mode == Mode::kE2e && o.size < 8) {
      return Status::invalid_argument("--size must be at least 8 for e2e (the body carries the send time)");
    }
    if (o.producers == 0 || o.producers > 1024) return Status::invalid_argument("--producers must be 1..1024");
    if (o.inflight == 0) return Status::invalid_argument("--inflight must be >= 1");
    if (o.linger_us < 0) return Status::invalid_argument("--linger-us must be >= 0");
    if (o.rate < 0 || !std::isfinite(o.rate)) return Status::invalid_argument("--rate must be >= 0");
    if (o.partitions == 0 || o.partitions > 1024) return Status::invalid_argument("--partitions must be 1..1024");
  }
  if (consumes && (o.consumers == 0 || o.consumers > 1024)) {
    return Status::invalid_argument("--consumers must be 1..1024");
  }
  if (o.mode == Mode::kTxn) {
    for (const auto& f : kTxnRateFlags) {
      const double v = o.*f.field;
      if (!std::isfinite(v) || v < 0 || v > 1) return Status::invalid_argument(std::string(f.name) + " must be in 0..1");
    }
    if (o.send_rollback_rate + o.send_unknown_rate > 1) {
      return Status::invalid_argument("--send-rollback-rate + --send-unknown-rate must be at most 1");
    }
    if (o.check_rollback_rate + o.check_unknown_rate > 1) {
      return Status::invalid_argument("--check-rollback-rate + --check-unknown-rate must be at most 1");
    }
    if (o.check_interval_ms <= 0) return Status::invalid_argument("--check-interval-ms must be > 0");
    if (o.check_wait_s < 0 || !std::isfinite(o.check_wait_s)) return Status::invalid_argument("--check-wait must be >= 0");
    if (o.checker_threads == 0 || o.checker_threads > 256) {
      return Status::invalid_argument("--checker-threads must be 1..256");
    }
  }
  return Status::ok();
}

ClientOptions client_options(const PerfOptions& o, const std::string& client_id) {
  ClientOptions c;
  c.broker = o.broker;
  c.client_id = client_id;
  c.request_timeout = std::chrono::milliseconds(o.request_timeout_ms);
  c.connect_timeout = std::chrono::milliseconds(std::min<int64_t>(o.request_timeout_ms, 3000));
  return c;
}

ProducerOptions producer_options(const PerfOptions& o) {
  ProducerOptions p;
  p.client = client_options(o, "");
  p.max_inflight_requests = o.inflight;
  if (o.batch <= 1) {
    // One message per request: any message is over the batch limit, and nothing waits.
    p.max_batch_bytes = 1;
    p.linger = std::chrono::microseconds(0);
  } else {
    p.max_batch_bytes = static_cast<size_t>(o.batch);
    p.linger = std::chrono::microseconds(o.linger_us);
  }
  // A message not acknowledged within the request timeout counts as failed: when the broker goes
  // away the run ends after about one timeout instead of retrying for the library default (30 s).
  p.delivery_timeout = std::chrono::milliseconds(o.request_timeout_ms);
  return p;
}

uint64_t split_count(uint64_t total, uint32_t workers, uint32_t index) {
  if (workers == 0) return 0;
  return total / workers + (index < total % workers ? 1 : 0);
}

std::vector<uint32_t> partitions_for_reader(uint32_t partitions, uint32_t readers, uint32_t index) {
  std::vector<uint32_t> out;
  if (readers == 0) return out;
  for (uint32_t p = index; p < partitions; p += readers) out.push_back(p);
  return out;
}

}  // namespace tidemq::perf
