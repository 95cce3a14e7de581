// HalfLog: append/read/reopen, group commit from many threads, rolling by size, segment deletion
// (release, roll, collect), torn-tail repair, corruption as StorageError, argument and shutdown
// errors, and a sticky write error.
#include "broker/txn/half_log.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/temp_dir.h"

using namespace tidemq;
using namespace tidemq::broker::txn;
namespace fs = std::filesystem;

namespace {

HalfLogOptions options(const test::TempDir& tmp, uint32_t segment_bytes = 64u << 20) {
  HalfLogOptions o;
  o.dir = (tmp.path() / "half").string();
  o.segment_bytes = segment_bytes;
  return o;
}

fs::path segment_path(const HalfLogOptions& o, uint32_t id) {
  return fs::path(o.dir) / fmt::format("{:010}.half", id);
}

// A payload that names its index, `size` bytes long.
std::string payload(size_t i, size_t size = 100) {
  std::string s = fmt::format("record-{}-", i);
  while (s.size() < size) s.push_back(static_cast<char>('a' + (s.size() + i) % 26));
  s.resize(size);
  return s;
}

// Appends and waits for the callback.
Result<HalfPos> append_wait(HalfLog& log, std::string data) {
  std::promise<Result<HalfPos>> done;
  auto f = done.get_future();
  log.append(std::move(data), [&done](Result<HalfPos> r) { done.set_value(std::move(r)); });
  return f.get();
}

HalfPos append_ok(HalfLog& log, std::string data) {
  auto r = append_wait(log, std::move(data));
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  return *r;
}

// Waits until every job posted before it (release, roll, collect) has run on the log thread: an
// append queued after them is acknowledged only after they ran. The record is released again.
void barrier(HalfLog& log) { log.release(append_ok(log, "barrier")); }

struct Visited {
  std::vector<HalfPos> pos;
  std::vector<std::string> data;
};

Status open_log(HalfLog& log, Visited& seen) {
  return log.open([&seen](HalfPos p, std::string_view v) {
    seen.pos.push_back(p);
    seen.data.emplace_back(v);
    return Status::ok();
  });
}

Status open_log(HalfLog& log) {
  Visited ignored;
  return open_log(log, ignored);
}

bool before(const HalfPos& a, const HalfPos& b) {
  return a.segment < b.segment || (a.segment == b.segment && a.offset < b.offset);
}

std::vector<uint32_t> segment_ids(const HalfLog& log) {
  std::vector<uint32_t> ids;
  for (const HalfSegmentInfo& s : log.segments()) ids.push_back(s.id);
  return ids;
}

// Overwrites one byte of a file.
void flip_byte(const fs::path& path, uint64_t offset) {
  const int fd = ::open(path.c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  char c = 0;
  REQUIRE(::pread(fd, &c, 1, static_cast<off_t>(offset)) == 1);
  c = static_cast<char>(c ^ 0x5a);
  REQUIRE(::pwrite(fd, &c, 1, static_cast<off_t>(offset)) == 1);
  ::close(fd);
}

}  // namespace

TEST_CASE("append then read returns the payload, positions increase, and reopen visits every record in order") {
  test::TempDir tmp;
  ManualClock clock;
  const HalfLogOptions o = options(tmp);
  std::vector<HalfPos> positions;
  std::vector<std::string> data;
  {
    HalfLog log(o, clock);
    REQUIRE(open_log(log).is_ok());
    CHECK(log.segments().empty());
    for (size_t i = 0; i < 50; ++i) {
      data.push_back(payload(i, 1 + i * 37));
      const HalfPos p = append_ok(log, data.back());
      CHECK(p.length == data.back().size());
      if (!positions.empty()) CHECK(before(positions.back(), p));
      positions.push_back(p);
      auto r = log.read(p);
      REQUIRE(r.is_ok());
      CHECK(*r == data.back());
    }
    auto segs = log.segments();
    REQUIRE(segs.size() == 1);
    CHECK(segs[0].id == 1);
    CHECK(segs[0].head);
    CHECK(segs[0].live == 50);
    CHECK(segs[0].created_mono_ms == clock.monotonic_ms());
    CHECK(segs[0].bytes == fs::file_size(segment_path(o, 1)));
    CHECK(log.bytes() == segs[0].bytes);
  }
  HalfLog log(o, clock);
  Visited seen;
  REQUIRE(open_log(log, seen).is_ok());
  CHECK(seen.pos == positions);
  CHECK(seen.data == data);
  for (size_t i = 0; i < positions.size(); ++i) {
    auto r = log.read(positions[i]);
    REQUIRE(r.is_ok());
    CHECK(*r == data[i]);
  }
  auto segs = log.segments();
  REQUIRE(segs.size() == 1);
  CHECK(segs[0].live == 0);  // counts start at 0 after open, until retain()
  // Appends continue at the end of the highest segment.
  const HalfPos next = append_ok(log, "after reopen");
  CHECK(next.segment == 1);
  CHECK(before(positions.back(), next));
}

TEST_CASE("group commit: 1000 appends from 4 threads are all acknowledged with distinct readable positions") {
  test::TempDir tmp;
  ManualClock clock;
  HalfLog log(options(tmp), clock);
  REQUIRE(open_log(log).is_ok());
  constexpr size_t kThreads = 4;
  constexpr size_t kPerThread = 250;
  constexpr size_t kTotal = kThreads * kPerThread;
  std::vector<std::optional<Result<HalfPos>>> results(kTotal);
  std::atomic<size_t> left{kTotal};
  std::promise<void> all_done;
  std::vector<std::thread> threads;
  for (size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (size_t k = 0; k < kPerThread; ++k) {
        const size_t i = t * kPerThread + k;
        log.append(payload(i, 20 + i % 200), [&, i](Result<HalfPos> r) {
          results[i].emplace(std::move(r));
          if (left.fetch_sub(1) == 1) all_done.set_value();
        });
      }
    });
  }
  for (auto& th : threads) th.join();
  all_done.get_future().wait();

  std::set<std::pair<uint32_t, uint32_t>> distinct;
  for (size_t i = 0; i < kTotal; ++i) {
    REQUIRE(results[i].has_value());
    REQUIRE(results[i]->is_ok());
    const HalfPos p = results[i]->value();
    distinct.emplace(p.segment, p.offset);
    auto r = log.read(p);
    REQUIRE(r.is_ok());
    CHECK(*r == payload(i, 20 + i % 200));
  }
  CHECK(distinct.size() == kTotal);
  CHECK(log.segments().at(0).live == kTotal);
}

