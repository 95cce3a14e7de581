// Producer and scheduled messages (SPEC §7) against FakeRetryBroker, which captures every
// ProduceRequest: scheduled messages travel in batches of their own (partition, due time), never
// idempotent, with PartitionBatch.deliver_at_ms set; a delay level becomes a due time once, when
// the send is accepted, and a retry keeps it (and the ids); bad times are refused at send time.
#include <doctest/doctest.h>

#include <future>
#include <map>
#include <mutex>
#include <vector>

#include "common/clock.h"
#include "tests/client/fake_retry_broker.h"
#include "tidemq/producer.h"

using namespace tidemq;
using namespace std::chrono_literals;

namespace {

ProducerOptions options_for(const test::FakeRetryBroker& b) {
  ProducerOptions o;
  o.client.broker = b.address();
  o.client.request_timeout = 2000ms;
  o.linger = 10s;  // batches leave on flush(): the test decides what shares a batch
  o.retry_backoff = 10ms;
  return o;
}

std::unique_ptr<Producer> make_producer(ProducerOptions o) {
  auto p = Producer::create(std::move(o));
  REQUIRE_MESSAGE(p.is_ok(), p.status().to_string());
  return std::move(*p);
}

Message msg(std::string body, int64_t deliver_at_ms = 0, uint32_t delay_level = 0) {
  Message m;
  m.topic = "orders";
  m.partition = 0;
  m.body = std::move(body);
  m.deliver_at_ms = deliver_at_ms;
  m.delay_level = delay_level;
  return m;
}

struct Results {
  std::mutex mu;
  std::map<std::string, Result<SendResult>> by_body;
  Producer::SendCallback cb(const std::string& body) {
    return [this, body](const Result<SendResult>& r) {
      std::lock_guard lock(mu);
      by_body.emplace(body, r);
    };
  }
};

const test::FakeRetryBroker::ProducedBatch* batch_with(const std::vector<test::FakeRetryBroker::ProducedBatch>& all,
                                                       const std::string& body) {
  for (const auto& b : all) {
    for (const auto& r : b.records) {
      if (r.body == body) return &b;
    }
  }
  return nullptr;
}

std::vector<std::string> bodies(const test::FakeRetryBroker::ProducedBatch& b) {
  std::vector<std::string> out;
  for (const auto& r : b.records) out.push_back(r.body);
  return out;
}

}  // namespace

