// LogStore::write() and append() side writes: group-committed with appends, in queue order,
// atomically (a failed round applies nothing of either).
#include <doctest/doctest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/broker/store/store_fixture.h"

using namespace tidemq;
using namespace tidemq::broker;
using tidemq::test::make_batch;
using tidemq::test::StoreFixture;

namespace {

// Side keys live in the kMeta keyspace: nothing else in these tests uses it.
std::string side_key(const std::string& name) { return keys::meta("test-" + name); }

leveldb::WriteBatch put(const std::string& name, const std::string& value) {
  leveldb::WriteBatch wb;
  wb.Put(side_key(name), value);
  return wb;
}

Status write_and_wait(LogStore& log, leveldb::WriteBatch wb) {
  std::promise<Status> p;
  auto f = p.get_future();
  log.write(std::move(wb), [&p](Status st) { p.set_value(std::move(st)); });
  return f.get();
}

std::optional<std::string> get(StoreFixture& f, const std::string& name) {
  auto r = f.db->get(side_key(name));
  if (r.is_ok()) return *r;
  REQUIRE(r.status().code() == StatusCode::kNotFound);
  return std::nullopt;
}

// Callbacks in the order they ran (all run on the writer thread).
struct Order {
  std::mutex mu;
  std::vector<std::string> seen;
  std::promise<void> all;
  size_t expect = 0;
  void add(std::string what) {
    std::lock_guard lock(mu);
    seen.push_back(std::move(what));
    if (seen.size() == expect) all.set_value();
  }
};

}  // namespace

TEST_CASE("write() is durable when its callback runs and is fsynced in sync mode") {
  StoreFixture f;
  f.open();
  const uint64_t syncs = f.env.sync_count();
  REQUIRE(write_and_wait(*f.log, put("a", "1")).is_ok());
  CHECK(f.env.sync_count() > syncs);
  CHECK(get(f, "a") == "1");
  f.reopen();
  CHECK(get(f, "a") == "1");
}

TEST_CASE("append side writes get the assigned offset and land with the batch") {
  StoreFixture f;
  f.open();
  uint32_t t = f.create_topic("t", 1);
  REQUIRE(f.append(t, 0, make_batch(3)).is_ok());

  std::promise<Result<AppendResult>> p;
  auto fut = p.get_future();
  AppendResult seen;
  f.log->append(
      t, 0, make_batch(2), [&p](Result<AppendResult> r) { p.set_value(std::move(r)); },
      [&seen](leveldb::WriteBatch& wb, const AppendResult& r) {
        seen = r;
        wb.Put(side_key("offset"), std::to_string(r.base_offset));
      });
  auto r = fut.get();
  REQUIRE(r.is_ok());
  CHECK(r->base_offset == 3);
  CHECK(seen.base_offset == 3);
  CHECK(seen.record_count == 2);
  CHECK(get(f, "offset") == "3");
  CHECK(f.info(t, 0).end_offset == 5);
}

TEST_CASE("a rejected append does not run its side writes; the rest of the round is written") {
  StoreFixture f;
  f.open();
  uint32_t t = f.create_topic("t", 1);
  bool side_ran = false;
  std::promise<Result<AppendResult>> p;
  auto fut = p.get_future();
  f.log->append(
      t, /*partition=*/7, make_batch(1), [&p](Result<AppendResult> r) { p.set_value(std::move(r)); },
      [&side_ran](leveldb::WriteBatch& wb, const AppendResult&) {
        side_ran = true;
        wb.Put(side_key("x"), "x");
      });
  CHECK(fut.get().status().code() == StatusCode::kInvalidPartition);
  CHECK_FALSE(side_ran);
  CHECK_FALSE(get(f, "x"));
  REQUIRE(write_and_wait(*f.log, put("y", "y")).is_ok());
  CHECK(get(f, "y") == "y");
}

TEST_CASE("a failed round applies neither the append, its side writes nor a write") {
  StoreFixture f;
  f.open();
  uint32_t t = f.create_topic("t", 1);
  REQUIRE(f.append(t, 0, make_batch(1)).is_ok());

  // Pile an append with side writes and a write into one round behind a held fsync, then make
  // that round's log append fail.
  f.env.hold_syncs();
  std::promise<Result<AppendResult>> first;
  f.log->append(t, 0, make_batch(1), [&first](Result<AppendResult> r) { first.set_value(std::move(r)); });
  f.env.wait_for_held_sync();

  std::promise<Result<AppendResult>> appended;
  std::promise<Status> written;
  f.log->append(
      t, 0, make_batch(1), [&appended](Result<AppendResult> r) { appended.set_value(std::move(r)); },
      [](leveldb::WriteBatch& wb, const AppendResult&) { wb.Put(side_key("side"), "s"); });
  f.log->write(put("plain", "p"), [&written](Status st) { written.set_value(std::move(st)); });
  CHECK(f.log->pending_bytes() > 0);
  f.env.set_fail_append(true);
  f.env.arm();
  f.env.release_syncs();

  REQUIRE(first.get_future().get().is_ok());
  CHECK(appended.get_future().get().status().code() == StatusCode::kStorageError);
  CHECK(written.get_future().get().code() == StatusCode::kStorageError);
  CHECK(f.log->pending_bytes() == 0);
  CHECK(f.info(t, 0).end_offset == 2);  // the first two appends only
  CHECK_FALSE(get(f, "side"));
  CHECK_FALSE(get(f, "plain"));

  // Sticky: a later write fails without touching LevelDB.
  f.env.disarm();
  CHECK(write_and_wait(*f.log, put("later", "l")).code() == StatusCode::kStorageError);
  f.reopen();
  CHECK(f.info(t, 0).end_offset == 2);  // the first two appends only
  CHECK_FALSE(get(f, "side"));
  CHECK_FALSE(get(f, "plain"));
  CHECK_FALSE(get(f, "later"));
}

