// The broker's transaction handlers over the wire (RawClient producers, no client library
// producer): half-messages invisible until commit, first outcome wins, check-backs to live
// producers of the group only (ManualClock), counted only when sent, parking and resume,
// operator resolution, limits, producerConnection, pending halves across a restart, and
// SendHalf / EndTransaction batches (each item on its own, size limits, dedup inside a batch).
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include <leveldb/db.h>

#include "broker/dispatch/responder.h"
#include "common/clock.h"
#include "tests/integration/in_process_broker.h"
#include "tests/integration/txn_wire.h"
#include "tests/support/eventually.h"
#include "tidemq/admin.h"
#include "tidemq/producer.h"

using namespace tidemq;
using namespace std::chrono_literals;
using test::eventually;
using test::TxnWire;
using W = wire::ErrorCode;
using S = wire::TxnState;
using A = wire::TxnAction;

namespace {

broker::BrokerConfig txn_config() {
  broker::BrokerConfig c;
  c.check_scan_ms = 5;  // rounds run often in real time; the ManualClock decides what is due
  return c;
}

std::unique_ptr<Admin> admin_of(const test::InProcessBroker& b) {
  auto a = Admin::create(b.client_options());
  REQUIRE(a.is_ok());
  return std::move(a).value();
}

uint64_t end_offset(const test::InProcessBroker& b, const std::string& topic) {
  auto st = admin_of(b)->topic_status(topic);
  REQUIRE_MESSAGE(st.is_ok(), st.status().to_string());
  return st->partitions[0].end_offset;
}

// Keys of the transaction keyspaces (half 0x08, outcome 0x09, outcome expiry 0x0A) in a
// stopped broker's LevelDB.
size_t txn_keys(const std::string& data_dir) {
  leveldb::DB* raw = nullptr;
  leveldb::Options o;
  REQUIRE(leveldb::DB::Open(o, data_dir, &raw).ok());
  std::unique_ptr<leveldb::DB> db(raw);
  std::unique_ptr<leveldb::Iterator> it(db->NewIterator({}));
  size_t n = 0;
  for (it->Seek(std::string(1, '\x08')); it->Valid() && static_cast<uint8_t>(it->key()[0]) <= 0x0A; it->Next()) ++n;
  return n;
}

// Segment files of a stopped broker's half log (<data>/halflog).
size_t half_log_files(const std::string& data_dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(data_dir) / "halflog")) {
    n += e.path().extension() == ".half" ? 1 : 0;
  }
  return n;
}

}  // namespace

TEST_CASE("a half-message is invisible until COMMIT; the first outcome wins and nothing is written twice") {
  test::InProcessBroker broker(txn_config());
  REQUIRE(admin_of(broker)->update_topic({"orders", 1, -1, -1}).is_ok());
  TxnWire p(broker.port(), "order-pg");

  auto half = p.send_half("orders", 1001, "order-1");
  REQUIRE_MESSAGE(half.error == W::NONE, half.message);
  CHECK(half.txn_id == 1001);
  CHECK(end_offset(broker, "orders") == 0);  // stored, but in no partition
  CHECK(p.query(1001).state == S::PENDING);
  CHECK(p.send_half("orders", 1001, "order-1").txn_id == 1001);  // a retried SendHalf stores nothing new
  CHECK(p.half_status().pending == 1);

  auto unknown = p.end(1001, A::UNKNOWN);
  CHECK(unknown.error == W::NONE);
  CHECK(unknown.state == S::PENDING);

  auto committed = p.end(1001, A::COMMIT);
  REQUIRE_MESSAGE(committed.error == W::NONE, committed.message);
  CHECK(committed.state == S::COMMITTED);
  CHECK(committed.offset == 0);
  CHECK(end_offset(broker, "orders") == 1);
  auto by_offset = admin_of(broker)->query_by_offset("orders", 0, 0);
  REQUIRE(by_offset.is_ok());
  CHECK(by_offset->body == "order-1");
  CHECK(by_offset->id == 1001);

  // Repeated and late ends answer the recorded outcome and write nothing.
  CHECK(p.end(1001, A::COMMIT).state == S::COMMITTED);
  auto late = p.end(1001, A::ROLLBACK);
  CHECK(late.state == S::COMMITTED);
  CHECK(late.offset == 0);
  CHECK(p.send_half("orders", 1001, "order-1").error == W::NONE);  // a very late retry: still nothing new
  CHECK(end_offset(broker, "orders") == 1);

  REQUIRE(p.send_half("orders", 1002, "order-2").error == W::NONE);
  CHECK(p.end(1002, A::ROLLBACK).state == S::ROLLED_BACK);
  CHECK(p.end(1002, A::COMMIT).state == S::ROLLED_BACK);
  CHECK(end_offset(broker, "orders") == 1);
  CHECK(p.query(1002).state == S::ROLLED_BACK);

  CHECK(p.end(424242, A::COMMIT).error == W::NOT_FOUND);
  auto st = p.half_status();
  CHECK(st.pending == 0);
  CHECK(st.committed == 1);
  CHECK(st.rolled_back == 1);
}

