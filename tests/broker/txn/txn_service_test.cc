// TxnService: half-messages, first-outcome-wins EndTransaction, dedup, limits, outcome expiry,
// corruption, restart. The scheduler is in txn_checks_test.cc.
#include "broker/txn/txn_service.h"

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "broker/store/key_layout.h"
#include "tests/broker/txn/txn_fixture.h"

using namespace tidemq;
using namespace tidemq::broker;
using namespace tidemq::broker::txn;
using tidemq::test::half_batch;
using tidemq::test::TxnFixture;

namespace {

// The records of a partition as (id, producer id of their batch).
std::vector<std::pair<uint64_t, uint64_t>> records(TxnFixture& f, uint32_t partition = 0) {
  auto r = f.log->read(f.topic, partition, f.info(f.topic, partition).start_offset, 1 << 20);
  REQUIRE(r.is_ok());
  std::vector<std::pair<uint64_t, uint64_t>> out;
  std::string_view rest = r->batches;
  while (!rest.empty()) {
    auto h = record::parse_header(rest);
    REQUIRE(h.is_ok());
    std::string_view one = rest.substr(0, h->batch_len);
    REQUIRE(record::for_each_record(one, [&](const record::RecordView& v) { out.emplace_back(v.id, h->producer_id); })
                .is_ok());
    rest.remove_prefix(h->batch_len);
  }
  return out;
}

}  // namespace

TEST_CASE("a half-message is stored durably and invisibly, then committed into its partition") {
  TxnFixture f;
  f.start();
  auto ack = f.send_half(101);
  REQUIRE(ack.is_ok());
  CHECK(ack->txn_id == 101);
  CHECK(ack->store_ms == f.clock.now_ms());
  CHECK(f.has_half(101));
  CHECK(f.end_offset() == 0);  // invisible: in no partition
  CHECK(f.txn->half_count() == 1);

  auto q = f.txn->query(101);
  REQUIRE(q.is_ok());
  CHECK(q->state == TxnState::kPending);
  CHECK(q->producer_group == "pg");
  CHECK(q->check_count == 0);
  CHECK(q->next_check_in_ms == f.opt.transaction_timeout_ms);
  CHECK(record::for_each_record(q->batch, [](const record::RecordView& v) { CHECK(v.id == 101); }).is_ok());

  f.clock.advance_ms(10);
  auto out = f.end(101, Action::kCommit);
  REQUIRE(out.is_ok());
  CHECK(out->state == TxnState::kCommitted);
  CHECK(out->topic_id == f.topic);
  CHECK(out->partition == 0);
  CHECK(out->offset == 0);
  CHECK(out->resolved_unix_ms == f.clock.now_ms());
  CHECK(f.end_offset() == 1);
  // The committed batch is not an idempotent one: its producer id was cleared.
  CHECK(records(f) == std::vector<std::pair<uint64_t, uint64_t>>{{101, 0}});
  // One WriteBatch: the half is gone, the outcome and its expiry key are there.
  CHECK_FALSE(f.has_half(101));
  CHECK(f.has_key(keys::txn_outcome(101)));
  CHECK(f.has_key(keys::txn_outcome_expiry(static_cast<uint64_t>(out->resolved_unix_ms), 101)));
  CHECK(f.txn->half_count() == 0);

  auto after = f.txn->query(101);
  REQUIRE(after.is_ok());
  CHECK(after->state == TxnState::kCommitted);
  CHECK(after->offset == 0);
  CHECK(after->batch.empty());
  auto s = f.txn->summary("");
  CHECK(s.committed == 1);
  CHECK(s.pending == 0);
}

TEST_CASE("rollback drops the half-message; nothing is ever appended") {
  TxnFixture f;
  f.start();
  f.must_send_half(7);
  auto out = f.end(7, Action::kRollback);
  REQUIRE(out.is_ok());
  CHECK(out->state == TxnState::kRolledBack);
  CHECK(f.end_offset() == 0);
  CHECK_FALSE(f.has_half(7));
  CHECK(f.has_key(keys::txn_outcome(7)));
  CHECK(f.txn->summary("").rolled_back == 1);
}

