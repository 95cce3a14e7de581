// Retention, time lookups and worker-id leases: the LogStore's jobs besides appending.
#include <doctest/doctest.h>

#include <set>

#include "tests/broker/store/store_fixture.h"

using namespace tidemq;
using namespace tidemq::broker;
using tidemq::test::make_batch;
using tidemq::test::StoreFixture;

TEST_CASE("retention by time moves the start offset, persists it, and keeps the newest batch") {
  StoreFixture f;
  f.open();
  uint32_t t = f.create_topic("t", 2, /*retention_ms=*/60'000);
  for (int i = 0; i < 5; ++i) {
    REQUIRE(f.append(t, 0, make_batch(4)).is_ok());  // offsets 0..19, stored at T
    f.clock.advance_ms(1);
  }
  f.clock.advance_ms(30'000);
  for (int i = 0; i < 3; ++i) REQUIRE(f.append(t, 0, make_batch(4)).is_ok());  // 20..31 at T+30s

  auto none = f.log->apply_retention();
  REQUIRE(none.is_ok());
  CHECK(*none == 0);
  CHECK(f.info(t, 0).start_offset == 0);

  f.clock.advance_ms(40'000);  // the first five are now older than 60 s, the last three are not
  auto deleted = f.log->apply_retention();
  REQUIRE(deleted.is_ok());
  CHECK(*deleted == 5);
  CHECK(f.info(t, 0).start_offset == 20);
  CHECK(f.info(t, 0).end_offset == 32);
  CHECK(f.log->read(t, 0, 19, 1 << 20).status().code() == StatusCode::kOffsetOutOfRange);
  CHECK(f.log->read(t, 0, 0, 1 << 20).status().code() == StatusCode::kOffsetOutOfRange);
  auto r = f.log->read(t, 0, 20, 1 << 20);
  REQUIRE(r.is_ok());
  CHECK(r->start_offset == 20);
  CHECK(StoreFixture::count_records(r->batches) == 12);
  CHECK(*f.log->offset_for_time(t, 0, 0) == 20);

  f.reopen();
  CHECK(f.info(t, 0).start_offset == 20);
  CHECK(f.info(t, 0).end_offset == 32);
  CHECK(f.log->read(t, 0, 10, 100).status().code() == StatusCode::kOffsetOutOfRange);

  // Everything expired: all but the newest batch go; the log continues after it.
  f.clock.advance_ms(1'000'000);
  deleted = f.log->apply_retention();
  REQUIRE(deleted.is_ok());
  CHECK(*deleted == 2);
  CHECK(f.info(t, 0).start_offset == 28);
  f.reopen();
  CHECK(f.info(t, 0).start_offset == 28);
  auto next = f.append(t, 0, make_batch(1));
  REQUIRE(next.is_ok());
  CHECK(next->base_offset == 32);
}

TEST_CASE("retention by size deletes from the low end until the partition fits") {
  StoreFixture f;
  f.open();
  const std::string batch = make_batch(5, 1000);
  const int64_t per_batch = static_cast<int64_t>(batch.size() + keys::log(0, 0, 0).size());
  uint32_t t = f.create_topic("sized", 1, /*retention_ms=*/-1, /*retention_bytes=*/per_batch * 3 + 100);
  for (int i = 0; i < 10; ++i) REQUIRE(f.append(t, 0, batch).is_ok());  // 50 records

  auto deleted = f.log->apply_retention();
  REQUIRE(deleted.is_ok());
  CHECK(*deleted == 7);
  CHECK(f.info(t, 0).start_offset == 35);
  CHECK(f.log->read(t, 0, 34, 100).status().code() == StatusCode::kOffsetOutOfRange);
  auto r = f.log->read(t, 0, 35, 1 << 20);
  REQUIRE(r.is_ok());
  CHECK(StoreFixture::count_records(r->batches) == 15);

  CHECK(*f.log->apply_retention() == 0);
  f.reopen();
  CHECK(f.info(t, 0).start_offset == 35);
  CHECK(f.info(t, 0).end_offset == 50);
}

TEST_CASE("offset_for_time finds the first batch stored at or after a time") {
  StoreFixture f;
  f.open();
  uint32_t t = f.create_topic("time", 1);
  const int64_t t0 = f.clock.now_ms();
  std::vector<AppendResult> results;
  // Batches of 1..7 records stored 10 ms apart; some share a time.
  for (int i = 0; i < 40; ++i) {
    if (i % 4 != 3) f.clock.advance_ms(10);
    auto r = f.append(t, 0, make_batch(1 + i % 7));
    REQUIRE(r.is_ok());
    results.push_back(*r);
  }
  const uint64_t end = f.info(t, 0).end_offset;
  CHECK(*f.log->offset_for_time(t, 0, 0) == 0);
  CHECK(*f.log->offset_for_time(t, 0, t0) == 0);
  CHECK(*f.log->offset_for_time(t, 0, results.back().store_ms + 1) == end);
  for (size_t i = 0; i < results.size(); ++i) {
    // The first batch with this store time (batches sharing a time come together).
    size_t first = i;
    while (first > 0 && results[first - 1].store_ms == results[i].store_ms) --first;
    CHECK(*f.log->offset_for_time(t, 0, results[i].store_ms) == results[first].base_offset);
    // Times are 10 ms apart, so just before a batch's time still finds that batch.
    CHECK(*f.log->offset_for_time(t, 0, results[i].store_ms - 1) == results[first].base_offset);
  }
  auto empty_topic = f.create_topic("empty", 1);
  CHECK(*f.log->offset_for_time(empty_topic, 0, t0) == 0);
  CHECK(f.log->offset_for_time(t, 3, t0).status().code() == StatusCode::kInvalidPartition);
}

TEST_CASE("next_worker_id skips ids in use, persists its counter, and says Busy when all are taken") {
  StoreFixture f;
  f.flush = FlushMode::kAsync;  // ~1000 leases below; a clean close still persists them
  f.open();
  auto none = [](uint32_t) { return false; };
  CHECK(*f.log->next_worker_id(none) == 0);
  CHECK(*f.log->next_worker_id(none) == 1);
  std::set<uint32_t> used = {2, 3, 5};
  auto in_use = [&](uint32_t id) { return used.contains(id); };
  CHECK(*f.log->next_worker_id(in_use) == 4);
  CHECK(*f.log->next_worker_id(in_use) == 6);

  f.reopen();
  CHECK(*f.log->next_worker_id(in_use) == 7);

  // Wraps around modulo 1024, still skipping.
  for (uint32_t id = 8; id < 1024; ++id) REQUIRE(*f.log->next_worker_id(none) == id);
  CHECK(*f.log->next_worker_id(in_use) == 0);
  CHECK(*f.log->next_worker_id(in_use) == 1);
  CHECK(*f.log->next_worker_id(in_use) == 4);

  auto all = f.log->next_worker_id([](uint32_t) { return true; });
  CHECK(all.status().code() == StatusCode::kBusy);
  CHECK(*f.log->next_worker_id(none) == 5);  // a refused lease does not advance the counter
}
