// The check-back scheduler (TxnService::run_checks) with a manual clock and a fake sender: when
// checks go out, to whom, how they are counted, parking, resume, the rate cap, restarts.
#include <doctest/doctest.h>

#include <vector>

#include "broker/store/key_layout.h"
#include "broker/txn/half_record.h"
#include "tests/broker/txn/txn_fixture.h"

using namespace tidemq;
using namespace tidemq::broker;
using namespace tidemq::broker::txn;
using tidemq::test::TxnFixture;

namespace {

std::vector<uint64_t> sessions_of(const std::vector<test::FakeSender::Sent>& sent) {
  std::vector<uint64_t> out;
  for (const auto& s : sent) out.push_back(s.session);
  return out;
}

std::vector<uint64_t> txns_of(const std::vector<test::FakeSender::Sent>& sent) {
  std::vector<uint64_t> out;
  for (const auto& s : sent) out.push_back(s.request.txn_id);
  return out;
}

uint32_t persisted_check_count(TxnFixture& f, uint64_t txn_id) {
  auto rec = f.txn->read_half(txn_id);
  REQUIRE(rec.is_ok());
  REQUIRE(rec->has_value());
  return (*rec)->check_count;
}

}  // namespace

TEST_CASE("the first check goes out exactly at the timeout, then every interval") {
  TxnFixture f;
  f.start();
  f.sender.set_live("pg", {1});
  f.must_send_half(42);
  f.advance(f.opt.transaction_timeout_ms - 1);
  CHECK(f.sender.take().empty());
  f.advance(1);
  auto sent = f.sender.take();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].session == 1);
  CHECK(sent[0].request.txn_id == 42);
  CHECK(sent[0].request.producer_group == "pg");
  CHECK(sent[0].request.topic_id == f.topic);
  CHECK(sent[0].request.partition == 0);
  CHECK(sent[0].request.check_count == 1);
  CHECK(txn_id_of(sent[0].request.batch).value() == 42);
  CHECK(persisted_check_count(f, 42) == 1);
  f.txn->on_check_reply(1, 42, Action::kUnknown);

  for (uint32_t n = 2; n <= 4; ++n) {
    f.advance(f.opt.check_interval_ms - 1);
    CHECK(f.sender.take().empty());
    f.advance(1);
    sent = f.sender.take();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].request.check_count == n);
    f.txn->on_check_reply(1, 42, Action::kUnknown);
  }
  auto q = f.txn->query(42);
  CHECK(q->check_count == 4);
  CHECK(q->next_check_in_ms == f.opt.check_interval_ms);
  CHECK(f.txn->summary("").checks_sent == 4);

  // A check answered COMMIT resolves it; no more checks.
  f.txn->on_check_reply(1, 42, Action::kCommit);
  f.txn->drain();
  CHECK(f.end_offset() == 1);
  f.advance(f.opt.check_interval_ms * 3);
  CHECK(f.sender.take().empty());
}

TEST_CASE("a per-message immunity replaces the timeout for the first check, clamped to 1 h") {
  TxnFixture f;
  f.start();
  f.sender.set_live("pg", {1});
  f.must_send_half(1, "pg", /*immunity_ms=*/20'000);
  f.must_send_half(2, "pg", /*immunity_ms=*/10 * 3'600'000);
  f.advance(f.opt.transaction_timeout_ms);
  CHECK(f.sender.take().empty());  // immune
  f.advance(20'000 - f.opt.transaction_timeout_ms - 1);
  CHECK(f.sender.take().empty());
  f.advance(1);
  CHECK(txns_of(f.sender.take()) == std::vector<uint64_t>{1});
  f.txn->on_check_reply(1, 1, Action::kRollback);
  f.txn->drain();
  f.advance(3'600'000 - 20'000 - 1);
  CHECK(f.sender.take().empty());
  f.advance(1);
  CHECK(txns_of(f.sender.take()) == std::vector<uint64_t>{2});
}

TEST_CASE("with no live producer nothing is sent or counted, and the half stays due") {
  TxnFixture f;
  f.start();
  f.must_send_half(1);
  f.advance(f.opt.transaction_timeout_ms);
  f.advance(10 * 60'000);
  CHECK(f.sender.take().empty());
  auto q = f.txn->query(1);
  CHECK(q->check_count == 0);
  CHECK(q->next_check_in_ms < 0);  // overdue
  CHECK(persisted_check_count(f, 1) == 0);
  CHECK(f.txn->summary("").checks_histogram[0] == 1);
  // A producer of another group does not help.
  f.sender.set_live("other", {9});
  f.round();
  CHECK(f.sender.take().empty());
  // One of its own group is asked at once.
  f.sender.set_live("pg", {3});
  f.round();
  auto sent = f.sender.take();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].session == 3);
  CHECK(sent[0].request.check_count == 1);
}

TEST_CASE("a check counts only when a send succeeded; a gone session is skipped for the next one") {
  TxnFixture f;
  f.start();
  f.must_send_half(1);
  SUBCASE("every listed producer gone: not counted, retried next round") {
    f.sender.set_live("pg", {5});
    f.sender.set_gone({5});
    f.advance(f.opt.transaction_timeout_ms);
    CHECK(f.sender.take().empty());
    CHECK(f.txn->query(1)->check_count == 0);
    CHECK(f.txn->summary("").checks_sent == 0);
    f.sender.set_gone({});
    f.round();  // due again at once, not an interval later
    auto sent = f.sender.take();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].request.check_count == 1);
    CHECK(f.txn->query(1)->check_count == 1);
    CHECK(persisted_check_count(f, 1) == 1);
  }
  SUBCASE("the next live producer takes it") {
    f.sender.set_live("pg", {5, 6});
    f.sender.set_gone({5});
    f.advance(f.opt.transaction_timeout_ms);
    auto sent = f.sender.take();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].session == 6);
    CHECK(f.txn->query(1)->check_count == 1);
  }
}