TEST_CASE("UNKNOWN changes nothing; an unknown transaction is NOT_FOUND") {
  TxnFixture f;
  f.start();
  f.must_send_half(7);
  auto out = f.end(7, Action::kUnknown);
  REQUIRE(out.is_ok());
  CHECK(out->state == TxnState::kPending);
  CHECK(f.has_half(7));
  CHECK(f.end(8, Action::kCommit).status().code() == StatusCode::kNotFound);
  CHECK(f.end(8, Action::kUnknown).status().code() == StatusCode::kNotFound);
  CHECK(f.txn->query(8).status().code() == StatusCode::kNotFound);
}

TEST_CASE("the first COMMIT or ROLLBACK wins: repeated and late ends answer it and write nothing") {
  TxnFixture f;
  f.start();
  f.must_send_half(1);
  f.must_send_half(2);
  auto c = f.end(1, Action::kCommit);
  auto r = f.end(2, Action::kRollback);
  REQUIRE(c.is_ok());
  REQUIRE(r.is_ok());
  const uint64_t syncs = f.env.sync_count();
  for (Source src : {Source::kProducer, Source::kCheck, Source::kOperator}) {
    for (Action a : {Action::kCommit, Action::kRollback, Action::kUnknown}) {
      auto c2 = f.end(1, a, src);
      REQUIRE(c2.is_ok());
      CHECK(c2->state == TxnState::kCommitted);
      CHECK(c2->offset == c->offset);
      auto r2 = f.end(2, a, src);
      REQUIRE(r2.is_ok());
      CHECK(r2->state == TxnState::kRolledBack);
    }
  }
  CHECK(f.end_offset() == 1);               // never appended twice
  CHECK(f.env.sync_count() == syncs);       // nothing written at all
  // Also after a restart (the outcome is durable, not just in memory).
  f.restart();
  CHECK(f.end(1, Action::kRollback)->state == TxnState::kCommitted);
  CHECK(f.end(2, Action::kCommit)->state == TxnState::kRolledBack);
  CHECK(f.end_offset() == 1);
}

TEST_CASE("concurrent ends from two threads: one outcome per transaction, one append per commit") {
  TxnFixture f;
  f.start();
  constexpr uint64_t kTxns = 200;
  for (uint64_t id = 1; id <= kTxns; ++id) f.must_send_half(id);

  std::vector<Result<Outcome>> a(kTxns + 1, Status::internal("unset"));
  std::vector<Result<Outcome>> b(kTxns + 1, Status::internal("unset"));
  std::atomic<int> ready{0};
  auto run = [&](std::vector<Result<Outcome>>& out, Action first, Action second) {
    ++ready;
    while (ready.load() < 2) {
    }
    std::vector<std::promise<Result<Outcome>>> ps(kTxns + 1);
    for (uint64_t id = 1; id <= kTxns; ++id) {
      f.txn->end(id, id % 2 ? first : second, Source::kProducer,
                 [&ps, id](Result<Outcome> r) { ps[id].set_value(std::move(r)); });
    }
    for (uint64_t id = 1; id <= kTxns; ++id) out[id] = ps[id].get_future().get();
  };
  std::thread t1(run, std::ref(a), Action::kCommit, Action::kRollback);
  std::thread t2(run, std::ref(b), Action::kRollback, Action::kCommit);
  t1.join();
  t2.join();

  uint64_t committed = 0;
  for (uint64_t id = 1; id <= kTxns; ++id) {
    REQUIRE_MESSAGE(a[id].is_ok(), a[id].status().to_string());
    REQUIRE_MESSAGE(b[id].is_ok(), b[id].status().to_string());
    CHECK(a[id]->state == b[id]->state);
    CHECK(a[id]->offset == b[id]->offset);
    auto late = f.end(id, a[id]->state == TxnState::kCommitted ? Action::kRollback : Action::kCommit);
    CHECK(late->state == a[id]->state);
    if (a[id]->state == TxnState::kCommitted) ++committed;
  }
  CHECK(f.end_offset() == committed);
  auto recs = records(f);
  CHECK(recs.size() == committed);
  std::set<uint64_t> distinct;
  for (auto& [id, pid] : recs) distinct.insert(id);
  CHECK(distinct.size() == committed);
  auto s = f.txn->summary("");
  CHECK(s.committed == committed);
  CHECK(s.rolled_back == kTxns - committed);
  CHECK(s.pending == 0);
}

