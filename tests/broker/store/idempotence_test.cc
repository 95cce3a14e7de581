// Idempotent producers (SPEC 5.1): sequence checks, dedup of retries, also after a restart.
#include "broker/store/producer_state.h"

#include <doctest/doctest.h>

#include <vector>

#include "tests/broker/store/store_fixture.h"

using namespace tidemq;
using namespace tidemq::broker;
using tidemq::test::make_batch;
using tidemq::test::StoreFixture;
using Verdict = ProducerState::Verdict;

TEST_CASE("ProducerState: Kafka sequence rules and a round-tripping value") {
  ProducerState s;
  CHECK(s.check(77, 3).verdict == Verdict::kAccept);  // first batch: any sequence
  s.add({0, 3, 100, 1});
  CHECK(s.check(3, 1).verdict == Verdict::kAccept);
  CHECK(s.check(4, 1).verdict == Verdict::kOutOfOrder);
  CHECK(s.check(1, 1).verdict == Verdict::kDuplicateUnknown);
  auto dup = s.check(0, 3);
  CHECK(dup.verdict == Verdict::kDuplicate);
  CHECK(dup.original.base_offset == 100);
  CHECK(s.check(0, 2).verdict == Verdict::kDuplicateUnknown);  // same start, other length

  for (uint32_t i = 0; i < 5; ++i) s.add({3 + i, 1, 103 + i, 2});
  CHECK(s.check(0, 3).verdict == Verdict::kDuplicateUnknown);  // forgotten: only 5 are kept
  CHECK(s.check(3, 1).verdict == Verdict::kDuplicate);
  CHECK(s.check(8, 1).verdict == Verdict::kAccept);

  auto decoded = ProducerState::decode(s.encode());
  REQUIRE(decoded.is_ok());
  CHECK(decoded->encode() == s.encode());
  CHECK(decoded->newest().base_offset == 107);
  CHECK_FALSE(ProducerState::decode("x").is_ok());
  CHECK_FALSE(ProducerState::decode(s.encode().substr(0, 10)).is_ok());
}

TEST_CASE("a retried batch is acknowledged again with its offset and stored once, also after reopen") {
  StoreFixture f;
  f.open();
  uint32_t t = f.create_topic("idem", 2);
  constexpr uint64_t kProducer = 0x1234;

  auto first = f.append(t, 0, make_batch(3, 16, kProducer, 0));
  REQUIRE(first.is_ok());
  CHECK(first->base_offset == 0);
  REQUIRE(f.append(t, 0, make_batch(2)).is_ok());  // someone else, not idempotent: offsets 3..4
  f.clock.advance_ms(100);

  auto retry = f.append(t, 0, make_batch(3, 16, kProducer, 0));
  REQUIRE(retry.is_ok());
  CHECK(retry->duplicate);
  CHECK(retry->base_offset == 0);
  CHECK(retry->record_count == 3);
  CHECK(retry->store_ms == first->store_ms);
  CHECK(f.info(t, 0).end_offset == 5);

  auto second = f.append(t, 0, make_batch(2, 16, kProducer, 3));
  REQUIRE(second.is_ok());
  CHECK_FALSE(second->duplicate);
  CHECK(second->base_offset == 5);
  // The same producer on another partition has its own sequence.
  auto elsewhere = f.append(t, 1, make_batch(1, 16, kProducer, 1000));
  REQUIRE(elsewhere.is_ok());
  CHECK_FALSE(elsewhere->duplicate);

  f.reopen();
  auto after = f.append(t, 0, make_batch(2, 16, kProducer, 3));
  REQUIRE(after.is_ok());
  CHECK(after->duplicate);
  CHECK(after->base_offset == 5);
  auto oldest = f.append(t, 0, make_batch(3, 16, kProducer, 0));
  REQUIRE(oldest.is_ok());
  CHECK(oldest->duplicate);
  CHECK(oldest->base_offset == 0);
  CHECK(f.info(t, 0).end_offset == 7);
  auto r = f.log->read(t, 0, 0, 1 << 20);
  REQUIRE(r.is_ok());
  CHECK(StoreFixture::count_records(r->batches) == 7);

  auto next = f.append(t, 0, make_batch(1, 16, kProducer, 5));
  REQUIRE(next.is_ok());
  CHECK(next->base_offset == 7);
}