TEST_CASE("checks go round-robin over the group's live producers, never to another group") {
  TxnFixture f;
  f.pool_threads = 1;  // sent in the order picked
  f.start();
  f.sender.set_live("pg", {1, 2, 3});
  f.sender.set_live("other", {9});
  for (uint64_t id = 1; id <= 7; ++id) f.must_send_half(id, "pg");
  f.must_send_half(100, "other");
  f.advance(f.opt.transaction_timeout_ms);
  auto sent = f.sender.take();
  REQUIRE(sent.size() == 8);
  std::vector<uint64_t> pg_sessions;
  for (const auto& s : sent) {
    if (s.request.producer_group == "pg") {
      CHECK(s.session != 9);
      pg_sessions.push_back(s.session);
    } else {
      CHECK(s.request.txn_id == 100);
      CHECK(s.session == 9);
    }
  }
  CHECK(pg_sessions == std::vector<uint64_t>{1, 2, 3, 1, 2, 3, 1});
  // The cursor carries over to the next round, and follows membership changes.
  for (uint64_t id = 1; id <= 7; ++id) f.txn->on_check_reply(0, id, Action::kUnknown);
  f.txn->on_session_closed(1);
  f.txn->on_session_closed(2);
  f.txn->on_session_closed(3);
  f.sender.set_live("pg", {2, 4});
  f.advance(f.opt.check_interval_ms);
  sent = f.sender.take();
  pg_sessions.clear();
  for (const auto& s : sent) {
    if (s.request.producer_group == "pg") pg_sessions.push_back(s.session);
  }
  CHECK(pg_sessions == std::vector<uint64_t>{2, 4, 2, 4, 2, 4, 2});
}

TEST_CASE("oldest due first across groups") {
  TxnFixture f;
  f.opt.max_checks_per_sec = 2;
  f.pool_threads = 1;  // sent in the order picked
  f.start();
  f.sender.set_live("a", {1});
  f.sender.set_live("b", {2});
  f.must_send_half(1, "a");
  f.clock.advance_ms(10);
  f.must_send_half(2, "b");
  f.clock.advance_ms(10);
  f.must_send_half(3, "a");
  f.advance(f.opt.transaction_timeout_ms);
  CHECK(txns_of(f.sender.take()) == std::vector<uint64_t>{1, 2});
  f.advance(1000);
  CHECK(txns_of(f.sender.take()) == std::vector<uint64_t>{3});
}

TEST_CASE("at most one outstanding check per transaction; re-sent after the reply timeout") {
  TxnFixture f;
  f.opt.check_interval_ms = 1000;
  f.opt.check_reply_timeout_ms = 3000;
  f.start();
  f.sender.set_live("pg", {1, 2});
  f.must_send_half(1);
  f.advance(f.opt.transaction_timeout_ms);
  CHECK(sessions_of(f.sender.take()) == std::vector<uint64_t>{1});

  SUBCASE("no reply: nothing until the reply timeout, then again") {
    f.advance(1000);
    f.advance(1000);
    CHECK(f.sender.take().empty());
    f.advance(999);
    CHECK(f.sender.take().empty());
    f.advance(1);
    auto sent = f.sender.take();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].session == 2);
    CHECK(sent[0].request.check_count == 2);
  }
  SUBCASE("an UNKNOWN reply ends the outstanding check: the next interval checks again") {
    f.txn->on_check_reply(1, 1, Action::kUnknown);
    f.advance(1000);
    CHECK(f.sender.take().size() == 1);
  }
  SUBCASE("a reply from another session does not end it") {
    f.txn->on_check_reply(2, 1, Action::kUnknown);
    f.advance(1000);
    CHECK(f.sender.take().empty());
  }
  SUBCASE("its session closing ends it") {
    f.txn->on_session_closed(1);
    f.advance(1000);
    CHECK(sessions_of(f.sender.take()) == std::vector<uint64_t>{2});
  }
}