TEST_CASE("roll by size: records spread over several segments, and an oversized record gets a segment of its own") {
  test::TempDir tmp;
  ManualClock clock;
  const HalfLogOptions o = options(tmp, 4096);
  std::vector<HalfPos> positions;
  std::vector<std::string> data;
  {
    HalfLog log(o, clock);
    REQUIRE(open_log(log).is_ok());
    for (size_t i = 0; i < 100; ++i) {
      data.push_back(payload(i, 300));
      positions.push_back(append_ok(log, data.back()));
      clock.advance_ms(1);
    }
    auto segs = log.segments();
    CHECK(segs.size() >= 7);  // 308-byte records, 13 to a 4 KiB segment
    for (size_t i = 0; i < segs.size(); ++i) {
      CHECK(segs[i].id == i + 1);
      CHECK(segs[i].bytes <= 4096);
      CHECK(segs[i].head == (i + 1 == segs.size()));
    }
    for (size_t i = 1; i < positions.size(); ++i) CHECK(before(positions[i - 1], positions[i]));

    const uint32_t head_before = segs.back().id;
    data.push_back(payload(1000, 10000));
    const HalfPos big = append_ok(log, data.back());
    positions.push_back(big);
    CHECK(big.segment == head_before + 1);
    CHECK(big.offset == 0);
    data.push_back(payload(1001, 50));
    const HalfPos after = append_ok(log, data.back());
    positions.push_back(after);
    CHECK(after.segment == big.segment + 1);
    CHECK(after.offset == 0);
    segs = log.segments();
    REQUIRE(segs.size() >= 2);
    CHECK(segs[segs.size() - 2].bytes == 10008);
    CHECK(segs[segs.size() - 2].live == 1);
    CHECK(segs.back().head);
    for (size_t i = 0; i < positions.size(); ++i) CHECK(*log.read(positions[i]) == data[i]);
  }
  HalfLog log(o, clock);
  Visited seen;
  REQUIRE(open_log(log, seen).is_ok());
  CHECK(seen.pos == positions);
  CHECK(seen.data == data);
}

