// HalfIndex: per-group due heaps, receive-order lists, counts and histograms; and the memory
// bound of 1,000,000 pending transactions.
#include "broker/txn/half_index.h"

#include <doctest/doctest.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

using namespace tidemq::broker::txn;

namespace {

HalfMeta meta(uint64_t txn_id, uint32_t group, int64_t received, uint32_t checks = 0) {
  HalfMeta m;
  m.txn_id = txn_id;
  m.group = group;
  m.received_mono = received;
  m.age_base_mono = received;
  m.check_count = checks;
  return m;
}

// Pops every scheduled transaction of a group in due order.
std::vector<uint64_t> drain(HalfIndex& idx, uint32_t group) {
  std::vector<uint64_t> out;
  while (HalfMeta* top = idx.top(group)) {
    out.push_back(top->txn_id);
    idx.unschedule(*top);
  }
  return out;
}

}  // namespace

TEST_CASE("each group's heap yields its scheduled transactions in due order") {
  HalfIndex idx(15);
  const uint32_t a = idx.group_id("a");
  const uint32_t b = idx.group_id("b");
  CHECK(idx.group_id("a") == a);
  std::mt19937_64 rng(7);
  std::vector<std::pair<int64_t, uint64_t>> expect;
  for (uint64_t id = 1; id <= 500; ++id) {
    HalfMeta& m = idx.insert(meta(id, id % 3 == 0 ? b : a, static_cast<int64_t>(id)));
    const auto due = static_cast<int64_t>(rng() % 1000);
    idx.schedule(m, due);
    if (m.group == a) expect.emplace_back(due, id);
  }
  // Reschedule, unschedule and erase some; the heap stays consistent.
  for (uint64_t id = 1; id <= 500; id += 7) {
    HalfMeta* m = idx.find(id);
    REQUIRE(m != nullptr);
    if (m->group != a) continue;
    auto it = std::find_if(expect.begin(), expect.end(), [&](auto& e) { return e.second == id; });
    if (id % 2 == 0) {
      idx.erase(id);
      expect.erase(it);
    } else {
      const auto due = static_cast<int64_t>(rng() % 1000);
      idx.schedule(*m, due);
      it->first = due;
    }
  }
  std::vector<uint64_t> got = drain(idx, a);
  REQUIRE(got.size() == expect.size());
  for (size_t i = 1; i < got.size(); ++i) CHECK(idx.find(got[i - 1])->due_mono <= idx.find(got[i])->due_mono);
  CHECK(idx.top(a) == nullptr);
  CHECK(idx.top(b) != nullptr);
}

TEST_CASE("oldest follows receive order through erases; counts and histograms follow every change") {
  HalfIndex idx(3);
  const uint32_t g = idx.group_id("g");
  // Inserted out of receive order (as open() never does, but the list must still be right).
  idx.insert(meta(1, g, 30));
  idx.insert(meta(2, g, 10));
  idx.insert(meta(3, g, 20));
  CHECK(idx.oldest(g)->txn_id == 2);
  idx.erase(2);
  CHECK(idx.oldest(g)->txn_id == 3);
  idx.erase(3);
  CHECK(idx.oldest(g)->txn_id == 1);
  idx.insert(meta(4, g, 40));
  idx.erase(1);
  CHECK(idx.oldest(g)->txn_id == 4);
  idx.erase(4);
  CHECK(idx.oldest(g) == nullptr);

  // A bulk load inserts unlinked, in any order, then links once.
  const uint32_t bulk = idx.group_id("bulk");
  for (uint64_t id : {14, 11, 13, 12}) idx.insert(meta(id, bulk, static_cast<int64_t>(id)), /*link=*/false);
  idx.link_all();
  std::vector<uint64_t> order;
  while (const HalfMeta* o = idx.oldest(bulk)) {
    order.push_back(o->txn_id);
    idx.erase(o->txn_id);
  }
  CHECK(order == std::vector<uint64_t>{11, 12, 13, 14});

  HalfMeta& m = idx.insert(meta(5, g, 50));
  CHECK(idx.group(g).halves == 1);
  CHECK(idx.histogram() == std::vector<uint64_t>{1, 0, 0, 0});
  idx.set_check_count(m, 2);
  CHECK(idx.histogram() == std::vector<uint64_t>{0, 0, 1, 0});
  idx.set_check_count(m, 7);  // the last bucket counts check_max and more
  CHECK(idx.histogram() == std::vector<uint64_t>{0, 0, 0, 1});
  CHECK(idx.group(g).histogram == idx.histogram());
  idx.set_state(m, HalfState::kParked);
  CHECK(idx.parked() == 1);
  CHECK(idx.group(g).parked == 1);
  idx.erase(5);
  CHECK(idx.parked() == 0);
  CHECK(idx.group(g).halves == 0);
  CHECK(idx.histogram() == std::vector<uint64_t>{0, 0, 0, 0});
  CHECK(idx.size() == 0);
}

TEST_CASE("1,000,000 pending transactions fit well under 150 MB of memory") {
  constexpr uint64_t kCount = 1'000'000;
  const auto t0 = std::chrono::steady_clock::now();
  // Heap in use: small chunks (uordblks) plus mmapped big ones (hblkhd: the vectors, the buckets).
  auto in_use = [] {
    const struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
  };
  const size_t heap_before = in_use();
  {
    HalfIndex idx(15);
    uint32_t groups[4];
    for (uint32_t i = 0; i < 4; ++i) groups[i] = idx.group_id("group-" + std::to_string(i));
    for (uint64_t i = 0; i < kCount; ++i) {
      // Snowflake-like ids: time in the high bits, a sequence in the low ones.
      const uint64_t id = ((i / 4096) << 22) | (i % 4096);
      HalfMeta& m = idx.insert(meta(id + 1, groups[i % 4], static_cast<int64_t>(i)));
      idx.schedule(m, static_cast<int64_t>(i) + 6000);
    }
    REQUIRE(idx.size() == kCount);
    const size_t measured = in_use() - heap_before;
    const size_t estimated = idx.memory_bytes();
    MESSAGE("HalfMeta " << sizeof(HalfMeta) << " B; per transaction: estimated "
                        << estimated / kCount << " B, measured (malloc) " << measured / kCount << " B; total "
                        << (measured >> 20) << " MiB");
    CHECK(sizeof(HalfMeta) <= 80);
    CHECK(estimated < 150u * 1000 * 1000);
    if (measured > 0) {  // 0 under a sanitizer's allocator (no glibc statistics)
      CHECK(measured < 150u * 1000 * 1000);
      // The estimate is within 25 % of what malloc reports (it is what the README quotes).
      CHECK(static_cast<double>(estimated) > 0.75 * static_cast<double>(measured));
      CHECK(static_cast<double>(estimated) < 1.25 * static_cast<double>(measured));
    }
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("1,000,000 inserts + schedules and the teardown took " << ms << " ms");
}
