#include <doctest/doctest.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "common/histogram.h"
#include "perf/mqperf/latency.h"
#include "perf/mqperf/monitor.h"
#include "perf/mqperf/options.h"
#include "perf/mqperf/report.h"
#include "perf/mqperf/stats.h"
#include "tests/support/temp_dir.h"

namespace tidemq::perf {
namespace {

PerfOptions parse(Mode mode, std::vector<std::string> args) {
  PerfOptions o;
  o.mode = mode;
  CLI::App app;
  add_flags(app, o, mode);
  std::vector<const char*> argv{"mqperf"};
  for (auto& a : args) argv.push_back(a.c_str());
  app.parse(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
  finalize_options(o);
  return o;
}

TEST_CASE("flags parse into PerfOptions and defaults are filled") {
  PerfOptions o = parse(Mode::kProduce, {"--topic", "bench", "--size", "100", "--producers", "4", "--inflight",
                                         "1000", "--batch", "0", "--rate", "20000", "--json"});
  CHECK(o.topic == "bench");
  CHECK(o.size == 100);
  CHECK(o.producers == 4);
  CHECK(o.inflight == 1000);
  CHECK(o.batch == 0);
  CHECK(o.rate == 20000);
  CHECK(o.json);
  CHECK(o.count == kDefaultCount);  // neither --count nor --duration
  CHECK(validate_options(o).is_ok());

  PerfOptions d = parse(Mode::kConsume, {"--duration", "5"});
  CHECK(d.count == 0);
  CHECK(d.duration_s == 5);
  CHECK(validate_options(d).is_ok());

  // Producer-only flags are not accepted by consume.
  CHECK_THROWS_AS(parse(Mode::kConsume, {"--size", "10"}), CLI::ParseError);
}

TEST_CASE("validate_options names the bad flag") {
  auto invalid = [](PerfOptions o) {
    Status st = validate_options(o);
    CHECK(st.code() == StatusCode::kInvalidArgument);
    return st.message();
  };
  PerfOptions ok;
  ok.count = 10;
  REQUIRE(validate_options(ok).is_ok());

  PerfOptions o = ok;
  o.producers = 0;
  CHECK(invalid(o).find("--producers") != std::string::npos);
  o = ok;
  o.inflight = 0;
  CHECK(invalid(o).find("--inflight") != std::string::npos);
  o = ok;
  o.topic = "bad topic";
  CHECK(invalid(o).find("--topic") != std::string::npos);
  o = ok;
  o.size = kMaxMessageBytes + 1;
  CHECK(invalid(o).find("--size") != std::string::npos);
  o = ok;
  o.mode = Mode::kE2e;
  o.size = 4;
  CHECK(invalid(o).find("--size") != std::string::npos);
  o = ok;
  o.rate = -1;
  CHECK(invalid(o).find("--rate") != std::string::npos);
  o = ok;
  o.partitions = 2000;
  CHECK(invalid(o).find("--partitions") != std::string::npos);
  o = ok;
  o.count = 0;
  o.duration_s = 0;
  CHECK(invalid(o).find("--count") != std::string::npos);
  o = ok;
  o.broker = "localhost";
  CHECK(invalid(o).find("--broker") != std::string::npos);
  o = ok;
  o.request_timeout_ms = 0;
  CHECK(invalid(o).find("--request-timeout-ms") != std::string::npos);
  o = ok;
  o.mode = Mode::kConsume;
  o.consumers = 0;
  CHECK(invalid(o).find("--consumers") != std::string::npos);

  o = ok;
  o.group = "g1";  // ok.mode is produce: a producer has no group
  CHECK(invalid(o).find("--group") != std::string::npos);
  o.mode = Mode::kConsume;
  CHECK(validate_options(o).is_ok());
  o.mode = Mode::kE2e;
  CHECK(validate_options(o).is_ok());
  o.group = "bad group";
  CHECK(invalid(o).find("--group") != std::string::npos);
}

TEST_CASE("--group is a flag of consume and e2e only") {
  PerfOptions c = parse(Mode::kConsume, {"--group", "billing", "--consumers", "3"});
  CHECK(c.group == "billing");
  CHECK(c.consumers == 3);
  CHECK(validate_options(c).is_ok());
  PerfOptions e = parse(Mode::kE2e, {"--group", "billing", "--rate", "2000"});
  CHECK(e.group == "billing");
  CHECK(e.rate == 2000);
  CHECK_THROWS_AS(parse(Mode::kProduce, {"--group", "billing"}), CLI::ParseError);
}

TEST_CASE("producer_options maps --batch, --linger-us, --inflight and the timeout") {
  PerfOptions o;
  o.batch = 65536;
  o.linger_us = 500;
  o.inflight = 8;
  o.request_timeout_ms = 1500;
  ProducerOptions p = producer_options(o);
  CHECK(p.max_batch_bytes == 65536);
  CHECK(p.linger == std::chrono::microseconds(500));
  CHECK(p.max_inflight_requests == 8);
  CHECK(p.client.request_timeout == std::chrono::milliseconds(1500));
  CHECK(p.delivery_timeout == std::chrono::milliseconds(1500));

  for (uint64_t one_per_request : {0, 1}) {
    o.batch = one_per_request;
    p = producer_options(o);
    CHECK(p.max_batch_bytes == 1);
    CHECK(p.linger == std::chrono::microseconds(0));
  }
}

TEST_CASE("split_count and partitions_for_reader cover everything exactly once") {
  uint64_t total = 0;
  for (uint32_t i = 0; i < 4; ++i) total += split_count(1'000'003, 4, i);
  CHECK(total == 1'000'003);
  CHECK(split_count(10, 4, 0) == 3);
  CHECK(split_count(10, 4, 3) == 2);
  CHECK(split_count(0, 4, 0) == 0);

  std::vector<int> seen(10, 0);
  for (uint32_t r = 0; r < 3; ++r) {
    for (uint32_t p : partitions_for_reader(10, 3, r)) ++seen[p];
  }
  for (int s : seen) CHECK(s == 1);
  CHECK(partitions_for_reader(2, 4, 3).empty());
}

TEST_CASE("summary JSON has exactly the SPEC keys") {
  Summary s;
  s.mode = "produce";
  s.messages = 1'000'000;
  s.errors = 0;
  s.requested = 1'000'000;
  s.seconds = 8.0;
  s.bytes = 1'000'000ULL * 1024;
  s.latency_us = {850, 2100, 4000, 12000};
  CHECK(summary_json(s) ==
        "{\"mode\":\"produce\",\"messages\":1000000,\"errors\":0,\"seconds\":8.000,\"msgs_per_sec\":125000.0,"
        "\"mb_per_sec\":122.07,\"latency_us\":{\"p50\":850,\"p99\":2100,\"p999\":4000,\"max\":12000}}");
  CHECK(exit_code(s) == 0);

  Summary empty;
  empty.mode = "consume";
  CHECK(summary_json(empty) ==
        "{\"mode\":\"consume\",\"messages\":0,\"errors\":0,\"seconds\":0.000,\"msgs_per_sec\":0.0,"
        "\"mb_per_sec\":0.00,\"latency_us\":{\"p50\":0,\"p99\":0,\"p999\":0,\"max\":0}}");
}

TEST_CASE("exit_code is 0 only when everything requested got through without error") {
  Summary s;
  s.requested = 100;
  s.messages = 100;
  CHECK(exit_code(s) == 0);
  s.messages = 99;  // broker died: only acknowledged messages count
  CHECK(exit_code(s) == 1);
  s.messages = 100;
  s.errors = 1;
  CHECK(exit_code(s) == 1);
  s.errors = 0;
  s.stalled = true;
  CHECK(exit_code(s) == 1);
  Summary by_duration;  // no target
  by_duration.messages = 5;
  CHECK(exit_code(by_duration) == 0);
}

TEST_CASE("progress line, timeline row and number formatting") {
  CHECK(progress_line("produce", 3, 123456, 120.56, 850, 2100, 0) ==
        "[mqperf produce] 3s  123,456 msg/s  120.6 MB/s  p50 850us  p99 2.1ms  errors 0");
  CHECK(format_thousands(0) == "0");
  CHECK(format_thousands(999) == "999");
  CHECK(format_thousands(1000) == "1,000");
  CHECK(format_thousands(1234567) == "1,234,567");
  CHECK(format_latency_us(999) == "999us");
  CHECK(format_latency_us(1000) == "1.0ms");
  CHECK(format_latency_us(1'500'000) == "1.50s");
  CHECK(timeline_header() == "second,produced,delivered,lag");
  CHECK(timeline_row(2, 100, std::nullopt, std::nullopt) == "2,100,,");
  CHECK(timeline_row(3, 10, 9, 1) == "3,10,9,1");
  CHECK(timeline_start_line("consume", 1700000000123) == "[mqperf consume] timeline starts at unix_ms 1700000000123");
}

TEST_CASE("LatencyRecorder agrees with common Histogram, and windows subtract") {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(7.0, 1.0);  // ~1 ms median, long tail
  LatencyRecorder rec;
  Histogram ref;
  for (int i = 0; i < 100'000; ++i) {
    const auto v = static_cast<uint64_t>(dist(rng));
    rec.record(v);
    ref.record(v);
  }
  LatencySnapshot first = rec.snapshot();
  CHECK(first.count() == ref.count());
  CHECK(first.max() == ref.max());
  for (double q : {0.0, 0.5, 0.9, 0.99, 0.999, 1.0}) CHECK(first.percentile(q) == ref.percentile(q));

  for (int i = 0; i < 1000; ++i) rec.record(5);
  LatencySnapshot window = rec.snapshot().since(first);
  CHECK(window.count() == 1000);
  CHECK(window.percentile(0.5) == 5);
  CHECK(window.percentile(0.99) == 5);

  LatencySnapshot merged;
  merged.merge(first);
  merged.merge(window);
  CHECK(merged.count() == 101'000);
}

TEST_CASE("StatsSet sums workers and keeps the first error") {
  StatsSet stats(3);
  stats.worker(0).done += 5;
  stats.worker(2).done += 7;
  stats.worker(1).errors += 1;
  stats.worker(1).bytes += 100;
  CHECK(stats.done() == 12);
  CHECK(stats.errors() == 1);
  CHECK(stats.bytes() == 100);
  stats.note_error(Status::timeout("first"));
  stats.note_error(Status::unavailable("second"));
  CHECK(stats.first_error() == "TIMEOUT: first");
}

TEST_CASE("e2e send time round-trips through the body") {
  std::string body(16, 'x');
  encode_send_time(body, 1'234'567'890'123);
  CHECK(decode_send_time(body) == 1'234'567'890'123);
  CHECK(body.substr(8) == "xxxxxxxx");
  CHECK(decode_send_time("short") == -1);
}

std::vector<std::string> file_lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST_CASE("Monitor: a run shorter than a second still gets its (partial) timeline row") {
  test::TempDir dir;
  const std::string path = (dir.path() / "t.csv").string();
  StatsSet producers(1);
  StatsSet consumers(1);
  Monitor monitor({"e2e", path, false}, &producers, &consumers,
                  [](uint64_t produced, uint64_t delivered) -> std::optional<uint64_t> { return produced - delivered; });
  REQUIRE(monitor.start().is_ok());
  producers.worker(0).done += 300;
  consumers.worker(0).done += 280;
  monitor.stop();  // well before the first full second
  const auto lines = file_lines(path);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "second,produced,delivered,lag");
  CHECK(lines[1] == "1,300,280,20");
}

TEST_CASE("Monitor: no partial row when nothing moved since the last one; stop is idempotent") {
  test::TempDir dir;
  const std::string path = (dir.path() / "t.csv").string();
  StatsSet consumers(1);
  Monitor monitor({"consume", path, false}, nullptr, &consumers);
  REQUIRE(monitor.start().is_ok());
  monitor.stop();
  monitor.stop();
  CHECK(file_lines(path) == std::vector<std::string>{"second,produced,delivered,lag"});
}

}  // namespace
}  // namespace tidemq::perf
