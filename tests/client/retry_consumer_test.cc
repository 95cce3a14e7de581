// Consumers and retries (SPEC §7) against FakeRetryBroker: subscribing also subscribes
// %RETRY%<group>; Consumer::send_back sends the message as received; a message read from the
// retry topic is given under its origin topic while commits go to the retry topic's partition;
// the push consumer sends a ReconsumeLater message back (and moves on), falls back to in-place
// redelivery when the send-back fails, and in ordered mode sends a message that keeps failing
// to the DLQ after max_reconsume_in_place redeliveries.
#include <doctest/doctest.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "tests/client/fake_retry_broker.h"
#include "tidemq/consumer.h"
#include "tidemq/push_consumer.h"

using namespace tidemq;
using namespace std::chrono_literals;
using test::FakeRecord;

namespace {

constexpr const char* kGroup = "billing";
constexpr const char* kRetry = "%RETRY%billing";

ConsumerOptions consumer_options(const test::FakeRetryBroker& b) {
  ConsumerOptions o;
  o.client.broker = b.address();
  o.client.request_timeout = 2000ms;
  o.group = kGroup;
  o.auto_commit = false;
  o.auto_commit_interval = 100ms;
  o.max_poll_wait = 100ms;
  return o;
}

std::vector<FakeRecord> numbered(int n, uint64_t first_id = 100) {
  std::vector<FakeRecord> out;
  for (int i = 0; i < n; ++i) {
    FakeRecord r;
    r.id = first_id + static_cast<uint64_t>(i);
    r.body = "m" + std::to_string(i);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<Message> poll_n(Consumer& c, size_t n) {
  std::vector<Message> got;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (got.size() < n && std::chrono::steady_clock::now() < deadline) {
    auto r = c.poll(200ms);
    REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
    for (auto& m : *r) got.push_back(std::move(m));
  }
  return got;
}

// Listener calls, and a way to wait for a condition on them.
struct Calls {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Message> calls;
  void add(const Message& m) {
    std::lock_guard lock(mu);
    calls.push_back(m);
    cv.notify_all();
  }
  size_t count(const std::string& body) {
    std::lock_guard lock(mu);
    return static_cast<size_t>(std::count_if(calls.begin(), calls.end(), [&](const Message& m) { return m.body == body; }));
  }
  std::vector<Message> of(const std::string& body) {
    std::lock_guard lock(mu);
    std::vector<Message> out;
    for (const auto& m : calls) {
      if (m.body == body) out.push_back(m);
    }
    return out;
  }
};

std::unique_ptr<PushConsumer> start_push(const test::FakeRetryBroker& b, PushConsumerOptions o, MessageListener l) {
  o.consumer = consumer_options(b);
  o.consumer.auto_commit = true;
  auto c = PushConsumer::create(std::move(o), std::move(l));
  REQUIRE_MESSAGE(c.is_ok(), c.status().to_string());
  REQUIRE((*c)->subscribe("orders").is_ok());
  REQUIRE((*c)->start().is_ok());
  return std::move(*c);
}

}  // namespace

TEST_CASE("subscribing adds %RETRY%<group> with *; send_back sends the message as received") {
  test::FakeRetryBroker broker;
  broker.set_partitions("orders", 1);
  broker.set_partitions(kRetry, 1);
  FakeRecord rec;
  rec.id = 0x0123456789abcdef;
  rec.born_ms = 1'767'225'600'123;
  rec.reconsume_times = 2;
  rec.key = "order-7";
  rec.tags = "TagA";
  rec.properties = {{"trace", "abc"}, {"empty", ""}};
  rec.body = std::string("pay\0load", 8);
  broker.append("orders", 0, {rec});

  auto c = Consumer::create(consumer_options(broker));
  REQUIRE(c.is_ok());
  REQUIRE((*c)->subscribe("orders", "TagA").is_ok());
  auto got = poll_n(**c, 1);
  REQUIRE(got.size() == 1);
  const auto subs = broker.subscriptions();
  CHECK(std::count(subs.begin(), subs.end(), std::make_pair(std::string(kRetry), std::string("*"))) == 1);
  CHECK(std::count(subs.begin(), subs.end(), std::make_pair(std::string("orders"), std::string("TagA"))) == 1);
  CHECK(got[0].topic == "orders");
  CHECK(got[0].read_topic.empty());

  REQUIRE((*c)->send_back(got[0]).is_ok());
  const auto sent = broker.sent_back();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].group == kGroup);
  CHECK(sent[0].topic == "orders");
  CHECK_FALSE(sent[0].to_dlq);
  CHECK(sent[0].header.producer_id == 0);
  REQUIRE(sent[0].records.size() == 1);
  const FakeRecord& back = sent[0].records[0];
  CHECK(back.id == rec.id);
  CHECK(back.born_ms == rec.born_ms);
  CHECK(back.reconsume_times == rec.reconsume_times);
  CHECK(back.key == rec.key);
  CHECK(back.tags == rec.tags);
  CHECK(back.properties == rec.properties);
  CHECK(back.body == rec.body);

