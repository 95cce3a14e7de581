// Retries, dead letters and scheduled messages through the public client against an in-process
// broker (SPEC §7): a ReconsumeLater comes back to the failing group only, through %RETRY%<group>,
// under its own topic, with reconsume_times counted; past the group's max it is a dead letter;
// a scheduled message is delivered once, not before its time; a poll consumer's send_back works
// the same way.
#include <doctest/doctest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>

#include "tests/integration/in_process_broker.h"
#include "tests/support/eventually.h"
#include "tidemq/admin.h"
#include "tidemq/consumer.h"
#include "tidemq/producer.h"
#include "tidemq/push_consumer.h"

using namespace tidemq;
using namespace std::chrono_literals;
using test::eventually;

namespace {

broker::BrokerConfig fast_ticks() {
  broker::BrokerConfig c;
  c.delay_tick_ms = 10;
  return c;
}

std::unique_ptr<Admin> admin_of(const test::InProcessBroker& b) {
  auto a = Admin::create(b.client_options());
  REQUIRE(a.is_ok());
  return std::move(a).value();
}

void group(const test::InProcessBroker& b, const std::string& name, const std::string& policy, uint32_t max) {
  GroupSettings g;
  g.name = name;
  g.reset_policy = "earliest";
  g.retry_policy = policy;
  g.max_reconsume_times = max;
  auto r = admin_of(b)->update_group(g);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
}

void produce(const test::InProcessBroker& b, const std::string& topic, int n) {
  ProducerOptions o;
  o.client = b.client_options();
  auto p = Producer::create(o);
  REQUIRE(p.is_ok());
  for (int i = 0; i < n; ++i) {
    Message m;
    m.topic = topic;
    m.body = "m" + std::to_string(i);
    REQUIRE((*p)->send(m).is_ok());
  }
}

// What a listener saw: (body, reconsume_times) per call, with topic and read_topic checked.
struct Seen {
  std::mutex mu;
  std::vector<std::pair<std::string, uint32_t>> calls;
  std::vector<std::string> topics, read_topics;
  void add(const Message& m) {
    std::lock_guard lock(mu);
    calls.emplace_back(m.body, m.reconsume_times);
    topics.push_back(m.topic);
    read_topics.push_back(m.read_topic);
  }
  size_t size() {
    std::lock_guard lock(mu);
    return calls.size();
  }
};

std::unique_ptr<PushConsumer> push(const test::InProcessBroker& b, const std::string& group_name, Seen& seen,
                                   std::function<bool(const Message&)> ok) {
  PushConsumerOptions o;
  o.consumer.client = b.client_options();
  o.consumer.group = group_name;
  o.consumer.max_poll_wait = 200ms;
  o.consumer.auto_commit_interval = 100ms;
  auto c = PushConsumer::create(o, [&seen, ok](const Message& m) {
    seen.add(m);
    return ok(m) ? ConsumeStatus::kSuccess : ConsumeStatus::kReconsumeLater;
  });
  REQUIRE(c.is_ok());
  REQUIRE((*c)->subscribe("orders").is_ok());
  REQUIRE((*c)->start().is_ok());
  return std::move(c).value();
}

}  // namespace

TEST_CASE("a ReconsumeLater comes back to the failing group only, through its retry topic, under its own topic") {
  test::InProcessBroker broker(fast_ticks());
  REQUIRE(admin_of(broker)->update_topic({"orders", 2, -1, -1}).is_ok());
  group(broker, "failing", "200ms", 16);
  group(broker, "happy", "", 16);
  Seen failing, happy;
  auto a = push(broker, "failing", failing, [](const Message& m) { return m.reconsume_times >= 1; });
  auto b = push(broker, "happy", happy, [](const Message&) { return true; });
  produce(broker, "orders", 10);
  REQUIRE(eventually([&] { return failing.size() >= 20 && happy.size() >= 10; }, 20s));
  std::map<std::string, std::vector<uint32_t>> times;
  {
    std::lock_guard lock(failing.mu);
    for (const auto& [body, t] : failing.calls) times[body].push_back(t);
    for (size_t i = 0; i < failing.calls.size(); ++i) {
      CHECK(failing.topics[i] == "orders");  // the origin topic, also for a retried copy
      CHECK(failing.read_topics[i] == (failing.calls[i].second == 0 ? "" : "%RETRY%failing"));
    }
  }
  CHECK(times.size() == 10);
  for (const auto& [body, t] : times) CHECK(t == std::vector<uint32_t>{0, 1});
  CHECK(happy.size() == 10);  // never redelivered to the group that succeeded
  CHECK(!admin_of(broker)->topic_status("%RETRY%happy").is_ok());
  CHECK(a->stats().sent_back == 10);
  auto progress = admin_of(broker)->consumer_progress("failing");
  REQUIRE(progress.is_ok());
  CHECK(progress->dlq_messages == 0);
}

