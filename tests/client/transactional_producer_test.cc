// TransactionalProducer over TCP against FakeTxnBroker (no broker handlers needed): the Hello,
// the SendHalf record, send_in_transaction's outcomes (commit, throw = UNKNOWN, lost end, refused
// half), retries keeping the txn id, check-backs answered off the I/O thread on the connection
// they came on, max_pending_checks, reconnect + Hello after a loss, heartbeats, close.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "tests/client/fake_txn_broker.h"
#include "tests/client/gated_checker.h"
#include "tidemq/transaction.h"

using namespace tidemq;
using namespace std::chrono_literals;
using test::FakeTxnBroker;

namespace {

TransactionalProducerOptions options_for(FakeTxnBroker& fake) {
  TransactionalProducerOptions o;
  o.producer.client.broker = fake.address();
  o.producer.client.client_id = "txn-test";
  o.producer.client.connect_timeout = 2000ms;
  o.producer.client.request_timeout = 5000ms;
  o.producer.producer_group = "order-pg";
  o.producer.retry_backoff = 10ms;
  return o;
}

using TestChecker = test::GatedChecker;

std::unique_ptr<TransactionalProducer> make(TransactionalProducerOptions o, std::shared_ptr<TransactionChecker> c) {
  auto p = TransactionalProducer::create(std::move(o), std::move(c));
  REQUIRE_MESSAGE(p.is_ok(), p.status().to_string());
  return std::move(p).value();
}

Message order(const std::string& body) {
  Message m;
  m.topic = "orders";
  m.key = "o-1";
  m.body = body;
  return m;
}

// A producer with one stored half-message whose check-back is being answered by `checker`, held
// at its gate.
struct HeldCheck {
  std::unique_ptr<TransactionalProducer> producer;
  uint64_t txn_id = 0;
  uint64_t corr = 0;  // the check's correlation id
};
HeldCheck hold_a_check(FakeTxnBroker& fake, const std::shared_ptr<TestChecker>& checker) {
  HeldCheck h;
  h.producer = make(options_for(fake), checker);
  auto half = h.producer->send_half(order("held"));
  REQUIRE(half.is_ok());
  h.txn_id = half->txn_id;
  checker->set_open(false);
  h.corr = fake.send_check(h.txn_id, 1);
  REQUIRE(checker->wait_calls(1));
  return h;
}

}  // namespace

TEST_CASE("create: the Hello names a PRODUCER of the group; bad options are refused") {
  FakeTxnBroker fake;
  auto checker = std::make_shared<TestChecker>();
  {
    auto p = make(options_for(fake), checker);
    auto hellos = fake.hellos();
    REQUIRE(hellos.size() == 1);
    CHECK(hellos[0].kind == wire::ClientKind::PRODUCER);
    CHECK(hellos[0].producer_group == "order-pg");
    CHECK(hellos[0].client_id == "txn-test");
  }
  auto no_group = options_for(fake);
  no_group.producer.producer_group.clear();
  CHECK(TransactionalProducer::create(no_group, checker).status().code() == StatusCode::kInvalidArgument);
  CHECK(TransactionalProducer::create(options_for(fake), std::shared_ptr<TransactionChecker>()).status().code() ==
        StatusCode::kInvalidArgument);
  auto no_threads = options_for(fake);
  no_threads.checker_threads = 0;
  CHECK(TransactionalProducer::create(no_threads, checker).status().code() == StatusCode::kInvalidArgument);
  auto no_pending = options_for(fake);
  no_pending.max_pending_checks = 0;
  CHECK(TransactionalProducer::create(no_pending, checker).status().code() == StatusCode::kInvalidArgument);
  auto bad_broker = options_for(fake);
  bad_broker.producer.client.broker = "127.0.0.1:1";
  bad_broker.producer.client.connect_timeout = 500ms;
  CHECK(TransactionalProducer::create(bad_broker, checker).status().code() == StatusCode::kUnavailable);
}