TEST_CASE("a late producer end after a check resolved the other way returns the check's outcome") {
  TxnFixture f;
  f.start();
  f.must_send_half(5);
  f.txn->on_check_reply(/*session=*/1, 5, Action::kRollback);
  f.txn->drain();
  auto late = f.end(5, Action::kCommit);
  REQUIRE(late.is_ok());
  CHECK(late->state == TxnState::kRolledBack);
  CHECK(f.end_offset() == 0);

  f.must_send_half(6);
  f.txn->on_check_reply(1, 6, Action::kCommit);
  f.txn->drain();
  CHECK(f.end(6, Action::kRollback)->state == TxnState::kCommitted);
  CHECK(f.end_offset() == 1);
}

TEST_CASE("SendHalf with a txn id the broker has is acknowledged again and stores nothing") {
  TxnFixture f;
  f.start();
  auto first = f.send_half(9);
  REQUIRE(first.is_ok());
  f.clock.advance_ms(500);
  auto again = f.send_half(9);
  REQUIRE(again.is_ok());
  CHECK(again->store_ms == first->store_ms);
  CHECK(f.txn->half_count() == 1);

  REQUIRE(f.end(9, Action::kCommit).is_ok());
  // Resolved: the remembered outcome answers, nothing is stored again, nothing appended.
  auto late = f.send_half(9);
  REQUIRE(late.is_ok());
  CHECK(late->store_ms == first->store_ms);
  CHECK(f.txn->half_count() == 0);
  CHECK_FALSE(f.has_half(9));
  CHECK(f.end(9, Action::kCommit)->offset == 0);
  CHECK(f.end_offset() == 1);
}

TEST_CASE("a SendHalf retry racing the first one waits for it and gets the same ack") {
  TxnFixture f;
  f.start();
  f.env.hold_syncs();
  std::promise<Result<SendHalfAck>> p1, p2;
  f.txn->send_half("pg", f.topic, 0, half_batch(3), 0, [&](Result<SendHalfAck> r) { p1.set_value(std::move(r)); });
  f.env.wait_for_held_sync();
  f.txn->send_half("pg", f.topic, 0, half_batch(3), 0, [&](Result<SendHalfAck> r) { p2.set_value(std::move(r)); });
  f.env.release_syncs();
  auto a = p1.get_future().get();
  auto b = p2.get_future().get();
  REQUIRE(a.is_ok());
  REQUIRE(b.is_ok());
  CHECK(a->store_ms == b->store_ms);
  CHECK(f.txn->half_count() == 1);
}

TEST_CASE("SendHalf input errors") {
  TxnFixture f;
  f.start();
  auto call = [&](std::string group, uint32_t topic, uint32_t partition, std::string batch) {
    std::promise<Result<SendHalfAck>> p;
    f.txn->send_half(std::move(group), topic, partition, std::move(batch), 0,
                     [&](Result<SendHalfAck> r) { p.set_value(std::move(r)); });
    return p.get_future().get().status().code();
  };
  CHECK(call("pg", f.topic, 0, test::make_batch(2)) == StatusCode::kInvalidArgument);  // two records
  CHECK(call("", f.topic, 0, half_batch(1)) == StatusCode::kInvalidArgument);
  CHECK(call("pg", 999, 0, half_batch(1)) == StatusCode::kTopicNotFound);
  CHECK(call("pg", f.topic, 2, half_batch(1)) == StatusCode::kInvalidPartition);
  record::BatchBuilder b;
  record::RecordInput r;  // id 0
  b.add(r);
  CHECK(call("pg", f.topic, 0, b.finish(0, 0)) == StatusCode::kInvalidArgument);
  CHECK(f.txn->half_count() == 0);
}

