// OffsetTracker: the push consumer's lowest-unconsumed-offset rule (RocketMQ ProcessQueue) and
// its flow-control accounting.
#include "client/offset_tracker.h"

#include <doctest/doctest.h>

namespace tidemq::client {
namespace {

TEST_CASE("commit offset is the fetch position while nothing is pending") {
  OffsetTracker t(100);
  CHECK(t.commit_offset() == 100);
  CHECK(t.position() == 100);
  t.advance(120);  // the broker skipped 20 filtered records
  CHECK(t.commit_offset() == 120);
  t.advance(110);  // never backwards
  CHECK(t.position() == 120);
}

TEST_CASE("out-of-order completions: the commit offset is the lowest offset not consumed") {
  OffsetTracker t(10);
  for (uint64_t o = 10; o < 15; ++o) t.add(o, 1);
  CHECK(t.position() == 15);
  CHECK(t.commit_offset() == 10);
  CHECK(t.complete(12));
  CHECK(t.complete(14));
  CHECK(t.commit_offset() == 10);  // 10 still pending: committing more would skip it after a crash
  CHECK(t.complete(10));
  CHECK(t.commit_offset() == 11);
  CHECK(t.complete(11));
  CHECK(t.commit_offset() == 13);
  CHECK(t.complete(13));
  CHECK(t.commit_offset() == 15);  // all done: the fetch position
  CHECK_FALSE(t.complete(13));     // not pending twice
}

TEST_CASE("a message being reconsumed keeps the commit offset below it") {
  OffsetTracker t(0);
  for (uint64_t o = 0; o < 100; ++o) t.add(o, 10);
  // Offset 3 fails (ReconsumeLater) again and again while everything else succeeds.
  for (uint64_t o = 0; o < 100; ++o) {
    if (o != 3) CHECK(t.complete(o));
  }
  t.advance(150);
  CHECK(t.commit_offset() == 3);
  CHECK(t.buffered_messages() == 1);
  CHECK(t.complete(3));  // finally consumed
  CHECK(t.commit_offset() == 150);
}

TEST_CASE("flow control: pauses at the message or byte limit, resumes as messages complete") {
  OffsetTracker t(0);
  const size_t max_messages = 4;
  const size_t max_bytes = 1000;
  t.add(0, 100);
  t.add(1, 100);
  t.add(2, 100);
  CHECK_FALSE(t.over_limit(max_messages, max_bytes));
  t.add(3, 100);
  CHECK(t.buffered_messages() == 4);
  CHECK(t.buffered_bytes() == 400);
  CHECK(t.over_limit(max_messages, max_bytes));  // 4 messages
  CHECK(t.complete(1));
  CHECK_FALSE(t.over_limit(max_messages, max_bytes));
  t.add(4, 700);
  CHECK(t.buffered_bytes() == 1000);
  CHECK(t.over_limit(max_messages, max_bytes));  // bytes
  CHECK(t.complete(4));
  CHECK(t.buffered_bytes() == 300);
  CHECK_FALSE(t.over_limit(max_messages, max_bytes));
}

}  // namespace
}  // namespace tidemq::client
