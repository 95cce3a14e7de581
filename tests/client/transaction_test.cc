// TransactionalProducer against the real broker (in-process, port 0): a committed message is
// visible only after its commit; a rolled-back one never; an UNKNOWN one is committed by the
// check-back; producers of the group that only keep a connection open answer the checks, round
// robin, and a producer of another group is never asked.
//
// Needs the broker's transaction handlers (SendHalf, EndTransaction, the check-back scheduler and
// sender): not registered in CTest until they land (see tests/client/CMakeLists.txt).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/in_process_broker.h"
#include "tests/support/read_all.h"
#include "tidemq/admin.h"
#include "tidemq/reader.h"
#include "tidemq/transaction.h"

using namespace tidemq;
using namespace std::chrono_literals;

namespace {

// Check-backs come quickly: first after 300 ms, again every 500 ms, looked for every 20 ms.
broker::BrokerConfig fast_checks() {
  broker::BrokerConfig c;
  c.transaction_timeout_ms = 300;
  c.check_interval_ms = 500;
  c.check_scan_ms = 20;
  return c;
}

struct TxnFixture {
  test::InProcessBroker broker{fast_checks()};

  void create_topic(const std::string& name, uint32_t partitions) {
    auto admin = Admin::create(broker.client_options());
    REQUIRE_MESSAGE(admin.is_ok(), admin.status().to_string());
    auto r = (*admin)->update_topic({name, partitions, -1, -1});
    REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  }

  TransactionalProducerOptions options(const std::string& group) const {
    TransactionalProducerOptions o;
    o.producer.client = broker.client_options();
    o.producer.producer_group = group;
    return o;
  }

  std::unique_ptr<TransactionalProducer> producer(const std::string& group, std::shared_ptr<TransactionChecker> c) {
    auto p = TransactionalProducer::create(options(group), std::move(c));
    REQUIRE_MESSAGE(p.is_ok(), p.status().to_string());
    return std::move(p).value();
  }

  std::vector<Message> read_all(const std::string& topic) { return test::read_all(broker.client_options(), topic); }

  // Reads `topic` from the start until `n` messages arrived (long polls: no sleeping), or 30 s.
  std::vector<Message> wait_visible(const std::string& topic, size_t n) {
    auto reader = PartitionReader::create(broker.client_options(), topic);
    REQUIRE_MESSAGE(reader.is_ok(), reader.status().to_string());
    REQUIRE((*reader)->assign_all_from_start().is_ok());
    std::vector<Message> out;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
      auto batch = (*reader)->poll(500ms);
      REQUIRE_MESSAGE(batch.is_ok(), batch.status().to_string());
      for (auto& m : *batch) out.push_back(std::move(m));
    }
    return out;
  }
};

// Answers `answer` and records which transactions it was asked about.
struct RecordingChecker : TransactionChecker {
  explicit RecordingChecker(TxnAction a) : answer(a) {}
  TxnAction check(const Message& half, uint64_t txn_id) override {
    std::lock_guard lock(mu);
    asked.push_back(txn_id);
    last_half = half;
    return answer;
  }
  size_t calls() {
    std::lock_guard lock(mu);
    return asked.size();
  }
  std::mutex mu;
  TxnAction answer;
  std::vector<uint64_t> asked;
  Message last_half;
};

Message order(const std::string& body) {
  Message m;
  m.topic = "orders";
  m.key = body;
  m.body = body;
  return m;
}

}  // namespace

TEST_CASE("a committed message is visible to a reader only after its commit, at the offset the commit returned") {
  TxnFixture f;
  f.create_topic("orders", 2);
  auto checker = std::make_shared<RecordingChecker>(TxnAction::kUnknown);
  auto p = f.producer("order-pg", checker);
  Message m = order("o-1");
  m.properties.emplace_back(std::string(kCheckImmunityProperty), "60");  // no check-back during the test
  auto half = p->send_half(m);
  REQUIRE_MESSAGE(half.is_ok(), half.status().to_string());
  CHECK(f.read_all("orders").empty());  // stored, invisible

  auto end = p->end_transaction(half->txn_id, TxnAction::kCommit);
  REQUIRE_MESSAGE(end.is_ok(), end.status().to_string());
  CHECK(end->state == TxnState::kCommitted);
  CHECK(end->topic == "orders");
  CHECK(end->partition == half->partition);
  auto seen = f.read_all("orders");
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].id == half->txn_id);
  CHECK(seen[0].body == "o-1");
  CHECK(static_cast<uint32_t>(seen[0].partition) == end->partition);
  CHECK(seen[0].offset == end->offset);

  // A repeated COMMIT answers the recorded outcome and appends nothing.
  auto again = p->end_transaction(half->txn_id, TxnAction::kCommit);
  REQUIRE(again.is_ok());
  CHECK(again->state == TxnState::kCommitted);
  CHECK(again->offset == end->offset);
  CHECK(f.read_all("orders").size() == 1);
  CHECK(checker->calls() == 0);
}