TEST_CASE("the half-message limits give TOO_MANY_HALF_MESSAGES naming the flag; halves being stored count") {
  TxnFixture f;
  SUBCASE("broker-wide") {
    f.opt.max_half_messages = 3;
    f.start();
    // Three halves still being written (their fsync held) already fill the limit.
    f.env.hold_syncs();
    std::vector<std::promise<Result<SendHalfAck>>> ps(3);
    for (uint64_t id = 1; id <= 3; ++id) {
      f.txn->send_half("pg", f.topic, 0, half_batch(id), 0,
                       [&ps, id](Result<SendHalfAck> r) { ps[id - 1].set_value(std::move(r)); });
    }
    f.env.wait_for_held_sync();
    CHECK(f.txn->half_count() == 3);
    std::promise<Result<SendHalfAck>> p4;
    f.txn->send_half("other", f.topic, 0, half_batch(4), 0, [&](Result<SendHalfAck> r) { p4.set_value(std::move(r)); });
    auto refused = p4.get_future().get();
    CHECK(refused.status().code() == StatusCode::kTooManyHalfMessages);
    CHECK(refused.status().message().find("--max-half-messages") != std::string::npos);
    CHECK(refused.status().message().find("3") != std::string::npos);
    f.env.release_syncs();
    for (auto& p : ps) CHECK(p.get_future().get().is_ok());
    // A resolved one frees its place.
    REQUIRE(f.end(1, Action::kRollback).is_ok());
    CHECK(f.send_half(4, "other").is_ok());
  }
  SUBCASE("per producer group") {
    f.opt.max_half_per_group = 2;
    f.start();
    f.must_send_half(1, "a");
    f.must_send_half(2, "a");
    auto refused = f.send_half(3, "a");
    CHECK(refused.status().code() == StatusCode::kTooManyHalfMessages);
    CHECK(refused.status().message().find("--max-half-per-group") != std::string::npos);
    CHECK(refused.status().message().find("'a'") != std::string::npos);
    CHECK(f.send_half(3, "b").is_ok());
    // A retry of a stored one is still acknowledged at the limit.
    CHECK(f.send_half(2, "a").is_ok());
  }
}

TEST_CASE("outcomes are remembered for the retention, then expire with their index key") {
  TxnFixture f;
  f.start();
  f.must_send_half(1);
  f.must_send_half(2);
  auto c = f.end(1, Action::kCommit);
  REQUIRE(c.is_ok());
  f.clock.advance_ms(1000);
  auto r = f.end(2, Action::kRollback);
  REQUIRE(r.is_ok());

  f.advance(f.opt.outcome_retention_ms - 1000);  // txn 1 exactly retention old: kept
  CHECK(f.end(1, Action::kRollback)->state == TxnState::kCommitted);
  f.advance(1);  // now older than the retention
  CHECK(f.end(1, Action::kRollback).status().code() == StatusCode::kNotFound);
  CHECK_FALSE(f.has_key(keys::txn_outcome(1)));
  CHECK_FALSE(f.has_key(keys::txn_outcome_expiry(static_cast<uint64_t>(c->resolved_unix_ms), 1)));
  CHECK(f.end(2, Action::kCommit)->state == TxnState::kRolledBack);
  f.advance(1000);
  CHECK(f.end(2, Action::kCommit).status().code() == StatusCode::kNotFound);
  CHECK_FALSE(f.has_key(keys::txn_outcome(2)));
  CHECK(f.end_offset() == 1);  // the expired commit's message stays delivered, of course
}