  broker.fail_next(wire::Body::SendBackRequest, wire::ErrorCode::SYSTEM_BUSY);
  CHECK((*c)->send_back(got[0]).code() == StatusCode::kBusy);
  CHECK((*c)->close().is_ok());
  CHECK((*c)->send_back(got[0]).code() == StatusCode::kShuttingDown);
}

TEST_CASE("a message from the retry topic has its origin topic; send_back and commits use the retry topic") {
  test::FakeRetryBroker broker;
  broker.set_partitions("orders", 1);
  broker.set_partitions(kRetry, 1);
  FakeRecord rec;
  rec.id = 77;
  rec.reconsume_times = 1;
  rec.properties = {{"ORIGIN_TOPIC", "orders"}};
  rec.body = "retried";
  broker.append(kRetry, 0, {rec});

  auto c = Consumer::create(consumer_options(broker));
  REQUIRE(c.is_ok());
  REQUIRE((*c)->subscribe("orders").is_ok());
  auto got = poll_n(**c, 1);
  REQUIRE(got.size() == 1);
  CHECK(got[0].topic == "orders");
  CHECK(got[0].read_topic == kRetry);
  CHECK(got[0].partition == 0);
  CHECK(got[0].offset == 0);
  CHECK(got[0].reconsume_times == 1);

  REQUIRE((*c)->send_back(got[0]).is_ok());
  REQUIRE(broker.sent_back().size() == 1);
  CHECK(broker.sent_back()[0].topic == kRetry);

  REQUIRE((*c)->commit_sync().is_ok());
  CHECK(broker.committed(kRetry, 0) == std::optional<uint64_t>(1));
  CHECK(broker.committed("orders", 0) != std::optional<uint64_t>(1));  // nothing was read from orders
}

TEST_CASE("push consumer: ReconsumeLater sends the message back once and the partition's offset moves on") {
  test::FakeRetryBroker broker;
  broker.set_partitions("orders", 1);
  broker.append("orders", 0, numbered(5));
  Calls calls;
  PushConsumerOptions o;
  o.reconsume_delay = 10ms;
  auto c = start_push(broker, o, [&](const Message& m) {
    calls.add(m);
    return m.body == "m2" ? ConsumeStatus::kReconsumeLater : ConsumeStatus::kSuccess;
  });
  REQUIRE(broker.wait_committed("orders", 0, 5));
  REQUIRE(c->shutdown().is_ok());
  const auto sent = broker.sent_back();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].topic == "orders");
  CHECK_FALSE(sent[0].to_dlq);
  REQUIRE(sent[0].records.size() == 1);
  CHECK(sent[0].records[0].body == "m2");
  CHECK(sent[0].records[0].id == 102);
  CHECK(calls.count("m2") == 1);  // no redelivery in place
  const auto s = c->stats();
  CHECK(s.sent_back == 1);
  CHECK(s.send_back_failed == 0);
  CHECK(s.reconsume_later == 1);
  CHECK(s.consumed == 4);
  CHECK(s.given_up == 0);
}

TEST_CASE("push consumer: a failed send-back falls back to in-place redelivery, and the next failure is sent back") {
  test::FakeRetryBroker broker;
  broker.set_partitions("orders", 1);
  broker.append("orders", 0, numbered(5));
  broker.fail_next(wire::Body::SendBackRequest, wire::ErrorCode::SYSTEM_BUSY);
  Calls calls;
  PushConsumerOptions o;
  o.reconsume_delay = 10ms;
  auto c = start_push(broker, o, [&](const Message& m) {
    calls.add(m);
    return m.body == "m2" ? ConsumeStatus::kReconsumeLater : ConsumeStatus::kSuccess;
  });
  REQUIRE(broker.wait_committed("orders", 0, 5));
  REQUIRE(c->shutdown().is_ok());
  const auto m2 = calls.of("m2");
  REQUIRE(m2.size() == 2);  // the first delivery, then once in place
  CHECK(m2[0].reconsume_times == 0);
  CHECK(m2[1].reconsume_times == 1);
  CHECK(m2[1].offset == m2[0].offset);
  const auto sent = broker.sent_back();
  REQUIRE(sent.size() == 2);  // refused, then accepted
  for (const auto& sb : sent) {
    REQUIRE(sb.records.size() == 1);
    CHECK(sb.records[0].id == 102);
    CHECK(sb.records[0].reconsume_times == 0);  // as received: the in-place redelivery is local
  }
  const auto s = c->stats();
  CHECK(s.send_back_failed == 1);
  CHECK(s.sent_back == 1);
  CHECK(s.reconsume_later == 2);
  CHECK(s.consumed == 4);
}