TEST_CASE("checks sent per second are capped") {
  TxnFixture f;
  f.opt.max_checks_per_sec = 5;
  f.start();
  f.sender.set_live("pg", {1});
  for (uint64_t id = 1; id <= 12; ++id) f.must_send_half(id);
  f.advance(f.opt.transaction_timeout_ms);
  CHECK(f.sender.take().size() == 5);
  f.advance(999);
  CHECK(f.sender.take().empty());
  f.advance(1);
  CHECK(f.sender.take().size() == 5);
  f.advance(1000);
  CHECK(f.sender.take().size() == 2);
  CHECK(f.txn->summary("").checks_sent == 12);
}

TEST_CASE("parked after check_max checks: never checked again, kept, resumable") {
  TxnFixture f;
  f.opt.check_max = 3;
  f.opt.check_interval_ms = 1000;
  f.opt.check_reply_timeout_ms = 500;
  f.start();
  f.sender.set_live("pg", {1});
  f.must_send_half(1);
  f.advance(f.opt.transaction_timeout_ms);
  for (int i = 0; i < 2; ++i) f.advance(1000);
  CHECK(f.sender.take().size() == 3);
  CHECK(f.txn->query(1)->state == TxnState::kPending);
  f.advance(1000);  // due again with 3 checks: parked
  CHECK(f.sender.take().empty());
  auto q = f.txn->query(1);
  CHECK(q->state == TxnState::kParked);
  CHECK(q->check_count == 3);
  CHECK_FALSE(q->batch.empty());
  CHECK(f.end(1, Action::kUnknown)->state == TxnState::kParked);
  auto s = f.txn->summary("");
  CHECK(s.parked == 1);
  CHECK(s.pending == 0);
  CHECK(s.checks_histogram.back() == 1);  // the check_max+ bucket
  f.advance(3'600'000);
  CHECK(f.sender.take().empty());
  CHECK(f.end_offset() == 0);

  SUBCASE("resume: count 0, due now, persisted") {
    auto r = f.txn->resume(1);
    REQUIRE(r.is_ok());
    CHECK(r->state == TxnState::kPending);
    CHECK(r->check_count == 0);
    CHECK(f.txn->query(1)->next_check_in_ms == 0);
    CHECK(persisted_check_count(f, 1) == 0);
    f.restart();
    CHECK(f.txn->query(1)->state == TxnState::kPending);
    f.round();
    auto sent = f.sender.take();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].request.check_count == 1);
  }
  SUBCASE("an operator may resolve a parked transaction") {
    auto out = f.end(1, Action::kCommit, Source::kOperator);
    REQUIRE(out.is_ok());
    CHECK(out->state == TxnState::kCommitted);
    CHECK(f.end_offset() == 1);
    CHECK(f.txn->summary("").parked == 0);
    CHECK(f.txn->resume(1).status().code() == StatusCode::kInvalidArgument);
  }
  CHECK(f.txn->resume(999).status().code() == StatusCode::kNotFound);
}

TEST_CASE("parked at the maximum age (72 h), with or without live producers; resume gives a fresh allowance") {
  TxnFixture f;
  f.opt.check_max = 1000;
  f.opt.check_interval_ms = 3'600'000;
  f.opt.check_reply_timeout_ms = 1000;
  f.start();
  f.sender.set_live("pg", {1});
  f.must_send_half(1, "pg");
  f.must_send_half(2, "lonely");  // no producer, ever
  f.advance(f.opt.transaction_timeout_ms);
  int checks = 0;
  // Checks every hour while younger than 72 h.
  while (f.clock.monotonic_ms() - 1000 < f.opt.max_half_age_ms - f.opt.check_interval_ms) {
    checks += static_cast<int>(f.sender.take().size());
    f.advance(f.opt.check_interval_ms);
  }
  checks += static_cast<int>(f.sender.take().size());
  CHECK(f.txn->query(1)->state == TxnState::kPending);
  CHECK(f.txn->query(2)->state == TxnState::kPending);
  // Age 72 h reached: both are parked at their next look, the lonely one without any check.
  f.advance(f.opt.max_half_age_ms - (f.clock.monotonic_ms() - 1000));
  f.advance(f.opt.check_interval_ms);
  CHECK(f.sender.take().empty());
  CHECK(f.txn->query(1)->state == TxnState::kParked);
  CHECK(f.txn->query(2)->state == TxnState::kParked);
  CHECK(f.txn->query(2)->check_count == 0);
  CHECK(checks == 72);
  REQUIRE(f.txn->resume(1).is_ok());
  f.round();
  CHECK(f.sender.take().size() == 1);
  CHECK(f.txn->query(1)->state == TxnState::kPending);
}

