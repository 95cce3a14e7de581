// T12 (SPEC §12, issue 6): disk faults made while the broker is stopped. One stored log is damaged
// again and again — one flipped bit, or a file cut short, in a LevelDB table, write-ahead log or
// manifest — and a broker started on each copy must either refuse to start with a clear error,
// or answer reads with an error, or serve exactly what was stored: a damaged byte is never served
// as data. The damage is random with a fixed seed (printed), so a failure can be replayed.
// (ENOSPC below the low-water mark and a failing fsync have their own tests: backpressure_test's
// disk case and storage_error_test.)
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "common/logging.h"
#include "tests/support/temp_dir.h"
#include "tidemq/admin.h"
#include "tidemq/producer.h"
#include "tidemq/reader.h"

using namespace tidemq;
namespace fs = std::filesystem;

namespace {

constexpr int kMessages = 600;
constexpr uint32_t kSeed = 20261127;

// Message i's body: its index and 1 KiB that depends on it (incompressible enough that tables
// hold real blocks).
std::string body_of(uint64_t i) {
  std::mt19937_64 rng(i * 7919 + 1);
  std::string b = "m" + std::to_string(i) + ":";
  while (b.size() < 1024) b.push_back(static_cast<char>('a' + rng() % 26));
  return b;
}

broker::BrokerConfig config_for(const fs::path& dir) {
  broker::BrokerConfig c;
  c.data_dir = dir.string();
  c.listen = "127.0.0.1:0";
  c.log_level = "off";
  c.write_buffer_bytes = 64 << 10;  // several tables and a write-ahead log, not one memtable
  c.min_free_disk_bytes = 0;
  return c;
}

ClientOptions client_of(const broker::Broker& b) {
  ClientOptions o;
  o.broker = "127.0.0.1:" + std::to_string(b.port());
  o.request_timeout = std::chrono::milliseconds(5000);
  return o;
}

// Writes the original log: kMessages messages in one partition, then a clean stop.
void write_original(const fs::path& dir) {
  broker::Broker b(config_for(dir));
  Status st = b.start();
  REQUIRE_MESSAGE(st.is_ok(), st.to_string());
  auto admin = Admin::create(client_of(b));
  REQUIRE(admin.is_ok());
  REQUIRE((*admin)->update_topic({"t", 1, -1, -1}).is_ok());
  ProducerOptions po;
  po.client = client_of(b);
  auto p = Producer::create(po);
  REQUIRE(p.is_ok());
  for (int i = 0; i < kMessages; ++i) {
    Message m;
    m.topic = "t";
    m.partition = 0;
    m.body = body_of(static_cast<uint64_t>(i));
    auto r = (*p)->send(m);
    REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
    REQUIRE(r->offset == static_cast<uint64_t>(i));
  }
  (*p)->close();
  b.stop();
}

// The LevelDB files a fault may hit: tables, write-ahead logs, the manifest (not LOG, the
// info log, nor empty files).
std::vector<fs::path> damageable(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file() || e.file_size() == 0) continue;
    const std::string name = e.path().filename().string();
    if (e.path().extension() == ".ldb" || e.path().extension() == ".log" || name.rfind("MANIFEST-", 0) == 0) {
      out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

enum class Outcome { kRefusedToStart, kReadError, kIntact, kSilentlyShort, kWrongData };

struct Trial {
  Outcome outcome;
  std::string detail;
};

// Starts a broker on `dir` and reads partition 0 from its start.
Trial start_and_read(const fs::path& dir) {
  broker::Broker b(config_for(dir));
  Status st = b.start();
  if (!st.is_ok()) return {Outcome::kRefusedToStart, st.to_string()};
  auto reader = PartitionReader::create(client_of(b), "t");
  if (!reader.is_ok()) return {Outcome::kReadError, reader.status().to_string()};
  uint64_t offset = 0;
  uint64_t end = 0;
  do {
    auto r = (*reader)->fetch(0, offset);
    if (!r.is_ok()) return {Outcome::kReadError, r.status().to_string()};
    if (offset == 0 && r->start_offset != 0) {
      return {Outcome::kSilentlyShort, "start offset " + std::to_string(r->start_offset)};
    }
    end = r->end_offset;
    for (const Message& m : r->messages) {
      if (m.offset != offset || m.body != body_of(m.offset)) {
        return {Outcome::kWrongData, "offset " + std::to_string(m.offset) + " (expected " + std::to_string(offset) +
                                         ") body '" + m.body.substr(0, 16) + "...'"};
      }
      ++offset;
    }
    if (r->messages.empty() && offset < end) return {Outcome::kReadError, "no progress at " + std::to_string(offset)};
  } while (offset < end);
  if (end != kMessages) return {Outcome::kSilentlyShort, "end offset " + std::to_string(end)};
  return {Outcome::kIntact, ""};
}

}  // namespace

TEST_CASE("T12: a flipped bit or a cut file in the stored log is never served as data") {
  (void)logging::init("off");
  test::TempDir work;
  const fs::path original = work.path() / "original";
  write_original(original);
  {
    // The reading itself works (on a copy: a start turns the write-ahead log into a table).
    const fs::path copy = work.path() / "undamaged";
    fs::copy(original, copy, fs::copy_options::recursive);
    REQUIRE(start_and_read(copy).outcome == Outcome::kIntact);
  }
  const auto files = damageable(original);
  REQUIRE(!files.empty());

  std::mt19937 rng(kSeed);
  std::string names;
  for (const auto& f : files) names += " " + f.filename().string();
  MESSAGE("seed " << kSeed << ", files:" << names);
  int counts[5] = {};
  int detected_flips = 0;
  const int kTrials = 40;
  for (int t = 0; t < kTrials; ++t) {
    const fs::path copy = work.path() / ("trial" + std::to_string(t));
    fs::copy(original, copy, fs::copy_options::recursive);
    const fs::path victim = copy / files[rng() % files.size()].filename();
    const auto size = fs::file_size(victim);
    const bool flip = t % 4 != 3;  // three flips to one cut
    std::string what;
    if (flip) {
      const uint64_t at = rng() % size;
      const int bit = static_cast<int>(rng() % 8);
      std::fstream f(victim, std::ios::in | std::ios::out | std::ios::binary);
      f.seekg(static_cast<std::streamoff>(at));
      char c = 0;
      f.get(c);
      f.seekp(static_cast<std::streamoff>(at));
      f.put(static_cast<char>(c ^ (1 << bit)));
      what = "bit " + std::to_string(bit) + " of byte " + std::to_string(at);
    } else {
      const uint64_t keep = rng() % size;
      fs::resize_file(victim, keep);
      what = "cut to " + std::to_string(keep) + " of " + std::to_string(size) + " bytes";
    }
    const Trial r = start_and_read(copy);
    const std::string name = victim.filename().string();
    CAPTURE(t);
    CAPTURE(name);
    CAPTURE(what);
    CAPTURE(r.detail);
    ++counts[static_cast<int>(r.outcome)];
    // Never: a damaged byte served as a message.
    CHECK(r.outcome != Outcome::kWrongData);
    // A refusal says what is wrong and where.
    if (r.outcome == Outcome::kRefusedToStart) {
      CHECK(r.detail.find("cannot load the stored data in '" + copy.string() + "'") != std::string::npos);
      CHECK(r.detail.find("damaged or cut-short file") != std::string::npos);
    }
    if (flip) {
      // Every byte LevelDB keeps is under a CRC32C: a flip is detected or falls where nothing is
      // read (padding), never a silent loss.
      CHECK(r.outcome != Outcome::kSilentlyShort);
      detected_flips += r.outcome == Outcome::kRefusedToStart || r.outcome == Outcome::kReadError;
    } else if (r.outcome == Outcome::kSilentlyShort) {
      // A write-ahead log cut at a record boundary looks like a crash before those writes: the
      // one damage LevelDB cannot tell from a clean end (tests/reliability/README.md, T12).
      CHECK(victim.extension() == ".log");
    }
    fs::remove_all(copy);
  }
  MESSAGE("refused to start " << counts[0] << ", read error " << counts[1] << ", intact " << counts[2]
                              << ", short (cut log) " << counts[3] << ", wrong data " << counts[4]);
  CHECK(detected_flips > 0);  // the faults were seen, not just missed
}
