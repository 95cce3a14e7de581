// The delay store (SPEC §7) with a manual clock: invisible until due, moved exactly once (the
// append and the key's delete are one WriteBatch), in due order, bounded per tick, across a
// restart; keys written behind the scan position are found; a deleted topic's messages dropped.
#include <doctest/doctest.h>

#include "tests/broker/schedule/schedule_fixture.h"

using namespace tidemq;
using namespace tidemq::broker;
using namespace tidemq::test;

namespace {

size_t delay_keys(ScheduleFixture& f) {
  auto it = f.db->iterator(false);
  size_t n = 0;
  const std::string end = keys::keyspace_end(keys::Keyspace::kDelay);
  for (it->Seek(keys::keyspace_begin(keys::Keyspace::kDelay)); it->Valid() && it->key().compare(end) < 0; it->Next()) ++n;
  return n;
}

}  // namespace

TEST_CASE("a scheduled batch is invisible until its due time, then appended exactly once") {
  ScheduleFixture f;
  const uint32_t t = f.create_topic("orders", 2);
  const int64_t due = f.clock.now_ms() + 5000;
  REQUIRE(f.schedule(t, 1, due, make_batch(3)).is_ok());
  CHECK(f.delays->backlog() == 1);
  CHECK(f.delays->backlog(t) == 1);
  CHECK(f.move() == 0);
  f.clock.advance_ms(4999);
  CHECK(f.move() == 0);
  CHECK(f.info(t, 1).end_offset == 0);
  f.clock.advance_ms(1);
  CHECK(f.move() == 1);
  CHECK(f.info(t, 1).end_offset == 3);
  CHECK(f.info(t, 0).end_offset == 0);
  CHECK(delay_keys(f) == 0);  // deleted with the append
  CHECK(f.delays->backlog() == 0);
  CHECK(f.delays->moved() == 1);
  f.clock.advance_ms(60'000);
  CHECK(f.move() == 0);
  CHECK(f.info(t, 1).end_offset == 3);
  auto stored = f.records("orders", 1);
  REQUIRE(stored.size() == 3);
  CHECK(stored[0].id == 1);
}

TEST_CASE("due messages move in due order, at most max_per_round per tick") {
  ScheduleFixture f(/*max_per_round=*/3);
  const uint32_t t = f.create_topic("orders", 1);
  const int64_t now = f.clock.now_ms();
  // Scheduled out of order; ids say the due order.
  for (uint64_t id : {5, 2, 9, 1, 7, 3, 10, 4, 8, 6}) {
    REQUIRE(f.schedule(t, 0, now + 1000 * static_cast<int64_t>(id), one_message(id)).is_ok());
  }
  f.clock.advance_ms(10'000);
  CHECK(f.move() == 3);
  CHECK(f.move() == 3);
  CHECK(f.move() == 3);
  CHECK(f.move() == 1);
  CHECK(f.move() == 0);
  auto stored = f.records("orders");
  REQUIRE(stored.size() == 10);
  for (size_t i = 0; i < stored.size(); ++i) CHECK(stored[i].id == i + 1);
}

TEST_CASE("scheduled messages survive a restart in the middle and are delivered once") {
  ScheduleFixture f;
  const uint32_t t = f.create_topic("orders", 1);
  const int64_t now = f.clock.now_ms();
  for (uint64_t id = 1; id <= 3; ++id) {
    REQUIRE(f.schedule(t, 0, now + 1000 * static_cast<int64_t>(id), one_message(id)).is_ok());
  }
  f.clock.advance_ms(1000);
  CHECK(f.move() == 1);
  f.reopen_all();
  CHECK(f.delays->backlog() == 2);
  CHECK(f.move() == 0);  // the first tick after the restart scans from the start: nothing due
  f.clock.advance_ms(2000);
  CHECK(f.move() == 2);
  auto stored = f.records("orders");
  REQUIRE(stored.size() == 3);
  for (size_t i = 0; i < 3; ++i) CHECK(stored[i].id == i + 1);
}

TEST_CASE("a key written behind the last moved due time is still found") {
  ScheduleFixture f;
  const uint32_t t = f.create_topic("orders", 1);
  const int64_t now = f.clock.now_ms();
  REQUIRE(f.schedule(t, 0, now + 10'000, one_message(1)).is_ok());
  f.clock.advance_ms(10'000);
  CHECK(f.move() == 1);
  // A send whose due time was read before that round, written after it (or a clock step back).
  REQUIRE(f.schedule(t, 0, now + 5'000, one_message(2)).is_ok());
  CHECK(f.move() == 1);
  CHECK(f.records("orders").size() == 2);
}

TEST_CASE("the same batch scheduled twice (a producer's retry) is delivered once") {
  ScheduleFixture f;
  const uint32_t t = f.create_topic("orders", 1);
  const int64_t due = f.clock.now_ms() + 1000;
  REQUIRE(f.schedule(t, 0, due, one_message(42)).is_ok());
  REQUIRE(f.schedule(t, 0, due, one_message(42)).is_ok());
  CHECK(delay_keys(f) == 1);
  f.clock.advance_ms(1000);
  f.move();
  CHECK(f.records("orders").size() == 1);
}

TEST_CASE("a message whose topic was deleted is dropped and counted, not retried for ever") {
  ScheduleFixture f;
  const uint32_t gone = f.create_topic("gone", 1);
  const uint32_t kept = f.create_topic("kept", 1);
  const int64_t due = f.clock.now_ms() + 1000;
  REQUIRE(f.schedule(gone, 0, due, one_message(1)).is_ok());
  REQUIRE(f.schedule(kept, 0, due, one_message(2)).is_ok());
  REQUIRE(f.topics->remove("gone").is_ok());
  REQUIRE(f.log->drop_topic(gone, 1).is_ok());
  f.clock.advance_ms(1000);
  CHECK(f.move() == 1);
  CHECK(f.delays->dropped() == 1);
  CHECK(f.delays->backlog() == 0);
  CHECK(delay_keys(f) == 0);
  CHECK(f.records("kept").size() == 1);
}