TEST_CASE("release of the last live record of a non-head segment deletes its file; the head is never deleted") {
  test::TempDir tmp;
  ManualClock clock;
  const HalfLogOptions o = options(tmp, 4096);
  HalfLog log(o, clock);
  REQUIRE(open_log(log).is_ok());
  // 1008-byte records, 4 to a segment: segments 1, 2, 3 (the head, with room left for barriers).
  std::vector<HalfPos> pos;
  for (size_t i = 0; i < 10; ++i) pos.push_back(append_ok(log, payload(i, 1000)));
  REQUIRE(segment_ids(log) == std::vector<uint32_t>{1, 2, 3});

  for (size_t i = 0; i < 3; ++i) log.release(pos[i]);
  barrier(log);
  CHECK(fs::exists(segment_path(o, 1)));  // one record still live
  CHECK(log.segments().at(0).live == 1);

  log.release(pos[3]);
  barrier(log);
  CHECK_FALSE(fs::exists(segment_path(o, 1)));
  CHECK(segment_ids(log) == std::vector<uint32_t>{2, 3});
  auto gone = log.read(pos[0]);
  CHECK(gone.status().code() == StatusCode::kStorageError);
  CHECK(*log.read(pos[4]) == payload(4, 1000));

  // The head (segment 3) with nothing live stays.
  log.release(pos[8]);
  log.release(pos[9]);
  log.stop();  // runs every queued job first
  CHECK(fs::exists(segment_path(o, 3)));
  CHECK(fs::exists(segment_path(o, 2)));
  CHECK(segment_ids(log) == std::vector<uint32_t>{2, 3});
}

TEST_CASE("roll() deletes an old head with nothing live and keeps one with live records") {
  test::TempDir tmp;
  ManualClock clock;
  const HalfLogOptions o = options(tmp);
  HalfLog log(o, clock);
  REQUIRE(open_log(log).is_ok());
  const HalfPos a = append_ok(log, payload(1));
  log.roll();
  const HalfPos b = append_ok(log, payload(2));
  CHECK(a.segment == 1);
  CHECK(b.segment == 2);
  CHECK(b.offset == 0);
  CHECK(fs::exists(segment_path(o, 1)));  // `a` is live

  log.release(b);
  log.roll();
  const HalfPos c = append_ok(log, payload(3));
  CHECK(c.segment == 3);
  CHECK_FALSE(fs::exists(segment_path(o, 2)));
  CHECK(segment_ids(log) == std::vector<uint32_t>{1, 3});
  CHECK(log.segments().back().head);
  CHECK(*log.read(a) == payload(1));
}

TEST_CASE("collect() after reopen deletes the segments whose records were not retained") {
  test::TempDir tmp;
  ManualClock clock;
  const HalfLogOptions o = options(tmp);
  {
    HalfLog log(o, clock);
    REQUIRE(open_log(log).is_ok());
    for (int s = 1; s <= 3; ++s) {
      for (int i = 0; i < 3; ++i) (void)append_ok(log, payload(static_cast<size_t>(s * 10 + i)));
      if (s < 3) log.roll();
    }
    REQUIRE(segment_ids(log) == std::vector<uint32_t>{1, 2, 3});
  }
  HalfLog log(o, clock);
  Visited seen;
  REQUIRE(open_log(log, seen).is_ok());
  REQUIRE(seen.pos.size() == 9);
  // Keep one record of segment 2; nothing of 1 or 3 (3 is the head).
  log.retain(seen.pos[4]);
  log.collect();
  barrier(log);
  CHECK_FALSE(fs::exists(segment_path(o, 1)));
  CHECK(fs::exists(segment_path(o, 2)));
  CHECK(fs::exists(segment_path(o, 3)));
  CHECK(segment_ids(log) == std::vector<uint32_t>{2, 3});
  CHECK(*log.read(seen.pos[4]) == seen.data[4]);
}

TEST_CASE("torn tail of the head: reopen keeps the earlier records, truncates at the record start, and appends there") {
  test::TempDir tmp;
  ManualClock clock;
  const HalfLogOptions o = options(tmp);
  std::vector<HalfPos> pos;
  {
    HalfLog log(o, clock);
    REQUIRE(open_log(log).is_ok());
    for (size_t i = 0; i < 10; ++i) pos.push_back(append_ok(log, payload(i, 200)));
  }
  const fs::path file = segment_path(o, 1);
  const HalfPos last = pos.back();
  SUBCASE("cut in the middle of the payload") { fs::resize_file(file, last.offset + 8 + 50); }
  SUBCASE("cut in the middle of the header") { fs::resize_file(file, last.offset + 5); }
  SUBCASE("a flipped byte in the payload") { flip_byte(file, last.offset + 8 + 100); }

  HalfPos fresh;
  {
    HalfLog log(o, clock);
    Visited seen;
    REQUIRE(open_log(log, seen).is_ok());
    CHECK(seen.pos == std::vector<HalfPos>(pos.begin(), pos.end() - 1));
    CHECK(fs::file_size(file) == last.offset);
    fresh = append_ok(log, "the new last record");
    CHECK(fresh.segment == 1);
    CHECK(fresh.offset == last.offset);
  }
  HalfLog log(o, clock);
  Visited seen;
  REQUIRE(open_log(log, seen).is_ok());
  REQUIRE(seen.pos.size() == 10);
  CHECK(seen.pos.back() == fresh);
  CHECK(seen.data.back() == "the new last record");
  CHECK(*log.read(fresh) == "the new last record");
}

