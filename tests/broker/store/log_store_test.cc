#include "broker/store/log_store.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/broker/store/store_fixture.h"

using namespace tidemq;
using namespace tidemq::broker;
using tidemq::test::make_batch;
using tidemq::test::StoreFixture;

namespace {

// Counts callbacks; wait() blocks until `n` arrived.
class Completions {
 public:
  void add(uint32_t partition, Result<AppendResult> r) {
    std::lock_guard lock(mu_);
    if (r.is_ok()) {
      by_partition_[partition].push_back(*r);
    } else {
      errors_.push_back(r.status());
    }
    ++done_;
    cv_.notify_all();
  }
  void wait(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return done_ >= n; });
  }
  std::map<uint32_t, std::vector<AppendResult>> by_partition() {
    std::lock_guard lock(mu_);
    return by_partition_;
  }
  std::vector<Status> errors() {
    std::lock_guard lock(mu_);
    return errors_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t done_ = 0;
  std::map<uint32_t, std::vector<AppendResult>> by_partition_;
  std::vector<Status> errors_;
};

// Offsets of a partition's results are contiguous from 0 with no gaps; returns the end.
uint64_t check_contiguous(std::vector<AppendResult> results) {
  std::sort(results.begin(), results.end(),
            [](const AppendResult& a, const AppendResult& b) { return a.base_offset < b.base_offset; });
  uint64_t next = 0;
  for (const AppendResult& r : results) {
    CHECK(r.base_offset == next);
    next = r.base_offset + r.record_count;
  }
  return next;
}

}  // namespace

TEST_CASE("append assigns contiguous offsets and stamps the batch") {
  StoreFixture f;
  f.open();
  uint32_t t = f.create_topic("orders", 2);

  auto a = f.append(t, 0, make_batch(3));
  REQUIRE(a.is_ok());
  CHECK(a->base_offset == 0);
  CHECK(a->record_count == 3);
  CHECK(a->store_ms == f.clock.now_ms());
  CHECK_FALSE(a->duplicate);
  f.clock.advance_ms(5);
  auto b = f.append(t, 0, make_batch(2));
  REQUIRE(b.is_ok());
  CHECK(b->base_offset == 3);
  auto other = f.append(t, 1, make_batch(4));
  REQUIRE(other.is_ok());
  CHECK(other->base_offset == 0);

  auto i0 = f.info(t, 0);
  CHECK(i0.start_offset == 0);
  CHECK(i0.end_offset == 5);
  CHECK(i0.last_store_ms == b->store_ms);
  CHECK(f.info(t, 1).end_offset == 4);

  auto r = f.log->read(t, 0, 0, 1 << 20);
  REQUIRE(r.is_ok());
  CHECK(r->start_offset == 0);
  CHECK(r->end_offset == 5);
  std::vector<uint64_t> offsets;
  std::vector<uint64_t> stores;
  Status st = record::for_each_record_in_batches(r->batches, [&](const record::RecordView& v) {
    offsets.push_back(v.offset);
    stores.push_back(v.store_ms);
  });
  REQUIRE(st.is_ok());
  CHECK(offsets == std::vector<uint64_t>{0, 1, 2, 3, 4});
  CHECK(stores.front() == static_cast<uint64_t>(a->store_ms));
  CHECK(stores.back() == static_cast<uint64_t>(b->store_ms));
}

TEST_CASE("read: containing batch, max_bytes, ranges and errors") {
  StoreFixture f;
  f.open();
  uint32_t t = f.create_topic("orders", 2);
  const std::string batch = make_batch(10, 100);
  for (int i = 0; i < 5; ++i) REQUIRE(f.append(t, 0, batch).is_ok());  // offsets 0..49

  SUBCASE("a mid-batch offset returns the containing batch first") {
    auto r = f.log->read(t, 0, 27, 1 << 20);
    REQUIRE(r.is_ok());
    auto h = record::parse_header(r->batches);
    REQUIRE(h.is_ok());
    CHECK(h->base_offset == 20);
    CHECK(StoreFixture::count_records(r->batches) == 30);
  }
  SUBCASE("the last offset") {
    auto r = f.log->read(t, 0, 49, 1 << 20);
    REQUIRE(r.is_ok());
    CHECK(record::parse_header(r->batches)->base_offset == 40);
    CHECK(StoreFixture::count_records(r->batches) == 10);
  }
  SUBCASE("max_bytes is respected, and at least one batch comes back") {
    auto one = f.log->read(t, 0, 0, 1);
    REQUIRE(one.is_ok());
    CHECK(one->batches.size() == batch.size());
    auto two = f.log->read(t, 0, 0, 2 * batch.size() + 10);
    REQUIRE(two.is_ok());
    CHECK(two->batches.size() == 2 * batch.size());
    auto exact = f.log->read(t, 0, 15, 3 * batch.size());
    REQUIRE(exact.is_ok());
    CHECK(exact->batches.size() == 3 * batch.size());
  }
  SUBCASE("offset == end is empty and ok; beyond it is out of range") {
    auto r = f.log->read(t, 0, 50, 1 << 20);
    REQUIRE(r.is_ok());
    CHECK(r->batches.empty());
    CHECK(r->end_offset == 50);
    CHECK(f.log->read(t, 0, 51, 1 << 20).status().code() == StatusCode::kOffsetOutOfRange);
    auto empty = f.log->read(t, 1, 0, 1 << 20);
    REQUIRE(empty.is_ok());
    CHECK(empty->batches.empty());
    CHECK(f.log->read(t, 1, 1, 1 << 20).status().code() == StatusCode::kOffsetOutOfRange);
  }
  SUBCASE("unknown topic or partition") {
    CHECK(f.log->read(t, 2, 0, 100).status().code() == StatusCode::kInvalidPartition);
    CHECK(f.log->read(999, 0, 0, 100).status().code() == StatusCode::kTopicNotFound);
    CHECK(f.log->info(t, 2).status().code() == StatusCode::kInvalidPartition);
    CHECK(f.append(t, 2, make_batch(1)).status().code() == StatusCode::kInvalidPartition);
    CHECK(f.append(999, 0, make_batch(1)).status().code() == StatusCode::kTopicNotFound);
    CHECK(f.info(t, 0).end_offset == 50);
  }
}