TEST_CASE("scheduled messages get batches of their own, non-idempotent, with deliver_at_ms; levels become due times") {
  test::FakeRetryBroker broker;
  auto p = make_producer(options_for(broker));
  const int64_t at = Clock::system().now_ms() + 60'000;
  Results res;
  const int64_t before = Clock::system().now_ms();
  p->send_async(msg("now-1"), res.cb("now-1"));
  p->send_async(msg("at-1", at), res.cb("at-1"));
  p->send_async(msg("now-2"), res.cb("now-2"));
  p->send_async(msg("at-2", at), res.cb("at-2"));
  p->send_async(msg("level-3", 0, 3), res.cb("level-3"));
  const int64_t after = Clock::system().now_ms();
  REQUIRE(p->flush(5s).is_ok());

  const auto produced = broker.produced();
  REQUIRE(produced.size() == 3);
  const auto* now_batch = batch_with(produced, "now-1");
  const auto* at_batch = batch_with(produced, "at-1");
  const auto* level_batch = batch_with(produced, "level-3");
  REQUIRE(now_batch);
  REQUIRE(at_batch);
  REQUIRE(level_batch);
  CHECK(bodies(*now_batch) == std::vector<std::string>{"now-1", "now-2"});
  CHECK(now_batch->deliver_at_ms == 0);
  CHECK(now_batch->producer_id != 0);  // idempotent
  CHECK(now_batch->base_sequence == 0);
  CHECK(bodies(*at_batch) == std::vector<std::string>{"at-1", "at-2"});
  CHECK(at_batch->deliver_at_ms == static_cast<uint64_t>(at));
  CHECK(at_batch->producer_id == 0);
  CHECK(at_batch->base_sequence == 0);
  CHECK(bodies(*level_batch) == std::vector<std::string>{"level-3"});
  CHECK(level_batch->producer_id == 0);
  CHECK(level_batch->deliver_at_ms >= static_cast<uint64_t>(before + 10'000));
  CHECK(level_batch->deliver_at_ms <= static_cast<uint64_t>(after + 10'000));
  // One batch per partition per request: the three batches of partition 0 took three requests.
  CHECK(broker.received(wire::Body::ProduceRequest) == 3);

  {
    std::lock_guard lock(res.mu);
    REQUIRE(res.by_body.size() == 5);
    for (const char* b : {"at-1", "at-2", "level-3"}) {
      CAPTURE(b);
      REQUIRE(res.by_body.at(b).is_ok());
      CHECK(res.by_body.at(b)->scheduled);
      CHECK(res.by_body.at(b)->offset == 0);
    }
    REQUIRE(res.by_body.at("now-1").is_ok());
    REQUIRE(res.by_body.at("now-2").is_ok());
    CHECK_FALSE(res.by_body.at("now-1")->scheduled);
    CHECK(res.by_body.at("now-1")->offset == 0);
    CHECK(res.by_body.at("now-2")->offset == 1);
  }

  // The partition's idempotent sequence did not advance for the scheduled messages.
  p->send_async(msg("now-3"), res.cb("now-3"));
  REQUIRE(p->flush(5s).is_ok());
  {
    std::lock_guard lock(res.mu);
    REQUIRE(res.by_body.at("now-3").is_ok());
    CHECK(res.by_body.at("now-3")->offset == 2);
  }
  const auto later = broker.produced();
  REQUIRE(later.size() == 4);
  CHECK(bodies(later[3]) == std::vector<std::string>{"now-3"});
  CHECK(later[3].producer_id == now_batch->producer_id);
  CHECK(later[3].base_sequence == 2);
  CHECK(later[3].deliver_at_ms == 0);
}

TEST_CASE("a retried scheduled send keeps its ids and the due time its delay level got when accepted") {
  test::FakeRetryBroker broker;
  auto o = options_for(broker);
  o.linger = 0ms;
  auto p = make_producer(o);
  broker.fail_next(wire::Body::ProduceRequest, wire::ErrorCode::SYSTEM_BUSY, 2);
  const int64_t before = Clock::system().now_ms();
  auto r = p->send(msg("later", 0, 1));
  const int64_t after = Clock::system().now_ms();
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  CHECK(r->scheduled);
  const auto produced = broker.produced();
  REQUIRE(produced.size() == 3);  // two refused attempts, then the accepted one
  for (const auto& b : produced) {
    CHECK(b.deliver_at_ms == produced[0].deliver_at_ms);
    CHECK(b.producer_id == 0);
    CHECK(b.base_sequence == 0);
    REQUIRE(b.records.size() == 1);
    CHECK(b.records[0].id == r->id);
  }
  CHECK(produced[0].deliver_at_ms >= static_cast<uint64_t>(before + 1000));
  CHECK(produced[0].deliver_at_ms <= static_cast<uint64_t>(after + 1000));
}

TEST_CASE("send-time validation: beyond 3 days, a level above 18, or both set is InvalidArgument; a past time is now") {
  test::FakeRetryBroker broker;
  auto o = options_for(broker);
  o.linger = 0ms;
  auto p = make_producer(o);
  const int64_t now = Clock::system().now_ms();
  CHECK(p->send(msg("far", now + kMaxDeliverAheadMs + 60'000)).status().code() == StatusCode::kInvalidArgument);
  CHECK(p->send(msg("level", 0, 19)).status().code() == StatusCode::kInvalidArgument);
  CHECK(p->send(msg("both", now + 5000, 2)).status().code() == StatusCode::kInvalidArgument);
  std::promise<Status> async_status;
  p->send_async(msg("far-async", now + 4 * 86'400'000LL),
                [&](const Result<SendResult>& r) { async_status.set_value(r.status()); });
  CHECK(async_status.get_future().get().code() == StatusCode::kInvalidArgument);
  CHECK(broker.received(wire::Body::ProduceRequest) == 0);

  auto past = p->send(msg("past", now - 1000));
  REQUIRE_MESSAGE(past.is_ok(), past.status().to_string());
  CHECK_FALSE(past->scheduled);
  const auto produced = broker.produced();
  REQUIRE(produced.size() == 1);
  CHECK(produced[0].deliver_at_ms == 0);
  CHECK(produced[0].producer_id != 0);  // an ordinary idempotent batch
}