TEST_CASE("send_in_transaction COMMIT: one record whose id is the txn id, the local transaction sees it, COMMITTED") {
  FakeTxnBroker fake;
  auto p = make(options_for(fake), std::make_shared<TestChecker>());
  uint64_t seen_id = 0;
  int32_t seen_partition = -1;
  auto r = p->send_in_transaction(order("hello"), [&](const Message& m, uint64_t txn_id) {
    seen_id = m.id;
    seen_partition = m.partition;
    CHECK(txn_id == m.id);
    CHECK(fake.halves().count(txn_id) == 1);  // stored before the local transaction runs
    return TxnAction::kCommit;
  });
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  CHECK(r->txn_id == seen_id);
  CHECK(r->partition == static_cast<uint32_t>(seen_partition));
  CHECK(r->partition < 4);
  CHECK(r->local_action == TxnAction::kCommit);
  CHECK(r->state == TxnState::kCommitted);
  CHECK(r->end_status.is_ok());
  auto halves = fake.halves();
  REQUIRE(halves.size() == 1);
  const auto& h = halves.at(r->txn_id);
  CHECK(h.record_count == 1);
  CHECK(h.record_id == r->txn_id);
  CHECK(h.body == "hello");
  CHECK(h.topic == "orders");
  CHECK(h.partition == r->partition);
  CHECK(h.sends == 1);
  CHECK(h.check_immunity_ms == 0);
  CHECK(h.ends == std::vector<wire::TxnAction>{wire::TxnAction::COMMIT});
  CHECK(r->offset == h.offset);
  // Ids are snowflakes of the leased worker id (7).
  CHECK(((r->txn_id >> 12) & 0x3ff) == 7);
  CHECK(fake.bad_frames() == 0);
}

TEST_CASE("a local transaction that throws ends UNKNOWN; ROLLBACK ends ROLLED_BACK; the first outcome wins") {
  FakeTxnBroker fake;
  auto p = make(options_for(fake), std::make_shared<TestChecker>());
  auto thrown = p->send_in_transaction(order("a"), [](const Message&, uint64_t) -> TxnAction {
    throw std::runtime_error("local database down");
  });
  REQUIRE(thrown.is_ok());
  CHECK(thrown->local_action == TxnAction::kUnknown);
  CHECK(thrown->state == TxnState::kPending);
  CHECK(thrown->end_status.is_ok());
  CHECK(fake.halves().at(thrown->txn_id).ends == std::vector<wire::TxnAction>{wire::TxnAction::UNKNOWN});

  auto rolled = p->send_in_transaction(order("b"), [](const Message&, uint64_t) { return TxnAction::kRollback; });
  REQUIRE(rolled.is_ok());
  CHECK(rolled->state == TxnState::kRolledBack);
  // A later COMMIT gets the recorded outcome back.
  auto late = p->end_transaction(rolled->txn_id, TxnAction::kCommit);
  REQUIRE(late.is_ok());
  CHECK(late->state == TxnState::kRolledBack);
  CHECK(p->end_transaction(12345, TxnAction::kCommit).status().code() == StatusCode::kNotFound);
}

TEST_CASE("a lost EndTransaction is reported in the result, not as an error; a lost SendHalf is retried with the same id, flagged as no first attempt") {
  FakeTxnBroker fake;
  auto o = options_for(fake);
  o.producer.client.request_timeout = 300ms;
  o.producer.retries = 1;
  auto p = make(o, std::make_shared<TestChecker>());

  fake.drop_next(wire::Body::EndTransactionRequest, 2);  // the first attempt and its one retry
  auto lost = p->send_in_transaction(order("x"), [](const Message&, uint64_t) { return TxnAction::kCommit; });
  REQUIRE_MESSAGE(lost.is_ok(), lost.status().to_string());
  CHECK(lost->local_action == TxnAction::kCommit);
  CHECK(lost->end_status.code() == StatusCode::kTimeout);
  CHECK(lost->state == TxnState::kPending);
  // Both attempts reached the broker (which, here, answered neither).
  CHECK(fake.halves().at(lost->txn_id).ends.size() == 2);

  fake.drop_next(wire::Body::SendHalfRequest, 1);
  auto retried = p->send_half(order("y"));
  REQUIRE_MESSAGE(retried.is_ok(), retried.status().to_string());
  auto halves = fake.halves();
  CHECK(halves.size() == 2);  // one per transaction: the retry carried the same id
  CHECK(halves.at(retried->txn_id).sends == 2);
  // Only the first attempt lets the broker skip its outcome lookup.
  CHECK(halves.at(retried->txn_id).first_attempt == std::vector<bool>{true, false});
  CHECK(halves.at(lost->txn_id).first_attempt == std::vector<bool>{true});
}

TEST_CASE("a refused half-message fails send_in_transaction and never runs the local transaction") {
  FakeTxnBroker fake;
  auto p = make(options_for(fake), std::make_shared<TestChecker>());
  fake.fail_next(wire::Body::SendHalfRequest, wire::ErrorCode::TOO_MANY_HALF_MESSAGES);
  bool ran = false;
  auto r = p->send_in_transaction(order("x"), [&](const Message&, uint64_t) {
    ran = true;
    return TxnAction::kCommit;
  });
  CHECK(r.status().code() == StatusCode::kTooManyHalfMessages);
  CHECK(!ran);
  CHECK(fake.received(wire::Body::SendHalfRequest) == 1);  // not retriable
  Message missing = order("x");
  missing.topic = "missing";
  CHECK(p->send_half(missing).status().code() == StatusCode::kTopicNotFound);
  Message bad_partition = order("x");
  bad_partition.partition = 9;
  CHECK(p->send_half(bad_partition).status().code() == StatusCode::kInvalidPartition);
}