TEST_CASE("outcome expiry is bounded per round") {
  TxnFixture f;
  f.opt.expire_batch = 3;
  f.start();
  for (uint64_t id = 1; id <= 7; ++id) {
    f.must_send_half(id);
    REQUIRE(f.end(id, Action::kRollback).is_ok());
  }
  f.clock.advance_ms(f.opt.outcome_retention_ms + 1);
  auto remembered = [&] {
    int n = 0;
    for (uint64_t id = 1; id <= 7; ++id) n += f.has_key(keys::txn_outcome(id)) ? 1 : 0;
    return n;
  };
  f.round();
  CHECK(remembered() == 4);
  f.round();
  CHECK(remembered() == 1);
  f.round();
  CHECK(remembered() == 0);
}

TEST_CASE("a damaged half log record is reported as a storage error, never served") {
  TxnFixture f;
  f.opt.young_body_bytes = 0;  // every commit reads its body from the half log
  f.start();
  REQUIRE(f.send_half(11, "pg", 0, 0, "body-of-eleven").is_ok());
  f.must_send_half(12);
  // Flip one byte of txn 11's body in its segment file.
  const std::filesystem::path seg = f.half_log_dir() / "0000000001.half";
  std::string bytes;
  {
    std::ifstream in(seg, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const size_t at = bytes.find("body-of-eleven");
  REQUIRE(at != std::string::npos);
  {
    std::fstream io(seg, std::ios::binary | std::ios::in | std::ios::out);
    io.seekp(static_cast<std::streamoff>(at));
    io.put('B');
  }

  auto q = f.txn->query(11);
  CHECK(q.status().code() == StatusCode::kStorageError);
  CHECK(q.status().message().find("000000000000000b") != std::string::npos);
  auto c = f.end(11, Action::kCommit);
  CHECK(c.status().code() == StatusCode::kStorageError);
  CHECK(f.end_offset() == 0);
  CHECK(f.end(11, Action::kUnknown)->state == TxnState::kPending);  // still pending, nothing served
  CHECK(f.end(12, Action::kCommit).is_ok());                          // the others are fine

  // At open the broker refuses to start, naming the file (a damaged record followed by more
  // data is no torn tail).
  f.shutdown();
  f.open();
  Status st = f.open_txn();
  CHECK(st.code() == StatusCode::kStorageError);
  CHECK(st.message().find("0000000001.half") != std::string::npos);
}

TEST_CASE("half records of a data directory from before the half log are moved into it") {
  TxnFixture f;
  f.start();
  f.shutdown();
  f.open();
  HalfRecord rec;
  rec.producer_group = "pg";
  rec.topic_id = f.topic;
  rec.partition = 1;
  rec.received_unix_ms = f.clock.now_ms();
  rec.age_base_unix_ms = rec.received_unix_ms;
  rec.next_check_unix_ms = rec.received_unix_ms + 6000;
  rec.check_count = 2;
  rec.batch = test::half_batch(21);
  leveldb::WriteBatch wb;
  wb.Put(keys::half(21), rec.encode());
  REQUIRE(f.db->write(wb).is_ok());
  Status st = f.open_txn();
  REQUIRE_MESSAGE(st.is_ok(), st.to_string());
  CHECK_FALSE(f.has_key(keys::half(21)));  // moved
  CHECK(f.has_half(21));
  auto q = f.txn->query(21);
  REQUIRE(q.is_ok());
  CHECK(q->state == TxnState::kPending);
  CHECK(q->check_count == 2);
  f.restart();  // the moved record is the only copy now
  auto out = f.end(21, Action::kCommit);
  REQUIRE(out.is_ok());
  CHECK(out->partition == 1);
  CHECK(f.end_offset(1) == 1);

  // A legacy record that does not decode: the broker refuses to start, naming the transaction.
  f.shutdown();
  f.open();
  leveldb::WriteBatch bad;
  bad.Put(keys::half(22), "\x07nonsense");
  REQUIRE(f.db->write(bad).is_ok());
  st = f.open_txn();
  CHECK(st.code() == StatusCode::kStorageError);
  CHECK(st.message().find("transaction 0000000000000016") != std::string::npos);
}

TEST_CASE("resolved transactions leave no half log segment behind; old segments are compacted") {
  TxnFixture f;
  f.opt.half_log_segment_bytes = 4096;  // a few records per segment
  f.start();
  for (uint64_t id = 1; id <= 40; ++id) REQUIRE(f.send_half(id, "pg", 0, 0, std::string(1000, 'x')).is_ok());
  CHECK(f.txn->half_log_segments().size() > 5);
  for (uint64_t id = 1; id <= 40; ++id) {
    if (id == 3) continue;  // stays pending, in the first segment
    REQUIRE(f.end(id, id % 2 ? Action::kCommit : Action::kRollback).is_ok());
  }
  f.txn->drain();
  auto segs = f.txn->half_log_segments();
  REQUIRE(segs.size() == 2);  // the one holding txn 3, and the head
  CHECK(segs.front().live == 1);
  CHECK(segs.back().head);

  // Past the compaction age the head is rolled and txn 3's record moved out of its old segment.
  f.advance(f.opt.half_log_compact_ms);
  f.round();
  segs = f.txn->half_log_segments();
  REQUIRE(segs.size() == 1);
  CHECK(segs.front().live == 1);
  auto q = f.txn->query(3);
  REQUIRE(q.is_ok());
  CHECK(q->state == TxnState::kPending);
  CHECK_FALSE(q->batch.empty());

  // A restart loads only txn 3; the resolved ones stay resolved.
  f.restart();
  CHECK(f.txn->half_count() == 1);
  CHECK(f.end(2, Action::kCommit)->state == TxnState::kRolledBack);
  CHECK(f.end(3, Action::kCommit)->state == TxnState::kCommitted);
  f.txn->drain();
  f.round();
  CHECK(f.txn->half_log_segments().size() <= 1);
}

TEST_CASE("restart: pending and parked halves, their groups and check counts survive") {
  TxnFixture f;
  f.opt.check_max = 1;
  f.opt.check_interval_ms = 1000;
  f.start();
  f.sender.set_live("pg", {1});
  f.must_send_half(1, "pg");
  f.must_send_half(2, "other");
  f.must_send_half(3, "pg");
  REQUIRE(f.end(3, Action::kCommit).is_ok());
  f.advance(f.opt.transaction_timeout_ms);  // txn 1 checked (1 of 1)
  CHECK(f.sender.take().size() == 1);
  f.txn->on_check_reply(1, 1, Action::kUnknown);
  f.advance(f.opt.check_interval_ms);  // txn 1 parked
  CHECK(f.txn->query(1)->state == TxnState::kParked);

  f.restart();
  auto s = f.txn->summary("");
  CHECK(s.pending == 1);
  CHECK(s.parked == 1);
  REQUIRE(s.groups.size() == 2);
  CHECK(s.groups[0].producer_group == "other");
  CHECK(s.groups[1].producer_group == "pg");
  CHECK(s.groups[1].parked == 1);
  CHECK(s.groups[1].live_producers == 1);
  CHECK(s.checks_histogram == std::vector<uint64_t>{1, 1});
  auto q1 = f.txn->query(1);
  CHECK(q1->state == TxnState::kParked);
  CHECK(q1->check_count == 1);
  CHECK(f.txn->query(2)->state == TxnState::kPending);
  CHECK(f.txn->query(3)->state == TxnState::kCommitted);
  CHECK(f.end(2, Action::kCommit)->offset == 1);
}

TEST_CASE("summary: per-group counts, oldest age, histogram; an unknown group is listed empty") {
  TxnFixture f;
  f.start();
  f.sender.set_live("a", {4, 5});
  f.must_send_half(1, "a");
  f.clock.advance_ms(100);
  f.must_send_half(2, "a");
  f.must_send_half(3, "b");
  f.clock.advance_ms(50);
  auto s = f.txn->summary("");
  CHECK(s.pending == 3);
  CHECK(s.oldest_age_ms == 150);
  REQUIRE(s.groups.size() == 2);
  CHECK(s.groups[0].pending == 2);
  CHECK(s.groups[0].oldest_age_ms == 150);
  CHECK(s.groups[0].live_producers == 2);
  CHECK(s.groups[1].oldest_age_ms == 50);
  CHECK(s.checks_histogram.size() == f.opt.check_max + 1);
  CHECK(s.checks_histogram[0] == 3);
  REQUIRE(f.end(1, Action::kRollback).is_ok());
  auto a = f.txn->summary("a");
  CHECK(a.pending == 1);
  CHECK(a.oldest_age_ms == 50);
  REQUIRE(a.groups.size() == 1);
  auto none = f.txn->summary("nobody");
  REQUIRE(none.groups.size() == 1);
  CHECK(none.groups[0].producer_group == "nobody");
  CHECK(none.pending == 0);
}

TEST_CASE("after stop() every call answers SHUTTING_DOWN") {
  TxnFixture f;
  f.start();
  f.must_send_half(1);
  f.txn->stop();
  CHECK(f.send_half(2).status().code() == StatusCode::kShuttingDown);
  CHECK(f.end(1, Action::kCommit).status().code() == StatusCode::kShuttingDown);
  CHECK(f.txn->resume(1).status().code() == StatusCode::kShuttingDown);
  f.txn->run_checks();  // a no-op
}

TEST_CASE("young bodies are kept in memory within their budget; the others are read back; both commit the same bytes") {
  TxnFixture f;
  f.opt.young_body_bytes = 1300;  // room for one of the two bodies (~1,100 bytes with its entry)
  f.start();
  REQUIRE(f.send_half(31, "pg", 0, 0, std::string(1000, 'a')).is_ok());
  REQUIRE(f.send_half(32, "pg", 0, 0, std::string(1000, 'b')).is_ok());
  REQUIRE(f.end(32, Action::kCommit).is_ok());  // read from the half log
  REQUIRE(f.end(31, Action::kCommit).is_ok());  // from memory
  auto read = f.log->read(f.topic, 0, 0, 1 << 20);
  REQUIRE(read.is_ok());
  std::vector<std::pair<uint64_t, std::string>> got;
  REQUIRE(record::for_each_record_in_batches(read->batches, [&](const record::RecordView& v) {
            got.emplace_back(v.id, std::string(v.body));
          }).is_ok());
  CHECK(got == std::vector<std::pair<uint64_t, std::string>>{{32, std::string(1000, 'b')}, {31, std::string(1000, 'a')}});
}

TEST_CASE("a first attempt is stored without the outcome lookup; a retry of a resolved one is still answered from its outcome") {
  TxnFixture f;
  f.start();
  std::promise<Result<SendHalfAck>> p;
  f.txn->send_half("pg", f.topic, 0, half_batch(41), 0, [&](Result<SendHalfAck> r) { p.set_value(std::move(r)); },
                   /*first_attempt=*/true);
  auto ack = p.get_future().get();
  REQUIRE(ack.is_ok());
  CHECK(f.has_half(41));
  auto out = f.end(41, Action::kCommit);
  REQUIRE(out.is_ok());
  CHECK(f.end_offset() == 1);
  // The retry (not a first attempt) finds the outcome: acknowledged, nothing stored or appended.
  auto retry = f.send_half(41);
  REQUIRE(retry.is_ok());
  CHECK(retry->store_ms == ack->store_ms);
  CHECK(f.txn->half_count() == 0);
  CHECK(f.end_offset() == 1);
}