TEST_CASE("past the group's max reconsume times a message is a dead letter; resend_dlq brings it back") {
  test::InProcessBroker broker(fast_ticks());
  REQUIRE(admin_of(broker)->update_topic({"orders", 1, -1, -1}).is_ok());
  group(broker, "g", "50ms", 2);
  Seen seen;
  std::atomic<bool> fixed{false};
  auto c = push(broker, "g", seen, [&](const Message&) { return fixed.load(); });
  produce(broker, "orders", 1);
  REQUIRE(eventually([&] { return admin_of(broker)->consumer_progress("g")->dlq_messages == 1; }, 20s));
  {
    std::lock_guard lock(seen.mu);
    REQUIRE(seen.calls.size() == 3);  // the first delivery and 2 redeliveries
    for (uint32_t i = 0; i < 3; ++i) CHECK(seen.calls[i].second == i);
  }
  fixed = true;  // the operator fixed what made it fail
  auto resent = admin_of(broker)->resend_dlq("g");
  REQUIRE(resent.is_ok());
  CHECK(*resent == 1);
  REQUIRE(eventually([&] { return seen.size() == 4; }, 10s));
  std::lock_guard lock(seen.mu);
  CHECK(seen.calls[3].second == 0);  // it starts over
  CHECK(seen.topics[3] == "orders");
}

TEST_CASE("a scheduled message is delivered once, not before its time; a poll consumer's send_back retries it") {
  test::InProcessBroker broker(fast_ticks());
  REQUIRE(admin_of(broker)->update_topic({"orders", 1, -1, -1}).is_ok());
  group(broker, "poller", "100ms", 16);
  ProducerOptions po;
  po.client = broker.client_options();
  auto p = Producer::create(po);
  REQUIRE(p.is_ok());
  Message m;
  m.topic = "orders";
  m.body = "later";
  m.deliver_at_ms = Clock::system().now_ms() + 1500;
  auto sent = (*p)->send(m);
  REQUIRE_MESSAGE(sent.is_ok(), sent.status().to_string());
  CHECK(sent->scheduled);

  ConsumerOptions co;
  co.client = broker.client_options();
  co.group = "poller";
  co.max_poll_wait = 200ms;
  auto c = Consumer::create(co);
  REQUIRE(c.is_ok());
  REQUIRE((*c)->subscribe("orders").is_ok());
  std::vector<Message> got;
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (got.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    auto r = (*c)->poll(200ms);
    REQUIRE(r.is_ok());
    for (auto& msg : *r) {
      if (msg.reconsume_times == 0) REQUIRE((*c)->send_back(msg).is_ok());  // once
      got.push_back(std::move(msg));
    }
  }
  REQUIRE(got.size() == 2);
  CHECK(got[0].body == "later");
  CHECK(got[0].store_ms >= m.deliver_at_ms);  // appended when due, not before
  CHECK(got[1].body == "later");
  CHECK(got[1].reconsume_times == 1);
  CHECK(got[1].id == got[0].id);
  CHECK(got[1].topic == "orders");
  CHECK(got[1].read_topic == "%RETRY%poller");
  auto more = (*c)->poll(500ms);  // nothing a third time
  REQUIRE(more.is_ok());
  CHECK(more->empty());
}
