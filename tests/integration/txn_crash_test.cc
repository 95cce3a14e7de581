// Transactions against a real `mqbroker` killed with SIGKILL (--flush sync): right after
// half-sends were acknowledged, and right after end-transactions were acknowledged. Committed ⇒
// delivered exactly once, rolled back ⇒ never delivered, nothing visible before its commit, and
// the check-back picks up what was left pending.
#include <doctest/doctest.h>

#include <chrono>
#include <set>
#include <thread>

#include "tests/integration/txn_wire.h"
#include "tests/support/broker_process.h"
#include "tests/support/read_all.h"
#include "tests/support/temp_dir.h"
#include "tidemq/admin.h"

using namespace tidemq;
using namespace std::chrono_literals;
using test::TxnWire;
using W = wire::ErrorCode;
using S = wire::TxnState;
using A = wire::TxnAction;

namespace {

ClientOptions options_for(const test::BrokerProcess& b) {
  ClientOptions o;
  o.broker = b.address();
  o.request_timeout = 5000ms;
  return o;
}

// Starts the broker and creates the one-partition topic "orders"; returns the port.
uint16_t start_with_topic(test::BrokerProcess& broker) {
  REQUIRE_MESSAGE(broker.start(), broker.error());
  auto admin = Admin::create(options_for(broker));
  REQUIRE(admin.is_ok());
  REQUIRE((*admin)->update_topic({"orders", 1, -1, -1}).is_ok());
  return broker.port();
}

std::set<uint64_t> delivered_ids(const test::BrokerProcess& b, const std::string& topic, size_t* total) {
  auto all = test::read_all(options_for(b), topic);
  *total = all.size();
  std::set<uint64_t> ids;
  for (const auto& m : all) ids.insert(m.id);
  return ids;
}

}  // namespace

TEST_CASE("kill -9 after acknowledged half-sends and after acknowledged ends: outcomes hold exactly") {
  constexpr uint64_t kTxns = 200;
  test::TempDir dir;
  // Checks far away while we look; they come into play at the end.
  test::BrokerProcess broker(dir.str(), {"--flush", "sync", "--transaction-timeout-ms", "600000",
                                         "--check-scan-ms", "20"});
  const uint16_t port = start_with_topic(broker);
  {
    TxnWire p(port, "order-pg");
    for (uint64_t id = 1; id <= kTxns; ++id) {
      auto r = p.send_half("orders", id, "order-" + std::to_string(id));
      REQUIRE_MESSAGE(r.error == W::NONE, r.message);
    }
    broker.kill9();  // right after the last half was acknowledged
  }
  REQUIRE_MESSAGE(broker.start(port), broker.error());
  {
    TxnWire p(port, "order-pg");
    CHECK(p.half_status().pending == kTxns);  // every acknowledged half survived
    size_t total = 0;
    CHECK(delivered_ids(broker, "orders", &total).empty());  // and none is visible
    for (uint64_t id = 1; id <= kTxns; ++id) {
      auto r = p.end(id, id % 2 == 0 ? A::COMMIT : A::ROLLBACK);
      REQUIRE_MESSAGE(r.error == W::NONE, r.message);
    }
    broker.kill9();  // right after the last end was acknowledged
  }
  REQUIRE_MESSAGE(broker.start(port), broker.error());
  TxnWire p(port, "order-pg");
  size_t total = 0;
  auto ids = delivered_ids(broker, "orders", &total);
  CHECK(total == kTxns / 2);  // each committed one exactly once
  for (uint64_t id = 1; id <= kTxns; ++id) {
    CHECK_MESSAGE(ids.count(id) == (id % 2 == 0 ? 1u : 0u), "txn " << id);
    // Ends after the restart answer the recorded outcome and write nothing.
    CHECK(p.end(id, id % 2 == 0 ? A::ROLLBACK : A::COMMIT).state == (id % 2 == 0 ? S::COMMITTED : S::ROLLED_BACK));
  }
  CHECK(p.half_status().pending == 0);
  delivered_ids(broker, "orders", &total);
  CHECK(total == kTxns / 2);
}

TEST_CASE("kill -9 with halves pending and no producer: after the restart a new producer is asked and commits") {
  test::TempDir dir;
  test::BrokerProcess broker(dir.str(), {"--flush", "sync", "--transaction-timeout-ms", "300",
                                         "--check-interval-ms", "300", "--check-scan-ms", "20"});
  const uint16_t port = start_with_topic(broker);
  {
    TxnWire p(port, "order-pg");
    for (uint64_t id = 1; id <= 10; ++id) REQUIRE(p.send_half("orders", id).error == W::NONE);
  }  // the producer dies between half and end
  broker.kill9();
  REQUIRE_MESSAGE(broker.start(port), broker.error());
  TxnWire p(port, "order-pg");
  std::set<uint64_t> asked;
  while (asked.size() < 10) {
    auto c = p.next_check();
    REQUIRE_MESSAGE(c.has_value(), "no check-back within 5 s; asked so far: " << asked.size());
    asked.insert(c->txn_id);
    p.answer(*c, c->txn_id <= 5 ? A::COMMIT : A::ROLLBACK);
  }
  size_t total = 0;
  std::set<uint64_t> ids;
  for (int i = 0; i < 500 && total < 5; ++i) {
    ids = delivered_ids(broker, "orders", &total);
    if (total < 5) std::this_thread::sleep_for(10ms);
  }
  CHECK(total == 5);
  CHECK(ids == std::set<uint64_t>{1, 2, 3, 4, 5});
}