TEST_CASE("writes and side writes apply in queue order within one round; callbacks too") {
  StoreFixture f;
  f.open();
  uint32_t t = f.create_topic("t", 1);

  f.env.hold_syncs();
  std::promise<Result<AppendResult>> first;
  f.log->append(t, 0, make_batch(1), [&first](Result<AppendResult> r) { first.set_value(std::move(r)); });
  f.env.wait_for_held_sync();
  const uint64_t syncs_before = f.env.sync_count();

  Order order;
  order.expect = 5;
  auto done = order.all.get_future();
  // k1: put by a write, then deleted by a later append's side writes -> absent.
  f.log->write(put("k1", "w"), [&](Status st) { order.add("w1:" + st.to_string()); });
  f.log->append(
      t, 0, make_batch(1), [&](Result<AppendResult> r) { order.add("a1:" + std::to_string(r->base_offset)); },
      [](leveldb::WriteBatch& wb, const AppendResult&) { wb.Delete(side_key("k1")); });
  // k2: put by a side write, then overwritten by a later write -> the write's value.
  f.log->append(
      t, 0, make_batch(1), [&](Result<AppendResult> r) { order.add("a2:" + std::to_string(r->base_offset)); },
      [](leveldb::WriteBatch& wb, const AppendResult& r) { wb.Put(side_key("k2"), "side"); });
  f.log->write(put("k2", "w"), [&](Status st) { order.add("w2:" + st.to_string()); });
  // A write alone in the queue still gets written (no append in its round).
  leveldb::WriteBatch del;
  del.Delete(side_key("nothing"));
  f.log->write(std::move(del), [&](Status st) { order.add("w3:" + st.to_string()); });
  f.env.release_syncs();
  REQUIRE(first.get_future().get().is_ok());
  done.get();

  CHECK(order.seen == std::vector<std::string>{"w1:OK", "a1:1", "a2:2", "w2:OK", "w3:OK"});
  CHECK_FALSE(get(f, "k1"));
  CHECK(get(f, "k2") == "w");
  // Everything queued behind the held fsync was one round: one more fsync (LevelDB may add its own).
  CHECK(f.env.sync_count() - syncs_before <= 3);
  CHECK(f.info(t, 0).end_offset == 3);
}

TEST_CASE("a job splits the round: writes queued before it are durable when it runs") {
  StoreFixture f;
  f.open();
  uint32_t t = f.create_topic("t", 1);
  f.env.hold_syncs();
  std::promise<Result<AppendResult>> first;
  f.log->append(t, 0, make_batch(1), [&first](Result<AppendResult> r) { first.set_value(std::move(r)); });
  f.env.wait_for_held_sync();
  std::atomic<bool> written{false};
  f.log->write(put("before-job", "1"), [&written](Status st) { written = st.is_ok(); });
  bool written_when_job_ran = false;
  std::thread job([&] {
    // next_worker_id runs `in_use` on the writer thread, as a job.
    auto id = f.log->next_worker_id([&](uint32_t) {
      written_when_job_ran = written.load();
      return false;
    });
    CHECK(id.is_ok());
  });
  f.env.release_syncs();
  job.join();
  REQUIRE(first.get_future().get().is_ok());
  CHECK(written_when_job_ran);
  CHECK(get(f, "before-job") == "1");
}

TEST_CASE("write() before open or after stop answers ShuttingDown on the calling thread") {
  StoreFixture f;
  f.open();
  f.log->stop();
  bool called = false;
  f.log->write(put("x", "1"), [&](Status st) {
    called = true;
    CHECK(st.code() == StatusCode::kShuttingDown);
  });
  CHECK(called);
  bool side_called = false;
  f.log->append(
      1, 0, make_batch(1), [&](Result<AppendResult> r) { CHECK(r.status().code() == StatusCode::kShuttingDown); },
      [&](leveldb::WriteBatch&, const AppendResult&) { side_called = true; });
  CHECK_FALSE(side_called);
}