TEST_CASE("reopen recovers next offsets, start offsets and last store times") {
  StoreFixture f;
  f.open();
  uint32_t a = f.create_topic("a", 3);
  uint32_t b = f.create_topic("b", 1);
  int64_t last_ms = 0;
  for (int i = 0; i < 7; ++i) {
    f.clock.advance_ms(10);
    auto r = f.append(a, 1, make_batch(i + 1));
    REQUIRE(r.is_ok());
    last_ms = r->store_ms;
  }
  REQUIRE(f.append(b, 0, make_batch(5)).is_ok());
  REQUIRE(f.append(a, 2, make_batch(2)).is_ok());
  const auto before = f.info(a, 1);
  CHECK(before.end_offset == 28);

  f.reopen();
  auto after = f.info(a, 1);
  CHECK(after.start_offset == 0);
  CHECK(after.end_offset == 28);
  CHECK(after.last_store_ms == last_ms);
  CHECK(f.info(a, 0).end_offset == 0);
  CHECK(f.info(a, 0).last_store_ms == 0);
  CHECK(f.info(a, 2).end_offset == 2);
  CHECK(f.info(b, 0).end_offset == 5);

  // Appends continue where they stopped, and store times do not go back even if the clock did.
  f.clock.set_wall_ms(last_ms - 1000);
  auto next = f.append(a, 1, make_batch(1));
  REQUIRE(next.is_ok());
  CHECK(next->base_offset == 28);
  CHECK(next->store_ms == last_ms);
  auto r = f.log->read(a, 1, 0, 1 << 20);
  REQUIRE(r.is_ok());
  CHECK(StoreFixture::count_records(r->batches) == 29);
}