TEST_CASE("a rolled-back message is never visible, and a later COMMIT does not change that") {
  TxnFixture f;
  f.create_topic("orders", 1);
  auto p = f.producer("order-pg", std::make_shared<RecordingChecker>(TxnAction::kCommit));
  auto r = p->send_in_transaction(order("o-2"), [](const Message&, uint64_t) { return TxnAction::kRollback; });
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  CHECK(r->state == TxnState::kRolledBack);
  CHECK(r->end_status.is_ok());
  auto late = p->end_transaction(r->txn_id, TxnAction::kCommit);
  REQUIRE(late.is_ok());
  CHECK(late->state == TxnState::kRolledBack);

  // A committed one after it is the only message the topic ever shows.
  auto c = p->send_in_transaction(order("o-3"), [](const Message&, uint64_t) { return TxnAction::kCommit; });
  REQUIRE(c.is_ok());
  CHECK(c->state == TxnState::kCommitted);
  auto seen = f.read_all("orders");
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].id == c->txn_id);
}

TEST_CASE("UNKNOWN at send, then the checker commits it; the first outcome stays") {
  TxnFixture f;
  f.create_topic("orders", 2);
  auto checker = std::make_shared<RecordingChecker>(TxnAction::kCommit);
  auto p = f.producer("order-pg", checker);
  auto r = p->send_in_transaction(order("o-4"), [](const Message&, uint64_t) { return TxnAction::kUnknown; });
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  CHECK(r->local_action == TxnAction::kUnknown);
  CHECK(r->state == TxnState::kPending);
  CHECK(f.read_all("orders").empty());

  auto seen = f.wait_visible("orders", 1);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].id == r->txn_id);
  {
    std::lock_guard lock(checker->mu);
    REQUIRE(!checker->asked.empty());
    CHECK(checker->asked.front() == r->txn_id);
    CHECK(checker->last_half.id == r->txn_id);
    CHECK(checker->last_half.body == "o-4");
  }
  CHECK(p->check_stats().answered >= 1);
  // The check-back's COMMIT won: a late ROLLBACK gets it back.
  auto late = p->end_transaction(r->txn_id, TxnAction::kRollback);
  REQUIRE(late.is_ok());
  CHECK(late->state == TxnState::kCommitted);
  CHECK(f.read_all("orders").size() == 1);
}

TEST_CASE("producers that only hold a connection answer the group's checks, round robin; other groups are never asked") {
  TxnFixture f;
  f.create_topic("orders", 4);
  constexpr int kTxns = 8;
  std::set<uint64_t> ids;
  {
    // The sending producer leaves every transaction open and goes away (as a crash would).
    auto sender = f.producer("order-pg", std::make_shared<RecordingChecker>(TxnAction::kUnknown));
    for (int i = 0; i < kTxns; ++i) {
      Message m = order("o-" + std::to_string(i));
      m.properties.emplace_back(std::string(kCheckImmunityProperty), "1");  // the others are up by then
      auto half = sender->send_half(m);
      REQUIRE_MESSAGE(half.is_ok(), half.status().to_string());
      ids.insert(half->txn_id);
    }
    sender->close();
  }
  auto b_checker = std::make_shared<RecordingChecker>(TxnAction::kCommit);
  auto c_checker = std::make_shared<RecordingChecker>(TxnAction::kCommit);
  auto other_checker = std::make_shared<RecordingChecker>(TxnAction::kRollback);
  auto b = f.producer("order-pg", b_checker);
  auto c = f.producer("order-pg", c_checker);
  auto other = f.producer("other-pg", other_checker);

  auto seen = f.wait_visible("orders", kTxns);
  REQUIRE(seen.size() == kTxns);
  std::set<uint64_t> seen_ids;
  for (const auto& m : seen) seen_ids.insert(m.id);
  CHECK(seen_ids == ids);
  CHECK(b_checker->calls() >= 1);
  CHECK(c_checker->calls() >= 1);
  CHECK(b_checker->calls() + c_checker->calls() >= static_cast<size_t>(kTxns));
  CHECK(other_checker->calls() == 0);
}