TEST_CASE("a damaged record in a non-head segment fails open() naming the file") {
  test::TempDir tmp;
  ManualClock clock;
  const HalfLogOptions o = options(tmp);
  HalfPos victim;
  {
    HalfLog log(o, clock);
    REQUIRE(open_log(log).is_ok());
    victim = append_ok(log, payload(1));
    (void)append_ok(log, payload(2));
    log.roll();
    (void)append_ok(log, payload(3));
  }
  flip_byte(segment_path(o, 1), victim.offset + 8 + 10);
  HalfLog log(o, clock);
  Status st = open_log(log);
  CHECK(st.code() == StatusCode::kStorageError);
  CHECK(st.message().find("0000000001.half") != std::string::npos);
  CHECK(st.message().find("offset 0") != std::string::npos);
}

TEST_CASE("read() of corrupted bytes, a wrong length or an unknown segment is a StorageError") {
  test::TempDir tmp;
  ManualClock clock;
  const HalfLogOptions o = options(tmp);
  HalfLog log(o, clock);
  REQUIRE(open_log(log).is_ok());
  const HalfPos a = append_ok(log, payload(1));
  const HalfPos b = append_ok(log, payload(2));
  flip_byte(segment_path(o, 1), b.offset + 8 + 3);
  CHECK(log.read(a).is_ok());
  auto bad = log.read(b);
  CHECK(bad.status().code() == StatusCode::kStorageError);
  CHECK(bad.status().message().find("checksum") != std::string::npos);

  HalfPos wrong_length = a;
  wrong_length.length -= 1;
  CHECK(log.read(wrong_length).status().code() == StatusCode::kStorageError);
  CHECK(log.read(HalfPos{7, 0, 10}).status().code() == StatusCode::kStorageError);
  CHECK(log.read(HalfPos{1, 1u << 30, 10}).status().code() == StatusCode::kStorageError);
  CHECK(log.read(HalfPos{}).status().code() == StatusCode::kStorageError);
}

TEST_CASE("append before open or after stop is ShuttingDown; an empty or oversized payload is InvalidArgument") {
  test::TempDir tmp;
  ManualClock clock;
  HalfLogOptions o = options(tmp);
  o.max_record_bytes = 1000;
  HalfLog log(o, clock);
  auto at_once = [&log](std::string data) {
    std::optional<Status> got;
    log.append(std::move(data), [&got](Result<HalfPos> r) { got = r.status(); });
    REQUIRE(got.has_value());  // answered on the calling thread
    return got->code();
  };
  CHECK(at_once("early") == StatusCode::kShuttingDown);
  REQUIRE(open_log(log).is_ok());
  CHECK(at_once("") == StatusCode::kInvalidArgument);
  CHECK(at_once(std::string(1001, 'x')) == StatusCode::kInvalidArgument);
  CHECK(append_wait(log, std::string(1000, 'x')).is_ok());
  log.stop();
  log.stop();  // idempotent
  CHECK(at_once("late") == StatusCode::kShuttingDown);
}

TEST_CASE("a write error is sticky: the failed append and every later one get a StorageError") {
  test::TempDir tmp;
  ManualClock clock;
  const HalfLogOptions o = options(tmp);
  HalfLog log(o, clock);
  REQUIRE(open_log(log).is_ok());
  const HalfPos ok = append_ok(log, payload(1));

  // Files may not grow past 64 KiB: a write beyond fails with EFBIG (SIGXFSZ ignored).
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = saved;
  small.rlim_cur = 64 * 1024;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  auto failed = append_wait(log, std::string(100 * 1024, 'y'));
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &saved) == 0);
  std::signal(SIGXFSZ, old_handler);

  CHECK(failed.status().code() == StatusCode::kStorageError);
  CHECK(failed.status().message().find("File too large") != std::string::npos);
  auto later = append_wait(log, "small");
  CHECK(later.status().code() == StatusCode::kStorageError);
  CHECK(*log.read(ok) == payload(1));
  CHECK(log.segments().at(0).live == 1);
}