TEST_CASE("SendHalf errors: no producer group, unknown topic, bad partition, more than one record") {
  test::InProcessBroker broker(txn_config());
  REQUIRE(admin_of(broker)->update_topic({"orders", 1, -1, -1}).is_ok());
  TxnWire no_group(broker.port(), "");
  auto r = no_group.send_half("orders", 1);
  CHECK(r.error == W::INVALID_ARGUMENT);
  CHECK(r.message.find("producer group") != std::string::npos);
  TxnWire p(broker.port(), "pg");
  CHECK(p.send_half("nope", 2).error == W::TOPIC_NOT_FOUND);
  CHECK(p.send_half("orders", 3, "x", 0, /*partition=*/5).error == W::INVALID_PARTITION);
}

TEST_CASE("check-back: sent at the timeout to a live producer of the group only, and its answer resolves") {
  ManualClock clock;
  test::InProcessBroker broker(txn_config(), nullptr, nullptr, clock);
  REQUIRE(admin_of(broker)->update_topic({"orders", 1, -1, -1}).is_ok());
  TxnWire p(broker.port(), "order-pg", "order-service");
  TxnWire other(broker.port(), "other-pg", "other-service");
  CHECK(p.producers("order-pg") == std::vector<std::string>{"order-service"});

  REQUIRE(p.send_half("orders", 7, "commit-me").error == W::NONE);
  REQUIRE(p.send_half("orders", 8, "drop-me").error == W::NONE);
  auto before = p.query(7);
  CHECK(before.check_count == 0);
  CHECK(before.next_check_in_ms == 6'000);
  clock.advance_ms(6'000);

  std::map<uint64_t, TxnWire::Check> checks;
  for (int i = 0; i < 2; ++i) {
    auto c = p.next_check();
    REQUIRE(c.has_value());
    CHECK(c->group == "order-pg");
    CHECK(c->check_count == 1);
    checks[c->txn_id] = *c;
  }
  REQUIRE(checks.size() == 2);
  CHECK(checks[7].body == "commit-me");
  p.answer(checks[7], A::COMMIT);
  p.answer(checks[8], A::ROLLBACK);
  CHECK(eventually([&] { return end_offset(broker, "orders") == 1; }));
  CHECK(eventually([&] { return p.query(8).state == S::ROLLED_BACK; }));
  CHECK(p.query(7).state == S::COMMITTED);
  // A late end from the producer after the check resolved it the other way changes nothing.
  CHECK(p.end(8, A::COMMIT).state == S::ROLLED_BACK);
  CHECK(p.end(7, A::ROLLBACK).state == S::COMMITTED);
  CHECK(end_offset(broker, "orders") == 1);
  CHECK_FALSE(other.has_unread());  // nothing went to another group
  CHECK(p.half_status().checks_sent == 2);
}

TEST_CASE("with no producer online the half waits and the check is not counted; a producer that comes back is asked") {
  ManualClock clock;
  test::InProcessBroker broker(txn_config(), nullptr, nullptr, clock);
  REQUIRE(admin_of(broker)->update_topic({"orders", 1, -1, -1}).is_ok());
  TxnWire observer(broker.port(), "observer-pg");
  {
    TxnWire p(broker.port(), "order-pg");
    REQUIRE(p.send_half("orders", 11).error == W::NONE);
  }  // the order service dies between half and end
  CHECK(eventually([&] { return observer.producers("order-pg").empty(); }));
  clock.advance_ms(60'000);  // overdue, twice over
  std::this_thread::sleep_for(50ms);  // ~10 scheduler rounds run with nobody to ask
  auto waiting = observer.query(11);
  CHECK(waiting.state == S::PENDING);
  CHECK(waiting.check_count == 0);
  CHECK(observer.half_status().checks_sent == 0);

  TxnWire back(broker.port(), "order-pg");
  auto c = back.next_check();
  REQUIRE(c.has_value());
  CHECK(c->txn_id == 11);
  CHECK(c->check_count == 1);
  back.answer(*c, A::COMMIT);
  CHECK(eventually([&] { return end_offset(broker, "orders") == 1; }));
}

TEST_CASE("unanswered checks: again every interval, parked after check_max, resumed and resolved by an operator") {
  ManualClock clock;
  auto config = txn_config();
  config.check_max = 2;
  test::InProcessBroker broker(config, nullptr, nullptr, clock);
  REQUIRE(admin_of(broker)->update_topic({"orders", 1, -1, -1}).is_ok());
  TxnWire p(broker.port(), "order-pg");
  REQUIRE(p.send_half("orders", 21).error == W::NONE);
  clock.advance_ms(6'000);
  auto c1 = p.next_check();
  REQUIRE(c1.has_value());
  p.answer(*c1, A::UNKNOWN);
  CHECK(eventually([&] { return p.query(21).next_check_in_ms == 30'000; }));
  clock.advance_ms(30'000);
  auto c2 = p.next_check();
  REQUIRE(c2.has_value());
  CHECK(c2->check_count == 2);
  p.answer(*c2, A::UNKNOWN);
  clock.advance_ms(30'000);
  CHECK(eventually([&] { return p.query(21).state == S::PARKED; }));
  CHECK(p.half_status().parked == 1);
  CHECK(p.end(21, A::UNKNOWN).state == S::PARKED);

  auto resumed = p.resume(21);
  CHECK(resumed.state == S::PENDING);
  CHECK(resumed.check_count == 0);
  auto c3 = p.next_check();
  REQUIRE(c3.has_value());
  CHECK(c3->check_count == 1);
  // The operator resolves it before the producer answers; the producer's answer then changes nothing.
  auto resolved = p.operator_end(21, A::ROLLBACK);
  CHECK(resolved.state == S::ROLLED_BACK);
  p.answer(*c3, A::COMMIT);
  CHECK(p.query(21).state == S::ROLLED_BACK);
  CHECK(end_offset(broker, "orders") == 0);
  CHECK(p.operator_end(21, A::UNKNOWN).error == W::INVALID_ARGUMENT);
}

TEST_CASE("a restart keeps pending halves with their check counts and schedule") {
  ManualClock clock;
  test::InProcessBroker broker(txn_config(), nullptr, nullptr, clock);
  REQUIRE(admin_of(broker)->update_topic({"orders", 1, -1, -1}).is_ok());
  {
    TxnWire p(broker.port(), "order-pg");
    REQUIRE(p.send_half("orders", 31, "kept").error == W::NONE);
    REQUIRE(p.send_half("orders", 32).error == W::NONE);
    REQUIRE(p.end(32, A::ROLLBACK).state == S::ROLLED_BACK);
    clock.advance_ms(6'000);
    auto c = p.next_check();
    REQUIRE(c.has_value());
    CHECK(c->txn_id == 31);
    // not answered: the broker goes down
  }
  broker.restart();
  TxnWire p(broker.port(), "order-pg");
  auto after = p.query(31);
  CHECK(after.state == S::PENDING);
  CHECK(after.check_count == 1);
  CHECK(after.next_check_in_ms > 0);  // not due again at once because of the restart
  CHECK(after.next_check_in_ms <= 30'000);
  CHECK(p.query(32).state == S::ROLLED_BACK);  // the outcome is remembered too
  CHECK(p.half_status().pending == 1);
  clock.advance_ms(after.next_check_in_ms);
  auto c = p.next_check();
  REQUIRE(c.has_value());
  CHECK(c->txn_id == 31);
  CHECK(c->check_count == 2);
  CHECK(c->body == "kept");
  p.answer(*c, A::COMMIT);
  CHECK(eventually([&] { return end_offset(broker, "orders") == 1; }));
}

TEST_CASE("a half-message flood past --max-half-messages gets TOO_MANY_HALF_MESSAGES naming the flag") {
  auto config = txn_config();
  config.max_half_messages = 3;
  test::InProcessBroker broker(config);
  REQUIRE(admin_of(broker)->update_topic({"orders", 1, -1, -1}).is_ok());
  TxnWire p(broker.port(), "order-pg");
  for (uint64_t id = 1; id <= 3; ++id) REQUIRE(p.send_half("orders", id).error == W::NONE);
  auto refused = p.send_half("orders", 4);
  const auto refused_at = std::chrono::steady_clock::now();
  CHECK(refused.error == W::TOO_MANY_HALF_MESSAGES);
  CHECK(refused.message.find("max-half-messages") != std::string::npos);
  // The refusal muted the connection: its next request is taken 100 ms after the refusal left
  // (a few ms without the mute; 10 ms of margin for the refusal's way to the client).
  REQUIRE(p.end(1, A::COMMIT).state == S::COMMITTED);
  CHECK(std::chrono::steady_clock::now() - refused_at >=
        std::chrono::milliseconds(broker::Responder::kLimitMuteMs - 10));
  CHECK(p.send_half("orders", 4).error == W::NONE);  // room again once one is resolved
}

TEST_CASE("no half-message record or outcome key is left after resolution and the outcome retention") {
  ManualClock clock;
  test::InProcessBroker broker(txn_config(), nullptr, nullptr, clock);
  REQUIRE(admin_of(broker)->update_topic({"orders", 1, -1, -1}).is_ok());
  {
    TxnWire p(broker.port(), "order-pg");
    REQUIRE(p.send_half("orders", 41).error == W::NONE);
    REQUIRE(p.send_half("orders", 42).error == W::NONE);
    REQUIRE(p.send_half("orders", 43).error == W::NONE);
    REQUIRE(p.end(41, A::COMMIT).state == S::COMMITTED);
    REQUIRE(p.end(42, A::ROLLBACK).state == S::ROLLED_BACK);
    clock.advance_ms(6'000);
    auto c = p.next_check();
    REQUIRE(c.has_value());
    p.answer(*c, A::COMMIT);
    CHECK(eventually([&] { return p.query(43).state == S::COMMITTED; }));
    clock.advance_ms(24 * 3'600'000 + 60'000);  // past the 24 h outcome retention
    CHECK(eventually([&] { return p.end(41, A::COMMIT).error == W::NOT_FOUND && p.query(43).error == W::NOT_FOUND; }));
  }
  CHECK(end_offset(broker, "orders") == 2);
  broker.stop();
  CHECK(txn_keys(broker.data_dir()) == 0);
  CHECK(half_log_files(broker.data_dir()) == 0);  // resolved records' segments were deleted
}

TEST_CASE("a SendHalf batch stores each half on its own: per-item acks, a bad item fails alone") {
  test::InProcessBroker broker(txn_config());
  REQUIRE(admin_of(broker)->update_topic({"orders", 1, -1, -1}).is_ok());
  TxnWire p(broker.port(), "order-pg");

  auto batch = p.send_half_batch({{"orders", 101}, {"nope", 102}, {"orders", 103, /*partition=*/5}, {"orders", 104}});
  REQUIRE_MESSAGE(batch.error == W::NONE, batch.message);
  REQUIRE(batch.items.size() == 4);
  CHECK(batch.items[0].error == W::NONE);
  CHECK(batch.items[0].txn_id == 101);
  CHECK(batch.items[0].store_ms > 0);
  CHECK(batch.items[1].error == W::TOPIC_NOT_FOUND);
  CHECK(batch.items[1].message.find("nope") != std::string::npos);
  CHECK(batch.items[1].txn_id == 0);
  CHECK(batch.items[2].error == W::INVALID_PARTITION);
  CHECK(batch.items[2].message.find("partition 5") != std::string::npos);
  CHECK(batch.items[3].error == W::NONE);
  CHECK(batch.items[3].txn_id == 104);
  CHECK(batch.items[3].message.empty());

  CHECK(p.query(101).state == S::PENDING);
  CHECK(p.query(104).state == S::PENDING);
  CHECK(p.query(102).error == W::NOT_FOUND);
  CHECK(p.query(103).error == W::NOT_FOUND);
  CHECK(p.half_status().pending == 2);
  CHECK(end_offset(broker, "orders") == 0);  // stored, but in no partition
}

TEST_CASE("an EndTransaction batch ends each transaction on its own; the first outcome still wins") {
  test::InProcessBroker broker(txn_config());
  REQUIRE(admin_of(broker)->update_topic({"orders", 2, -1, -1}).is_ok());
  TxnWire p(broker.port(), "order-pg");
  REQUIRE(p.send_half("orders", 201, "commit-me", 0, /*partition=*/1).error == W::NONE);
  REQUIRE(p.send_half("orders", 202, "drop-me").error == W::NONE);
  auto end_offsets = [&] {
    auto st = admin_of(broker)->topic_status("orders");
    REQUIRE_MESSAGE(st.is_ok(), st.status().to_string());
    return std::pair(st->partitions[0].end_offset, st->partitions[1].end_offset);
  };

  auto first = p.end_batch({{201, A::COMMIT}, {202, A::ROLLBACK}, {424242, A::COMMIT}});
  REQUIRE_MESSAGE(first.error == W::NONE, first.message);
  REQUIRE(first.items.size() == 3);
  CHECK(first.items[0].error == W::NONE);
  CHECK(first.items[0].state == S::COMMITTED);
  CHECK(first.items[0].topic == "orders");
  CHECK(first.items[0].partition == 1);
  CHECK(first.items[0].offset == 0);
  CHECK(first.items[1].error == W::NONE);
  CHECK(first.items[1].state == S::ROLLED_BACK);
  CHECK(first.items[1].topic.empty());
  CHECK(first.items[2].error == W::NOT_FOUND);
  CHECK_FALSE(first.items[2].message.empty());
  CHECK(end_offsets() == std::pair<uint64_t, uint64_t>(0, 1));

  auto again = p.end_batch({{201, A::ROLLBACK}, {202, A::COMMIT}});
  REQUIRE_MESSAGE(again.error == W::NONE, again.message);
  REQUIRE(again.items.size() == 2);
  CHECK(again.items[0].error == W::NONE);
  CHECK(again.items[0].state == S::COMMITTED);
  CHECK(again.items[0].topic == "orders");
  CHECK(again.items[0].partition == 1);
  CHECK(again.items[0].offset == 0);
  CHECK(again.items[1].error == W::NONE);
  CHECK(again.items[1].state == S::ROLLED_BACK);
  CHECK(end_offsets() == std::pair<uint64_t, uint64_t>(0, 1));  // nothing appended the second time
  auto st = p.half_status();
  CHECK(st.committed == 1);
  CHECK(st.rolled_back == 1);
}

TEST_CASE("an empty or oversized transaction batch is refused") {
  test::InProcessBroker broker(txn_config());
  REQUIRE(admin_of(broker)->update_topic({"orders", 1, -1, -1}).is_ok());
  TxnWire p(broker.port(), "order-pg");

  auto no_halves = p.send_half_batch(std::vector<TxnWire::Half>{});
  CHECK(no_halves.error == W::INVALID_ARGUMENT);
  CHECK(no_halves.items.empty());
  auto no_ends = p.end_batch({});
  CHECK(no_ends.error == W::INVALID_ARGUMENT);
  CHECK(no_ends.items.empty());
  {  // no vector at all
    flatbuffers::FlatBufferBuilder fbb;
    auto frame = p.call(fbb, wire::Body::SendHalfBatchRequest, wire::CreateSendHalfBatchRequest(fbb));
    CHECK(test::envelope_of(frame).error() == W::INVALID_ARGUMENT);
  }
  {
    flatbuffers::FlatBufferBuilder fbb;
    auto frame = p.call(fbb, wire::Body::EndTransactionBatchRequest, wire::CreateEndTransactionBatchRequest(fbb));
    CHECK(test::envelope_of(frame).error() == W::INVALID_ARGUMENT);
  }

  std::vector<TxnWire::Half> halves;
  std::vector<std::pair<uint64_t, wire::TxnAction>> ends;
  for (uint64_t id = 1; id <= 4097; ++id) {
    halves.push_back({"orders", id, 0, "x"});
    ends.emplace_back(id, A::ROLLBACK);
  }
  auto too_many_halves = p.send_half_batch(halves);
  CHECK(too_many_halves.error == W::INVALID_ARGUMENT);
  CHECK(too_many_halves.message.find("4096") != std::string::npos);
  CHECK(too_many_halves.items.empty());
  CHECK(p.half_status().pending == 0);  // none of them stored
  auto too_many_ends = p.end_batch(ends);
  CHECK(too_many_ends.error == W::INVALID_ARGUMENT);
  CHECK(too_many_ends.message.find("4096") != std::string::npos);

  ends.pop_back();  // 4096: at the limit, accepted (each unknown id answered on its own)
  auto at_limit = p.end_batch(ends);
  REQUIRE_MESSAGE(at_limit.error == W::NONE, at_limit.message);
  REQUIRE(at_limit.items.size() == 4096);
  CHECK(at_limit.items.front().error == W::NOT_FOUND);
  CHECK(at_limit.items.back().error == W::NOT_FOUND);
}

TEST_CASE("the same txn id twice in one SendHalf batch is stored once and acked twice with the same store time") {
  // ManualClock: the broker answers a duplicate with the store time mapped back from its
  // monotonic clock, which can differ by a millisecond from the wall clock's under a real clock.
  ManualClock clock;
  test::InProcessBroker broker(txn_config(), nullptr, nullptr, clock);
  REQUIRE(admin_of(broker)->update_topic({"orders", 1, -1, -1}).is_ok());
  TxnWire p(broker.port(), "order-pg");
  const uint64_t sent_ms = static_cast<uint64_t>(clock.now_ms());

  auto batch = p.send_half_batch("orders", {301, 301});
  REQUIRE_MESSAGE(batch.error == W::NONE, batch.message);
  REQUIRE(batch.items.size() == 2);
  for (const auto& item : batch.items) {
    CHECK_MESSAGE(item.error == W::NONE, item.message);
    CHECK(item.txn_id == 301);
    CHECK(item.store_ms == sent_ms);
  }
  CHECK(p.half_status().pending == 1);
  clock.advance_ms(1'000);
  auto retried = p.send_half("orders", 301);  // a later retry on its own: the original ack again
  CHECK(retried.error == W::NONE);
  CHECK(retried.store_ms == sent_ms);
  CHECK(p.half_status().pending == 1);
  CHECK(end_offset(broker, "orders") == 0);
}
