// Scheduled messages against a real `mqbroker` killed with SIGKILL (--flush sync) while due
// messages are being moved into their topic: every acknowledged scheduled message is delivered
// exactly once (the append and the delete of its delay key are one WriteBatch), none before its
// due time.
#include <doctest/doctest.h>

#include <chrono>
#include <map>

#include "tests/support/broker_process.h"
#include "tests/support/eventually.h"
#include "tests/support/read_all.h"
#include "tests/support/temp_dir.h"
#include "tidemq/admin.h"
#include "tidemq/producer.h"

using namespace tidemq;
using namespace std::chrono_literals;

namespace {

ClientOptions options_for(const test::BrokerProcess& b) {
  ClientOptions o;
  o.broker = b.address();
  o.request_timeout = 5000ms;
  return o;
}

uint64_t end_offset(const test::BrokerProcess& b) {
  auto admin = Admin::create(options_for(b));
  if (!admin.is_ok()) return 0;
  auto st = (*admin)->topic_status("later");
  return st.is_ok() ? st->partitions[0].end_offset : 0;
}

}  // namespace

TEST_CASE("kill -9 while scheduled messages are being moved: each delivered exactly once, none early") {
  constexpr int kMessages = 600;
  test::TempDir dir;
  // Small rounds, often: a kill lands between and inside moves.
  test::BrokerProcess broker(dir.str(), {"--flush", "sync", "--delay-tick-ms", "5", "--delay-max-per-tick", "16"});
  REQUIRE_MESSAGE(broker.start(), broker.error());
  const uint16_t port = broker.port();
  {
    auto admin = Admin::create(options_for(broker));
    REQUIRE(admin.is_ok());
    REQUIRE((*admin)->update_topic({"later", 1, -1, -1}).is_ok());
  }
  std::map<uint64_t, int64_t> due_of;  // message id -> deliver_at_ms
  {
    ProducerOptions po;
    po.client = options_for(broker);
    auto p = Producer::create(po);
    REQUIRE(p.is_ok());
    const int64_t base = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count() + 1500;
    for (int i = 0; i < kMessages; ++i) {
      Message m;
      m.topic = "later";
      m.body = "m" + std::to_string(i);
      m.deliver_at_ms = base + 3 * i;
      auto r = (*p)->send(m);
      REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
      REQUIRE(r->scheduled);
      due_of[r->id] = m.deliver_at_ms;
    }
  }
  // Kill as soon as deliveries have moved on since the last restart, until all are delivered.
  int kills = 0;
  uint64_t seen = end_offset(broker);
  while (seen < kMessages && kills < 12) {
    REQUIRE(test::eventually([&] { return end_offset(broker) != seen; }, 20s));
    broker.kill9();
    ++kills;
    REQUIRE_MESSAGE(broker.start(port), broker.error());
    seen = end_offset(broker);
  }
  CHECK(kills >= 3);
  REQUIRE(test::eventually([&] { return end_offset(broker) >= kMessages; }, 30s));
  auto all = test::read_all(options_for(broker), "later");
  std::map<uint64_t, int> copies;
  for (const auto& m : all) {
    ++copies[m.id];
    REQUIRE(due_of.count(m.id) == 1);
    CHECK(m.store_ms >= due_of[m.id]);  // never before its time
  }
  CHECK(all.size() == kMessages);
  CHECK(copies.size() == kMessages);  // none lost
  for (const auto& [id, n] : copies) CHECK(n == 1);  // none twice
  auto admin = Admin::create(options_for(broker));
  REQUIRE(admin.is_ok());
  auto status = (*admin)->broker_status();
  REQUIRE(status.is_ok());
  for (const auto& [k, v] : status->stats) {
    if (k == "scheduled_backlog") CHECK(v == "0");
  }
}