TEST_CASE("group commit: concurrent appends complete, offsets have no gaps, few fsyncs") {
  StoreFixture f;
  f.open();
  constexpr uint32_t kPartitions = 4;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100;
  uint32_t t = f.create_topic("load", kPartitions);
  Completions done;

  // Hold the writer inside the fsync of a first append, so every other append queues behind it.
  f.env.reset_sync_count();
  f.env.hold_syncs();
  f.log->append(t, 0, make_batch(1), [&](Result<AppendResult> r) { done.add(0, std::move(r)); });
  f.env.wait_for_held_sync();

  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      for (int i = 0; i < kPerThread; ++i) {
        uint32_t p = static_cast<uint32_t>((th + i) % kPartitions);
        f.log->append(t, p, make_batch(1 + i % 3), [&done, p](Result<AppendResult> r) { done.add(p, std::move(r)); });
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(f.log->pending_bytes() > 0);
  f.env.release_syncs();
  const size_t total = 1 + kThreads * kPerThread;
  done.wait(total);

  CHECK(done.errors().empty());
  CHECK(f.log->pending_bytes() == 0);
  // One fsync for the first append, one for everything queued behind it (LevelDB may add a few
  // of its own for memtable flushes).
  MESSAGE("syncs: " << f.env.sync_count() << " for " << total << " appends");
  CHECK(f.env.sync_count() < 10);

  uint64_t records = 0;
  for (auto& [p, results] : done.by_partition()) {
    const uint64_t end = check_contiguous(results);
    CHECK(f.info(t, p).end_offset == end);
    auto r = f.log->read(t, p, 0, 64 << 20);
    REQUIRE(r.is_ok());
    CHECK(StoreFixture::count_records(r->batches) == end);
    records += end;
  }
  CHECK(records > total);
}

TEST_CASE("group commit: senders that wait for each ack") {
  StoreFixture f;
  f.flush = FlushMode::kAsync;
  f.open();
  uint32_t t = f.create_topic("acks", 2);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int th = 0; th < 4; ++th) {
    threads.emplace_back([&, th] {
      for (int i = 0; i < 100; ++i) {
        if (!f.append(t, static_cast<uint32_t>(th % 2), make_batch(2)).is_ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  CHECK(f.info(t, 0).end_offset == 400);
  CHECK(f.info(t, 1).end_offset == 400);
  f.reopen();
  CHECK(f.info(t, 0).end_offset == 400);
}

TEST_CASE("the append listener sees each touched partition's new end offset") {
  StoreFixture f;
  f.open();
  uint32_t t = f.create_topic("l", 2);
  std::mutex mu;
  std::vector<std::tuple<uint32_t, uint32_t, uint64_t>> seen;
  f.log->set_append_listener([&](uint32_t topic_id, uint32_t partition, uint64_t end) {
    std::lock_guard lock(mu);
    seen.emplace_back(topic_id, partition, end);
  });
  REQUIRE(f.append(t, 1, make_batch(3)).is_ok());
  REQUIRE(f.append(t, 1, make_batch(2)).is_ok());
  std::lock_guard lock(mu);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0] == std::make_tuple(t, 1u, uint64_t{3}));
  CHECK(seen[1] == std::make_tuple(t, 1u, uint64_t{5}));
}

TEST_CASE("stop completes queued appends; later appends get ShuttingDown at once") {
  StoreFixture f;
  f.open();
  uint32_t t = f.create_topic("s", 1);
  Completions done;
  f.env.hold_syncs();
  f.log->append(t, 0, make_batch(1), [&](Result<AppendResult> r) { done.add(0, std::move(r)); });
  f.env.wait_for_held_sync();
  for (int i = 0; i < 20; ++i) {
    f.log->append(t, 0, make_batch(1), [&](Result<AppendResult> r) { done.add(0, std::move(r)); });
  }
  std::thread stopper([&] { f.log->stop(); });
  f.env.release_syncs();
  stopper.join();
  done.wait(21);
  CHECK(done.errors().empty());
  CHECK(f.info(t, 0).end_offset == 21);

  bool called = false;
  f.log->append(t, 0, make_batch(1), [&](Result<AppendResult> r) {
    called = true;
    CHECK(r.status().code() == StatusCode::kShuttingDown);
  });
  CHECK(called);
  CHECK(f.log->apply_retention().status().code() == StatusCode::kShuttingDown);
  f.log->stop();  // idempotent
}

TEST_CASE("drop_topic deletes the data and refuses later appends") {
  StoreFixture f;
  f.open();
  uint32_t t = f.create_topic("gone", 2);
  uint32_t keep = f.create_topic("kept", 1);
  for (int i = 0; i < 10; ++i) REQUIRE(f.append(t, i % 2, make_batch(2, 10, 7, i / 2 * 2)).is_ok());
  REQUIRE(f.append(keep, 0, make_batch(1)).is_ok());

  REQUIRE(f.topics->remove("gone").is_ok());
  REQUIRE(f.log->drop_topic(t, 2).is_ok());
  CHECK(f.append(t, 0, make_batch(1)).status().code() == StatusCode::kTopicNotFound);
  CHECK(f.log->read(t, 0, 0, 100).status().code() == StatusCode::kTopicNotFound);

  f.reopen();
  auto it = f.db->iterator();
  int leftovers = 0;
  const std::string end = keys::log_end(t, UINT32_MAX);
  for (it->Seek(keys::log_begin(t, 0)); it->Valid() && it->key().compare(end) < 0; it->Next()) ++leftovers;
  for (it->Seek(keys::producer_state(t, 0, 0)); it->Valid() && it->key().compare(keys::producer_state(t + 1, 0, 0)) < 0;
       it->Next()) {
    ++leftovers;
  }
  CHECK(leftovers == 0);
  CHECK(f.info(keep, 0).end_offset == 1);
}

TEST_CASE("data left by a crash between registry remove and drop_topic is deleted on open") {
  StoreFixture f;
  f.open();
  uint32_t orphan = f.create_topic("orphan", 2);
  uint32_t keep = f.create_topic("kept", 1);
  for (int i = 0; i < 6; ++i) REQUIRE(f.append(orphan, i % 2, make_batch(2, 10, 11, i / 2 * 2)).is_ok());
  REQUIRE(f.append(keep, 0, make_batch(3)).is_ok());
  REQUIRE(f.topics->remove("orphan").is_ok());  // ...and the broker dies before drop_topic

  f.reopen();
  // Jobs run in order on the writer, so after this one the orphan deletion has run.
  REQUIRE(f.log->apply_retention().is_ok());
  auto it = f.db->iterator();
  int leftovers = 0;
  for (it->Seek(keys::log_begin(orphan, 0)); it->Valid() && it->key().compare(keys::log_end(orphan, UINT32_MAX)) < 0;
       it->Next()) {
    ++leftovers;
  }
  it->Seek(keys::producer_state(orphan, 0, 0));
  if (it->Valid() && it->key().compare(keys::producer_state(orphan + 1, 0, 0)) < 0) ++leftovers;
  CHECK(leftovers == 0);
  CHECK(f.append(orphan, 0, make_batch(1)).status().code() == StatusCode::kTopicNotFound);
  CHECK(f.info(keep, 0).end_offset == 3);
}
