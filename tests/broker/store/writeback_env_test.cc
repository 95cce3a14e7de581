// WritebackEnv: table files written through it (with writeback every few KiB) read back byte for
// byte, other files pass through, log bytes and live logs are counted, the level-0 probe is asked
// only while pacing, removed files (cut down in steps first) are gone, and a LevelDB opened with it
// (the Db default) keeps its data across a reopen.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include <leveldb/env.h>
#include <leveldb/write_batch.h>

#include "broker/store/db.h"
#include "broker/store/writeback_env.h"
#include "tests/support/temp_dir.h"

using namespace tidemq;
using namespace tidemq::broker;

namespace {

std::string write_through(leveldb::Env& env, const std::string& path, size_t total) {
  leveldb::WritableFile* raw = nullptr;
  REQUIRE(env.NewWritableFile(path, &raw).ok());
  std::unique_ptr<leveldb::WritableFile> f(raw);
  std::string written;
  for (size_t i = 0; written.size() < total; ++i) {
    std::string chunk(1 + (i * 7919) % 3000, static_cast<char>('a' + i % 26));
    REQUIRE(f->Append(chunk).ok());
    written += chunk;
  }
  REQUIRE(f->Sync().ok());
  REQUIRE(f->Close().ok());
  return written;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("table files written with writeback every 4 KiB read back unchanged; other files pass through") {
  test::TempDir dir;
  WritebackEnv env(leveldb::Env::Default(), 4096);
  std::string table = dir.str() + "/000007.ldb";
  const std::string table_bytes = write_through(env, table, 300'000);
  CHECK(table_bytes.size() >= 300'000);
  CHECK((table_bytes == read_file(table)));  // (( )): no dump of 300 KB on failure
  std::string log = dir.str() + "/000008.log";
  const std::string log_bytes = write_through(env, log, 50'000);
  CHECK((log_bytes == read_file(log)));
}

TEST_CASE("log appends feed the ingest estimate; created and removed logs are tracked") {
  test::TempDir dir;
  WritebackEnv env(leveldb::Env::Default(), 4096);
  CHECK(env.ingest_rate() == 0.0);
  CHECK(env.live_logs() == 0);
  const std::string log = dir.str() + "/000003.log";
  write_through(env, log, 200'000);
  CHECK(env.ingest_rate() > 0.0);
  CHECK(env.live_logs() == 1);
  write_through(env, dir.str() + "/000009.ldb", 50'000);  // table bytes are not ingest
  write_through(env, dir.str() + "/MANIFEST-000002", 1000);
  CHECK(env.live_logs() == 1);
  REQUIRE(env.RemoveFile(dir.str() + "/MANIFEST-000002").ok());
  REQUIRE(env.RemoveFile(log).ok());
  CHECK(env.live_logs() == 0);
}

TEST_CASE("table steps ask the level-0 probe only between start_pacing and stop_pacing") {
  test::TempDir dir;
  WritebackEnv env(leveldb::Env::Default(), 4096);
  int probes = 0;
  write_through(env, dir.str() + "/000010.ldb", 100'000);
  CHECK(probes == 0);
  // A level-0 count at LevelDB's slowdown trigger: the pace never waits, so nothing sleeps here.
  env.start_pacing([&probes] {
    ++probes;
    return 8;
  });
  write_through(env, dir.str() + "/000011.ldb", 100'000);
  // Once per step (4 KiB plus at most one 3,000-byte append) and once for the tail before Sync.
  CHECK(probes >= 100'000 / (4096 + 3000));
  const int seen = probes;
  env.stop_pacing();
  write_through(env, dir.str() + "/000012.ldb", 100'000);
  CHECK(probes == seen);
}

TEST_CASE("RemoveFile removes large and small files (large ones are cut down in steps first)") {
  test::TempDir dir;
  WritebackEnv env(leveldb::Env::Default(), 4096);
  const std::string big = dir.str() + "/000020.log";
  const std::string small = dir.str() + "/000021.ldb";
  write_through(env, big, 3 * WritebackEnv::kDeleteStepBytes + 12345);
  write_through(env, small, 1000);
  REQUIRE(env.RemoveFile(big).ok());
  REQUIRE(env.RemoveFile(small).ok());
  CHECK_FALSE(env.FileExists(big));
  CHECK_FALSE(env.FileExists(small));
  CHECK_FALSE(env.RemoveFile(big).ok());  // the target's error for a missing file
}

TEST_CASE("a Db with table writeback keeps flushed and compacted data across a reopen") {
  test::TempDir dir;
  DbOptions o;
  o.path = dir.str();
  o.write_buffer_bytes = 64 << 10;  // small memtables: many table files are written
  o.table_writeback_bytes = 8 << 10;
  std::string value(1000, 'v');
  {
    auto db = Db::open(o);
    REQUIRE(db.is_ok());
    for (int i = 0; i < 2000; ++i) {
      leveldb::WriteBatch b;
      b.Put("k" + std::to_string(100000 + i), value + std::to_string(i));
      REQUIRE((*db)->write(b, false).is_ok());
    }
    (*db)->compact_range("k", "l");
  }
  auto db = Db::open(o);
  REQUIRE(db.is_ok());
  for (int i = 0; i < 2000; i += 97) {
    auto v = (*db)->get("k" + std::to_string(100000 + i));
    REQUIRE(v.is_ok());
    CHECK(*v == value + std::to_string(i));
  }
}
