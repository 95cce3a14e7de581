// Broker config: flags and config files; unknown keys and wrong types are errors naming the key.
#include <doctest/doctest.h>

#include <fstream>
#include <vector>

#include "broker/config.h"
#include "tests/support/temp_dir.h"

using namespace tidemq;
using namespace tidemq::broker;

namespace {
Result<ParsedConfig> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "mqbroker");
  std::vector<const char*> argv;
  for (auto& a : args) argv.push_back(a.c_str());
  return parse_config(static_cast<int>(argv.size()), argv.data());
}

std::string write_file(const test::TempDir& dir, const std::string& text) {
  std::string path = dir.str() + "/broker.toml";
  std::ofstream(path) << text;
  return path;
}
}  // namespace

TEST_CASE("defaults match the spec") {
  auto c = parse({});
  REQUIRE(c.is_ok());
  CHECK(c->config.data_dir == "./data");
  CHECK(c->config.listen == "127.0.0.1:7911");
  CHECK(c->config.flush == FlushMode::kSync);
  CHECK(c->config.max_frame_bytes == 16u << 20);
  CHECK(c->config.max_message_bytes == 4u << 20);
  CHECK_FALSE(c->config.auto_create_topics);
}

TEST_CASE("flags set fields") {
  auto c = parse({"--data", "/tmp/x", "--listen", "0.0.0.0:0", "--flush", "async", "--auto-create-topics"});
  REQUIRE_MESSAGE(c.is_ok(), c.status().to_string());
  CHECK(c->config.data_dir == "/tmp/x");
  CHECK(c->config.listen_port() == 0);
  CHECK(c->config.flush == FlushMode::kAsync);
  CHECK(c->config.auto_create_topics);
}

TEST_CASE("bad flags and values are rejected with the offending name") {
  auto unknown = parse({"--flsh", "sync"});
  REQUIRE_FALSE(unknown.is_ok());
  CHECK(unknown.status().message().find("--flsh") != std::string::npos);

  auto bad_mode = parse({"--flush", "sometimes"});
  REQUIRE_FALSE(bad_mode.is_ok());
  CHECK(bad_mode.status().message().find("flush") != std::string::npos);

  auto bad_type = parse({"--max-connections", "many"});
  REQUIRE_FALSE(bad_type.is_ok());
  CHECK(bad_type.status().message().find("max-connections") != std::string::npos);

  auto bad_listen = parse({"--listen", "nohostport"});
  REQUIRE_FALSE(bad_listen.is_ok());
  CHECK(bad_listen.status().message().find("listen") != std::string::npos);
}

TEST_CASE("a config file is read, and an unknown key in it stops start-up") {
  test::TempDir dir;
  auto good = parse({"--config", write_file(dir, "data = \"/srv/tidemq\"\nflush = \"async\"\nmax-connections = 7\n")});
  REQUIRE_MESSAGE(good.is_ok(), good.status().to_string());
  CHECK(good->config.data_dir == "/srv/tidemq");
  CHECK(good->config.flush == FlushMode::kAsync);
  CHECK(good->config.max_connections == 7);

  auto misspelled = parse({"--config", write_file(dir, "transactionTimeOut = 5\n")});
  REQUIRE_FALSE(misspelled.is_ok());
  CHECK(misspelled.status().message().find("transactionTimeOut") != std::string::npos);

  auto wrong_type = parse({"--config", write_file(dir, "max-connections = \"lots\"\n")});
  REQUIRE_FALSE(wrong_type.is_ok());
  CHECK(wrong_type.status().message().find("max-connections") != std::string::npos);
}

