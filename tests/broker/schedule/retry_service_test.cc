// Send-back and the dead-letter queue (SPEC §7) with a manual clock: each retry at its policy's
// delay (not before), the copy keeps every field but reconsume_times and carries ORIGIN_TOPIC,
// the DLQ after max_reconsume_times, only the failing group's topics, and resendDlq.
#include <doctest/doctest.h>

#include "tests/broker/schedule/schedule_fixture.h"

using namespace tidemq;
using namespace tidemq::broker;
using namespace tidemq::test;

namespace {

void set_policy(ScheduleFixture& f, const std::string& group, const std::string& policy, uint32_t max) {
  GroupConfig c;
  c.name = group;
  c.retry_policy = policy;
  c.max_reconsume_times = max;
  auto r = f.configs->upsert(c);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
}

}  // namespace

TEST_CASE("a message sent back waits for the policy's delay in %RETRY%<group>, with every field kept") {
  ScheduleFixture f;
  f.create_topic("orders", 4);
  const int64_t now = f.clock.now_ms();
  auto r = f.send_back("billing", "orders", one_message(77));
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  CHECK(r->destination == "%RETRY%billing");
  CHECK(r->reconsume_times == 1);
  CHECK(r->deliver_at_ms == now + 10'000);  // RocketMQ's first step
  CHECK(f.created == std::vector<std::string>{"%RETRY%billing"});
  CHECK(f.topics->find("%RETRY%billing")->partitions == 1);
  CHECK(!f.topics->find("%DLQ%billing"));
  f.clock.advance_ms(9'999);
  CHECK(f.move() == 0);
  CHECK(f.records("%RETRY%billing").empty());
  f.clock.advance_ms(1);
  CHECK(f.move() == 1);
  auto stored = f.records("%RETRY%billing");
  REQUIRE(stored.size() == 1);
  const Stored& s = stored[0];
  CHECK(s.id == 77);
  CHECK(s.reconsume_times == 1);
  CHECK(s.born_ms == 1234);
  CHECK(s.key == "order-7");
  CHECK(s.tags == "TagA");
  CHECK(s.body == "hello");
  CHECK(property(s, "k1") == "v1");
  CHECK(property(s, "ORIGIN_TOPIC") == "orders");
  CHECK(f.records("orders").empty());  // other groups of the topic see nothing
}

TEST_CASE("each attempt waits for its step of the ladder; past max_reconsume_times it is a dead letter") {
  ScheduleFixture f;
  f.create_topic("orders", 1);
  set_policy(f, "sms", "notify", 3);
  std::string batch = one_message(5);
  std::string from = "orders";
  for (int64_t step : {15'000, 15'000, 30'000}) {
    CAPTURE(step);
    auto r = f.send_back("sms", from, batch);
    REQUIRE(r.is_ok());
    CHECK(r->deliver_at_ms == f.clock.now_ms() + step);
    f.clock.advance_ms(step - 1);
    const size_t before = f.records("%RETRY%sms").size();
    CHECK(f.move() == 0);
    f.clock.advance_ms(1);
    CHECK(f.move() == 1);
    auto stored = f.records("%RETRY%sms");
    REQUIRE(stored.size() == before + 1);
    CHECK(property(stored.back(), "ORIGIN_TOPIC") == "orders");  // kept from the first send-back
    batch = as_batch(stored.back());
    from = "%RETRY%sms";
  }
  auto dead = f.send_back("sms", from, batch);
  REQUIRE(dead.is_ok());
  CHECK(dead->destination == "%DLQ%sms");
  CHECK(dead->reconsume_times == 4);
  CHECK(dead->deliver_at_ms == 0);
  auto letters = f.records("%DLQ%sms");  // at once, no delay
  REQUIRE(letters.size() == 1);
  CHECK(letters[0].id == 5);
  CHECK(letters[0].reconsume_times == 4);
  CHECK(property(letters[0], "ORIGIN_TOPIC") == "orders");
  CHECK(f.delays->backlog() == 0);
}

TEST_CASE("to_dlq goes straight to the dead-letter queue; max_reconsume_times 0 does too") {
  ScheduleFixture f;
  auto r = f.send_back("a", "orders", one_message(1), /*to_dlq=*/true);
  REQUIRE(r.is_ok());
  CHECK(r->destination == "%DLQ%a");
  set_policy(f, "b", "", 0);
  auto z = f.send_back("b", "orders", one_message(2));
  REQUIRE(z.is_ok());
  CHECK(z->destination == "%DLQ%b");
  CHECK(f.records("%DLQ%a").size() == 1);
  CHECK(f.records("%DLQ%b").size() == 1);
  CHECK(!f.topics->find("%RETRY%a"));
}

TEST_CASE("a send-back that is not one valid message, or names no group or topic, is refused") {
  ScheduleFixture f;
  CHECK(f.send_back("g", "orders", make_batch(2)).status().code() == StatusCode::kInvalidArgument);
  CHECK(f.send_back("bad group", "orders", one_message(1)).status().code() == StatusCode::kInvalidArgument);
  CHECK(f.send_back("g", "", one_message(1)).status().code() == StatusCode::kInvalidArgument);
  std::string broken = one_message(1);
  broken.resize(broken.size() - 1);
  CHECK(!f.send_back("g", "orders", broken).is_ok());
  CHECK(f.delays->backlog() == 0);
  CHECK(f.created.empty());
}

TEST_CASE("resendDlq sends what was not resent before, or one message by id, back with reconsume_times 0") {
  ScheduleFixture f;
  CHECK(f.retries->resend_dlq("g", 0).status().code() == StatusCode::kTopicNotFound);
  for (uint64_t id = 1; id <= 3; ++id) REQUIRE(f.send_back("g", "orders", one_message(id, 7), true).is_ok());
  auto n = f.retries->resend_dlq("g", 0);
  REQUIRE_MESSAGE(n.is_ok(), n.status().to_string());
  CHECK(*n == 3);
  auto back = f.records("%RETRY%g");  // at once, not delayed
  REQUIRE(back.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(back[i].id == i + 1);
    CHECK(back[i].reconsume_times == 0);
    CHECK(property(back[i], "ORIGIN_TOPIC") == "orders");
  }
  CHECK(*f.retries->resend_dlq("g", 0) == 0);  // nothing new
  REQUIRE(f.send_back("g", "orders", one_message(4), true).is_ok());
  f.reopen_all();  // the position survives a restart
  CHECK(*f.retries->resend_dlq("g", 0) == 1);
  CHECK(*f.retries->resend_dlq("g", 2) == 1);  // by id, also one resent before
  CHECK(f.records("%RETRY%g").size() == 5);
  CHECK(f.records("%RETRY%g").back().id == 2);
  CHECK(f.retries->resend_dlq("g", 99).status().code() == StatusCode::kNotFound);
}