TEST_CASE("sequence gaps and stale sequences are rejected without writing") {
  StoreFixture f;
  f.open();
  uint32_t t = f.create_topic("seq", 1);
  constexpr uint64_t kProducer = 9;
  for (uint32_t i = 0; i < 7; ++i) REQUIRE(f.append(t, 0, make_batch(1, 8, kProducer, i)).is_ok());

  auto gap = f.append(t, 0, make_batch(1, 8, kProducer, 9));
  CHECK(gap.status().code() == StatusCode::kOutOfOrderSequence);
  CHECK(gap.status().retriable());
  auto stale = f.append(t, 0, make_batch(1, 8, kProducer, 0));  // older than the last five
  CHECK(stale.status().code() == StatusCode::kDuplicateSequence);
  CHECK(f.info(t, 0).end_offset == 7);
  // The expected sequence still works after the rejections.
  auto ok = f.append(t, 0, make_batch(1, 8, kProducer, 7));
  REQUIRE(ok.is_ok());
  CHECK(ok->base_offset == 7);

  // producer_id 0 is not checked: the same bytes twice are stored twice.
  REQUIRE(f.append(t, 0, make_batch(1, 8, 0, 0)).is_ok());
  auto again = f.append(t, 0, make_batch(1, 8, 0, 0));
  REQUIRE(again.is_ok());
  CHECK_FALSE(again->duplicate);
  CHECK(f.info(t, 0).end_offset == 10);
}

TEST_CASE("find_stored_batch: a batch older than the window is found with its offset, a missing one is not") {
  StoreFixture f;
  f.open();
  uint32_t t = f.create_topic("window", 1);
  constexpr uint64_t kProducer = 42;
  for (uint32_t i = 0; i < 8; ++i) {
    REQUIRE(f.append(t, 0, make_batch(2, 8, kProducer, 2 * i)).is_ok());  // offsets 0..15, seq 0..15
    REQUIRE(f.append(t, 0, make_batch(1, 8, 7, i)).is_ok());               // another producer between
  }
  f.reopen();
  auto stale = f.append(t, 0, make_batch(2, 8, kProducer, 2));
  REQUIRE(stale.status().code() == StatusCode::kDuplicateSequence);

  auto found = f.log->find_stored_batch(t, 0, kProducer, 2, 2);
  REQUIRE_MESSAGE(found.is_ok(), found.status().to_string());
  CHECK(found->duplicate);
  CHECK(found->base_offset == 3);  // batch 0 at 0..1, the other producer's at 2, then ours
  CHECK(found->record_count == 2);
  CHECK(f.log->find_stored_batch(t, 0, kProducer, 0, 2)->base_offset == 0);
  CHECK(f.log->find_stored_batch(t, 0, kProducer, 1, 2).status().code() == StatusCode::kNotFound);  // mid-batch
  CHECK(f.log->find_stored_batch(t, 0, kProducer, 2, 1).status().code() == StatusCode::kNotFound);  // other length
  CHECK(f.log->find_stored_batch(t, 0, 99, 0, 2).status().code() == StatusCode::kNotFound);
  // The search is bounded: the oldest batch is out of reach of a 4-batch scan.
  CHECK(f.log->find_stored_batch(t, 0, kProducer, 0, 2, 4).status().code() == StatusCode::kNotFound);
}

TEST_CASE("within one group-commit round, later batches see the earlier ones' sequences") {
  StoreFixture f;
  f.open();
  uint32_t t = f.create_topic("round", 1);
  uint32_t other = f.create_topic("other", 1);
  constexpr uint64_t kProducer = 5;
  REQUIRE(f.append(t, 0, make_batch(2, 8, kProducer, 0)).is_ok());

  std::vector<Result<AppendResult>> results;
  std::mutex mu;
  auto collect = [&](Result<AppendResult> r) {
    std::lock_guard lock(mu);
    results.push_back(std::move(r));
  };
  // Park the writer in an fsync; the next four appends then form one round, in this order.
  f.env.hold_syncs();
  std::promise<void> parked;
  f.log->append(other, 0, make_batch(1), [&](Result<AppendResult>) { parked.set_value(); });
  f.env.wait_for_held_sync();
  f.log->append(t, 0, make_batch(3, 8, kProducer, 2), collect);  // next in line: accepted
  f.log->append(t, 0, make_batch(1, 8, kProducer, 5), collect);  // follows the one above
  f.log->append(t, 0, make_batch(3, 8, kProducer, 2), collect);  // a retry inside the round
  f.log->append(t, 0, make_batch(1, 8, kProducer, 9), collect);  // a gap
  f.env.release_syncs();
  parked.get_future().get();
  CHECK(f.append(other, 0, make_batch(1)).is_ok());  // a full round later: everything is done

  std::lock_guard lock(mu);
  REQUIRE(results.size() == 4);
  REQUIRE(results[0].is_ok());
  CHECK(results[0]->base_offset == 2);
  REQUIRE(results[1].is_ok());
  CHECK(results[1]->base_offset == 5);
  REQUIRE(results[2].is_ok());
  CHECK(results[2]->duplicate);
  CHECK(results[2]->base_offset == 2);
  CHECK(results[3].status().code() == StatusCode::kOutOfOrderSequence);
  CHECK(f.info(t, 0).end_offset == 6);
}