TEST_CASE("restart: the schedule survives and no check is sent twice in an interval") {
  TxnFixture f;
  f.start();
  f.sender.set_live("pg", {1});
  f.must_send_half(1);
  f.clock.advance_ms(1000);
  f.must_send_half(2);
  f.advance(f.opt.transaction_timeout_ms - 1000);  // txn 1 checked, txn 2 due in 1 s
  CHECK(txns_of(f.sender.take()) == std::vector<uint64_t>{1});

  f.restart();  // the check of txn 1 was outstanding; nothing of that is in memory now
  f.clock.advance_ms(200);
  f.round();
  CHECK(f.sender.take().empty());
  auto q1 = f.txn->query(1);
  CHECK(q1->check_count == 1);
  CHECK(q1->next_check_in_ms == f.opt.check_interval_ms - 200);
  f.advance(799);
  CHECK(f.sender.take().empty());
  f.advance(1);  // txn 2 exactly at its timeout
  CHECK(txns_of(f.sender.take()) == std::vector<uint64_t>{2});
  f.advance(f.opt.check_interval_ms - 1000 - 1);
  CHECK(f.sender.take().empty());
  f.advance(1);  // txn 1 one interval after its check, not earlier
  auto sent = f.sender.take();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].request.txn_id == 1);
  CHECK(sent[0].request.check_count == 2);
}

TEST_CASE("restart: a due time far ahead (wall clock stepped back while down) waits at most one interval") {
  TxnFixture f;
  f.start();
  f.sender.set_live("pg", {1});
  f.must_send_half(1);
  f.shutdown();
  f.clock.set_wall_ms(f.clock.now_ms() - 24 * 3'600'000);  // the wall clock went back a day
  f.open();
  REQUIRE(f.open_txn().is_ok());
  f.advance(f.opt.check_interval_ms - 1);
  CHECK(f.sender.take().empty());
  f.advance(1);
  CHECK(f.sender.take().size() == 1);
}

TEST_CASE("a wall-clock step while running triggers nothing (ages are monotonic)") {
  TxnFixture f;
  f.start();
  f.sender.set_live("pg", {1});
  f.must_send_half(1);
  f.clock.set_wall_ms(f.clock.now_ms() + 7 * 24 * 3'600'000);
  f.round();
  CHECK(f.sender.take().empty());
  CHECK(f.txn->query(1)->state == TxnState::kPending);
  f.advance(f.opt.transaction_timeout_ms);
  CHECK(f.sender.take().size() == 1);
}

TEST_CASE("an end arriving while a check update is in flight waits for it, then wins") {
  TxnFixture f;
  f.start();
  f.sender.set_live("pg", {1});
  f.must_send_half(1);
  f.clock.advance_ms(f.opt.transaction_timeout_ms);
  f.env.hold_syncs();
  f.txn->run_checks();  // persisting the check count: its fsync is held
  f.env.wait_for_held_sync();
  std::promise<Result<Outcome>> p;
  f.txn->end(1, Action::kRollback, Source::kProducer, [&](Result<Outcome> r) { p.set_value(std::move(r)); });
  f.env.release_syncs();
  auto out = p.get_future().get();
  REQUIRE(out.is_ok());
  CHECK(out->state == TxnState::kRolledBack);
  f.txn->drain();
  CHECK_FALSE(f.has_half(1));  // the check's update did not bring the half back
  CHECK(f.sender.take().size() == 1);     // the check went out before the rollback ran
  f.advance(f.opt.check_interval_ms);
  CHECK(f.sender.take().empty());
}

TEST_CASE("a reply that arrives before the check's bookkeeping is done still ends the check") {
  TxnFixture f;
  f.sender.on_send = [&](uint64_t session, const CheckRequest& r) {
    // The producer answers UNKNOWN at once, and by then a whole interval has passed.
    f.clock.advance_ms(f.opt.check_interval_ms);
    f.txn->on_check_reply(session, r.txn_id, Action::kUnknown);
  };
  f.start();
  f.sender.set_live("pg", {1});
  f.must_send_half(1);
  f.advance(f.opt.transaction_timeout_ms);
  CHECK(f.sender.take().size() == 1);
  // Due again now: the answered check is not outstanding (no wait for check_reply_timeout).
  f.round();
  auto second = f.sender.take();
  REQUIRE(second.size() == 1);
  CHECK(second.front().request.check_count == 2);
}
