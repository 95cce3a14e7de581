// A failed LevelDB write or fsync is sticky: nothing is acknowledged or published afterwards.
#include <doctest/doctest.h>

#include "tests/broker/store/store_fixture.h"

using namespace tidemq;
using namespace tidemq::broker;
using tidemq::test::make_batch;
using tidemq::test::StoreFixture;

TEST_CASE("an fsync failure fails the append and every later write, even after the disk recovers") {
  StoreFixture f;
  f.open();
  uint32_t t = f.create_topic("t", 1);
  REQUIRE(f.append(t, 0, make_batch(2)).is_ok());
  const auto before = f.info(t, 0);

  f.env.set_fail_sync(true);
  f.env.arm();
  auto failed = f.append(t, 0, make_batch(3));
  CHECK(failed.status().code() == StatusCode::kStorageError);
  CHECK(failed.status().message().find("fsync") != std::string::npos);
  CHECK_FALSE(failed.status().retriable());

  f.env.disarm();
  auto later = f.append(t, 0, make_batch(1));
  CHECK(later.status().code() == StatusCode::kStorageError);
  CHECK(later.status().message() == failed.status().message());
  CHECK(f.db->sticky_error().code() == StatusCode::kStorageError);
  // Other writers of the same Db are refused as well.
  CHECK(f.topics->create_or_update(TopicConfig{"new"}).status().code() == StatusCode::kStorageError);
  CHECK(f.log->next_worker_id([](uint32_t) { return false; }).status().code() == StatusCode::kStorageError);

  // Nothing of the failed rounds was published.
  const auto after = f.info(t, 0);
  CHECK(after.end_offset == before.end_offset);
  CHECK(after.last_store_ms == before.last_store_ms);
  auto r = f.log->read(t, 0, 0, 1 << 20);
  REQUIRE(r.is_ok());
  CHECK(StoreFixture::count_records(r->batches) == 2);
  CHECK(f.log->read(t, 0, 2, 1 << 20)->batches.empty());
}

TEST_CASE("a write failure in async mode is sticky too, and idempotent state is rolled back") {
  StoreFixture f;
  f.flush = FlushMode::kAsync;
  f.open();
  uint32_t t = f.create_topic("t", 1);
  REQUIRE(f.append(t, 0, make_batch(1, 8, 3, 0)).is_ok());

  f.env.set_fail_append(true);
  f.env.arm();
  auto failed = f.append(t, 0, make_batch(1, 8, 3, 1));
  CHECK(failed.status().code() == StatusCode::kStorageError);
  f.env.disarm();
  // The failed batch was not remembered as stored: its retry is checked, not acknowledged.
  auto retry = f.append(t, 0, make_batch(1, 8, 3, 1));
  CHECK(retry.status().code() == StatusCode::kStorageError);
  CHECK(f.info(t, 0).end_offset == 1);
}