TEST_CASE("check immunity: the option for every half-message, the property per message") {
  FakeTxnBroker fake;
  auto o = options_for(fake);
  o.check_immunity = 2500ms;
  auto p = make(o, std::make_shared<TestChecker>());
  auto a = p->send_half(order("a"));
  Message fast = order("b");
  fast.properties.emplace_back(std::string(kCheckImmunityProperty), "0.25");
  auto b = p->send_half(fast);
  REQUIRE(a.is_ok());
  REQUIRE(b.is_ok());
  CHECK(fake.halves().at(a->txn_id).check_immunity_ms == 2500);
  CHECK(fake.halves().at(b->txn_id).check_immunity_ms == 250);
  fast.properties.back().second = "soon";
  CHECK(p->send_half(fast).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("check-backs are answered on the connection they came on, with their correlation id, off the I/O thread") {
  FakeTxnBroker fake;
  auto checker = std::make_shared<TestChecker>();
  checker->answer = TxnAction::kRollback;
  // While the checker is held, the connection keeps working: the checker is not on its I/O thread.
  auto [p, txn_id, held] = hold_a_check(fake, checker);
  auto end = p->end_transaction(txn_id, TxnAction::kUnknown);
  REQUIRE_MESSAGE(end.is_ok(), end.status().to_string());
  CHECK(end->state == TxnState::kPending);
  checker->set_open(true);

  auto answer = fake.wait_answer(held);
  REQUIRE(answer);
  CHECK(answer->txn_id == txn_id);
  CHECK(answer->action == wire::TxnAction::ROLLBACK);
  CHECK(answer->connection == 0);
  CHECK(p->check_stats().received == 1);
  CHECK(p->check_stats().answered == 1);
}

TEST_CASE("more than max_pending_checks waiting: the excess is dropped, the rest answered") {
  FakeTxnBroker fake;
  auto checker = std::make_shared<TestChecker>();
  auto o = options_for(fake);
  o.max_pending_checks = 2;
  auto p = make(o, checker);
  checker->set_open(false);
  std::vector<uint64_t> corrs;
  corrs.push_back(fake.send_check(1, 1));
  REQUIRE(checker->wait_calls(1));
  for (uint64_t i = 2; i <= 6; ++i) corrs.push_back(fake.send_check(i, 1));
  // A request after them is answered by the connection's own round trip once all five arrived.
  REQUIRE(p->end_transaction(999, TxnAction::kCommit).status().code() == StatusCode::kNotFound);
  CHECK(p->check_stats().received == 6);
  CHECK(p->check_stats().dropped == 3);
  checker->set_open(true);
  for (size_t i = 0; i < 3; ++i) CHECK(fake.wait_answer(corrs[i]));
  CHECK(p->end_transaction(999, TxnAction::kCommit).status().code() == StatusCode::kNotFound);
  CHECK(fake.answers() == 3);
}

TEST_CASE("after a connection loss the producer reconnects by itself, names its group again, and answers checks") {
  FakeTxnBroker fake;
  auto checker = std::make_shared<TestChecker>();
  // A check taken before the loss is not answered on the next connection (the broker asks again).
  auto [p, txn_id, before] = hold_a_check(fake, checker);
  fake.close_connections();
  REQUIRE(fake.wait_hellos(2, 1));  // no request needed: the producer reconnected by itself
  auto hellos = fake.hellos();
  CHECK(hellos.back().producer_group == "order-pg");
  CHECK(hellos.back().kind == wire::ClientKind::PRODUCER);
  checker->set_open(true);

  const uint64_t after = fake.send_check(txn_id, 2);
  auto answer = fake.wait_answer(after);
  REQUIRE(answer);
  CHECK(answer->connection == hellos.back().connection);
  // One checker thread: the first check's answer was handed over before the second ran, and the
  // connection dropped it since its session was gone.
  CHECK(!fake.wait_answer(before, 0ms));
  CHECK(p->check_stats().answered == 2);
}

TEST_CASE("an idle producer sends heartbeats") {
  FakeTxnBroker fake;
  auto o = options_for(fake);
  o.heartbeat_interval = 20ms;
  auto p = make(o, std::make_shared<TestChecker>());
  CHECK(fake.wait_received(wire::Body::BrokerStatusRequest, 3));
}

TEST_CASE("async calls call back on the callback thread; blocking calls from there are refused; close ends everything") {
  FakeTxnBroker fake;
  auto p = make(options_for(fake), std::make_shared<TestChecker>());
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  bool ok = false;
  Status nested;
  std::thread::id cb_thread;
  const uint64_t id = p->send_half_async(order("a"), [&](const Result<HalfSendResult>& r) {
    Status st = p->send_half(order("b")).status();
    std::lock_guard lock(mu);
    ok = r.is_ok();
    nested = st;
    cb_thread = std::this_thread::get_id();
    done = true;
    cv.notify_all();
  });
  CHECK(id != 0);
  {
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, 10s, [&] { return done; }));
  }
  CHECK(ok);
  CHECK(nested.code() == StatusCode::kInvalidArgument);
  CHECK(cb_thread != std::this_thread::get_id());

  p->close();
  p->close();  // idempotent
  CHECK(p->send_half(order("c")).status().code() == StatusCode::kShuttingDown);
  bool inline_cb = false;
  CHECK(p->send_half_async(order("d"), [&](const Result<HalfSendResult>& r) {
    inline_cb = r.status().code() == StatusCode::kShuttingDown;
  }) == 0);
  CHECK(inline_cb);
  CHECK(p->end_transaction(id, TxnAction::kCommit).status().code() == StatusCode::kShuttingDown);
}