TEST_CASE("push consumer: when every send-back fails, a message is given up after max_reconsume_in_place redeliveries and the commit moves past it") {
  test::FakeRetryBroker broker;
  broker.set_partitions("orders", 1);
  broker.append("orders", 0, numbered(10));
  broker.fail_next(wire::Body::SendBackRequest, wire::ErrorCode::SYSTEM_BUSY, 100);
  Calls calls;
  PushConsumerOptions o;
  o.max_reconsume_in_place = 2;
  o.reconsume_delay = 10ms;
  auto c = start_push(broker, o, [&](const Message& m) {
    calls.add(m);
    return m.body == "m3" ? ConsumeStatus::kReconsumeLater : ConsumeStatus::kSuccess;
  });
  REQUIRE(broker.wait_committed("orders", 0, 10));
  REQUIRE(c->shutdown().is_ok());
  const auto m3 = calls.of("m3");
  REQUIRE(m3.size() == 3);  // the first delivery + 2 in place
  for (uint32_t i = 0; i < 3; ++i) CHECK(m3[i].reconsume_times == i);
  const auto s = c->stats();
  CHECK(s.given_up == 1);
  CHECK(s.send_back_failed == 3);
  CHECK(s.sent_back == 0);
  CHECK(s.consumed == 9);
}

TEST_CASE("ordered: a message that keeps failing goes to the DLQ after max_reconsume_in_place, then the partition moves on") {
  test::FakeRetryBroker broker;
  broker.set_partitions("orders", 1);
  broker.append("orders", 0, numbered(4));
  Calls calls;
  PushConsumerOptions o;
  o.ordered = true;
  o.max_reconsume_in_place = 2;
  o.reconsume_delay = 10ms;
  auto c = start_push(broker, o, [&](const Message& m) {
    calls.add(m);
    return m.body == "m1" ? ConsumeStatus::kReconsumeLater : ConsumeStatus::kSuccess;
  });
  REQUIRE(broker.wait_committed("orders", 0, 4));
  REQUIRE(c->shutdown().is_ok());
  std::vector<std::string> order;
  {
    std::lock_guard lock(calls.mu);
    for (const auto& m : calls.calls) order.push_back(m.body);
  }
  CHECK(order == std::vector<std::string>{"m0", "m1", "m1", "m1", "m2", "m3"});
  const auto sent = broker.sent_back();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].to_dlq);
  CHECK(sent[0].topic == "orders");
  REQUIRE(sent[0].records.size() == 1);
  CHECK(sent[0].records[0].id == 101);
  CHECK(sent[0].records[0].reconsume_times == 0);
  const auto s = c->stats();
  CHECK(s.dead_lettered == 1);
  CHECK(s.sent_back == 1);
  CHECK(s.given_up == 0);
}

TEST_CASE("ordered: when the DLQ send-back fails, the message keeps being retried in place") {
  test::FakeRetryBroker broker;
  broker.set_partitions("orders", 1);
  broker.append("orders", 0, numbered(3));
  broker.fail_next(wire::Body::SendBackRequest, wire::ErrorCode::SYSTEM_BUSY);
  Calls calls;
  PushConsumerOptions o;
  o.ordered = true;
  o.max_reconsume_in_place = 1;
  o.reconsume_delay = 10ms;
  auto c = start_push(broker, o, [&](const Message& m) {
    calls.add(m);
    return m.body == "m1" ? ConsumeStatus::kReconsumeLater : ConsumeStatus::kSuccess;
  });
  REQUIRE(broker.wait_committed("orders", 0, 3));
  REQUIRE(c->shutdown().is_ok());
  CHECK(calls.count("m1") == 3);  // 2 deliveries, the DLQ refused; a third, then the DLQ took it
  const auto sent = broker.sent_back();
  REQUIRE(sent.size() == 2);
  CHECK(sent[0].to_dlq);
  CHECK(sent[1].to_dlq);
  const auto s = c->stats();
  CHECK(s.send_back_failed == 1);
  CHECK(s.dead_lettered == 1);
  CHECK(s.given_up == 0);
}