TEST_CASE("back-pressure and disk low-water mark flags: defaults, values, file keys, validation") {
  auto d = parse({});
  REQUIRE(d.is_ok());
  CHECK(d->config.max_pending_bytes == 256u << 20);
  CHECK(d->config.busy_timeout_ms == 5000);
  CHECK(d->config.min_free_disk_bytes == 512ull << 20);
  CHECK(d->config.disk_check_ms == 1000);

  auto c = parse({"--max-pending-bytes", "1048576", "--busy-timeout-ms", "200", "--min-free-disk-bytes",
                  "10737418240", "--disk-check-ms", "250"});
  REQUIRE_MESSAGE(c.is_ok(), c.status().to_string());
  CHECK(c->config.max_pending_bytes == 1u << 20);
  CHECK(c->config.busy_timeout_ms == 200);
  CHECK(c->config.min_free_disk_bytes == 10ull << 30);  // above 4 GiB: a 64-bit value
  CHECK(c->config.disk_check_ms == 250);

  auto off = parse({"--min-free-disk-bytes", "0"});  // 0 disables the mark
  REQUIRE_MESSAGE(off.is_ok(), off.status().to_string());
  CHECK(off->config.min_free_disk_bytes == 0);

  test::TempDir dir;
  auto file = parse({"--config", write_file(dir, "min-free-disk-bytes = 1024\nbusy-timeout-ms = 50\n")});
  REQUIRE_MESSAGE(file.is_ok(), file.status().to_string());
  CHECK(file->config.min_free_disk_bytes == 1024);
  CHECK(file->config.busy_timeout_ms == 50);

  auto bad_type = parse({"--min-free-disk-bytes", "lots"});
  REQUIRE_FALSE(bad_type.is_ok());
  CHECK(bad_type.status().message().find("min-free-disk-bytes") != std::string::npos);
  auto negative = parse({"--min-free-disk-bytes", "-1"});
  REQUIRE_FALSE(negative.is_ok());
  CHECK(negative.status().message().find("min-free-disk-bytes") != std::string::npos);
  auto zero_busy = parse({"--busy-timeout-ms", "0"});
  REQUIRE_FALSE(zero_busy.is_ok());
  CHECK(zero_busy.status().message().find("busy-timeout-ms") != std::string::npos);
  auto zero_pending = parse({"--max-pending-bytes", "0"});
  REQUIRE_FALSE(zero_pending.is_ok());
  CHECK(zero_pending.status().message().find("max-pending-bytes") != std::string::npos);
  auto zero_check = parse({"--disk-check-ms", "0"});
  REQUIRE_FALSE(zero_check.is_ok());
  CHECK(zero_check.status().message().find("disk-check-ms") != std::string::npos);
}

TEST_CASE("table write pace flags: defaults, values, file keys, validation") {
  auto d = parse({});
  REQUIRE(d.is_ok());
  CHECK(d->config.table_write_pace == 2.0);
  CHECK(d->config.table_write_floor_bytes == 16u << 20);

  auto c = parse({"--table-write-pace", "1.5", "--table-write-floor-bytes", "8388608"});
  REQUIRE_MESSAGE(c.is_ok(), c.status().to_string());
  CHECK(c->config.table_write_pace == 1.5);
  CHECK(c->config.table_write_floor_bytes == 8u << 20);
  auto off = parse({"--table-write-pace", "0"});  // 0 = unpaced
  REQUIRE_MESSAGE(off.is_ok(), off.status().to_string());
  CHECK(off->config.table_write_pace == 0.0);

  test::TempDir dir;
  auto file = parse({"--config", write_file(dir, "table-write-pace = 3.0\ntable-write-floor-bytes = 1048576\n")});
  REQUIRE_MESSAGE(file.is_ok(), file.status().to_string());
  CHECK(file->config.table_write_pace == 3.0);
  CHECK(file->config.table_write_floor_bytes == 1u << 20);

  for (const char* bad : {"-1", "fast", "1e9"}) {
    auto r = parse({"--table-write-pace", bad});
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().message().find("table-write-pace") != std::string::npos);
  }
  auto zero_floor = parse({"--table-write-floor-bytes", "0"});
  REQUIRE_FALSE(zero_floor.is_ok());
  CHECK(zero_floor.status().message().find("table-write-floor-bytes") != std::string::npos);
}

TEST_CASE("--ingest-pace-files: default 6, 0 turns pacing off, past LevelDB's stop trigger is refused") {
  auto d = parse({});
  REQUIRE(d.is_ok());
  CHECK(d->config.ingest_pace_files == 6);
  auto off = parse({"--ingest-pace-files", "0"});
  REQUIRE_MESSAGE(off.is_ok(), off.status().to_string());
  CHECK(off->config.ingest_pace_files == 0);
  auto eight = parse({"--ingest-pace-files", "8"});
  REQUIRE_MESSAGE(eight.is_ok(), eight.status().to_string());
  CHECK(eight->config.ingest_pace_files == 8);
  for (const char* bad : {"-1", "12", "many"}) {
    auto r = parse({"--ingest-pace-files", bad});
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().message().find("ingest-pace-files") != std::string::npos);
  }
}

TEST_CASE("--round-latency-target-ms: default 8, 0 turns latency pacing off, negative is refused") {
  auto d = parse({});
  REQUIRE(d.is_ok());
  CHECK(d->config.round_latency_target_ms == 8);
  auto off = parse({"--round-latency-target-ms", "0"});
  REQUIRE_MESSAGE(off.is_ok(), off.status().to_string());
  CHECK(off->config.round_latency_target_ms == 0);
  for (const char* bad : {"-1", "soon"}) {
    auto r = parse({"--round-latency-target-ms", bad});
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().message().find("round-latency-target-ms") != std::string::npos);
  }
}