TEST_CASE("calls queued while requests are in flight go out together as batch requests, each answered on its own") {
  FakeTxnBroker fake;
  auto o = options_for(fake);
  o.producer.client.request_timeout = 300ms;
  o.producer.retries = 2;
  auto p = make(o, std::make_shared<TestChecker>());
  // The first request goes at once and stays unanswered until it times out: meanwhile the other
  // calls are queued and sent in batch requests (Nagle's rule).
  constexpr int kCount = 200;
  fake.drop_next(wire::Body::SendHalfRequest, 1);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Result<HalfSendResult>> acks;
  for (int i = 0; i < kCount; ++i) {
    p->send_half_async(order("o" + std::to_string(i)), [&](const Result<HalfSendResult>& r) {
      std::lock_guard lock(mu);
      acks.push_back(r);
      cv.notify_all();
    });
  }
  {
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, 20s, [&] { return acks.size() == kCount; }));
  }
  std::set<uint64_t> ids;
  for (const auto& a : acks) {
    REQUIRE_MESSAGE(a.is_ok(), a.status().to_string());
    ids.insert(a->txn_id);
  }
  CHECK(ids.size() == kCount);
  CHECK(fake.received(wire::Body::SendHalfBatchRequest) >= 1);
  auto halves = fake.halves();
  CHECK(halves.size() == kCount);
  size_t retried = 0;
  for (const auto& [id, h] : halves) {
    CHECK(h.first_attempt.front());  // batched or not, a first attempt is flagged as one
    retried += h.sends > 1 ? 1 : 0;
  }
  CHECK(retried == 1);

  fake.drop_next(wire::Body::EndTransactionRequest, 1);
  std::vector<Result<EndTransactionResult>> ends;
  for (uint64_t id : ids) {
    p->end_transaction_async(id, TxnAction::kCommit, [&](const Result<EndTransactionResult>& r) {
      std::lock_guard lock(mu);
      ends.push_back(r);
      cv.notify_all();
    });
  }
  {
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, 20s, [&] { return ends.size() == kCount; }));
  }
  std::set<uint64_t> offsets;
  for (const auto& e : ends) {
    REQUIRE_MESSAGE(e.is_ok(), e.status().to_string());
    CHECK(e->state == TxnState::kCommitted);
    offsets.insert(e->offset);
  }
  CHECK(offsets.size() == kCount);  // each committed once
  CHECK(fake.received(wire::Body::EndTransactionBatchRequest) >= 1);
}

TEST_CASE("a call made while another of its kind is in flight goes out within the linger, not after that answer") {
  FakeTxnBroker fake;
  auto o = options_for(fake);
  o.producer.client.request_timeout = 3s;  // the dropped first request ends no sooner (close waits for it)
  o.producer.retries = 0;
  auto p = make(o, std::make_shared<TestChecker>());
  fake.drop_next(wire::Body::SendHalfRequest, 1);
  std::mutex mu;
  std::condition_variable cv;
  bool first_done = false;
  std::optional<Result<HalfSendResult>> second;
  p->send_half_async(order("first"), [&](const Result<HalfSendResult>&) {
    std::lock_guard lock(mu);
    first_done = true;
  });
  REQUIRE(fake.wait_received(wire::Body::SendHalfRequest, 1));
  p->send_half_async(order("second"), [&](const Result<HalfSendResult>& r) {
    std::lock_guard lock(mu);
    second = r;
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  REQUIRE(cv.wait_for(lock, 2500ms, [&] { return second.has_value(); }));
  CHECK(second->is_ok());
  CHECK_FALSE(first_done);  // still waiting for its answer: the second did not wait for it
  lock.unlock();
  p->close();  // after the first timed out
}
