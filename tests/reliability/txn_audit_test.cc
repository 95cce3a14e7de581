// T6's audit (txn_audit.h) on a store built here through the broker's TxnService: what it counts,
// that only the clock past the retention makes the broker's rounds expire outcomes, that an open
// transaction survives them and fails the audit, and that outcome/expiry pairs are checked 1:1.
#include <doctest/doctest.h>

#include <future>

#include <leveldb/write_batch.h>

#include "broker/store/key_layout.h"
#include "broker/txn/half_record.h"
#include "common/record_batch.h"
#include "tests/reliability/txn_audit.h"
#include "tests/support/temp_dir.h"

using namespace tidemq;
namespace txn = broker::txn;

namespace {

constexpr int64_t kPastRetentionMs = 25ll * 3'600'000;

struct Store {
  test::TempDir dir;
  ManualClock clock;
  std::unique_ptr<broker::BrokerCore> core;
  uint32_t topic = 0;

  Store() {
    open();
    broker::TopicConfig c;
    c.name = "orders";
    c.partitions = 1;
    auto r = core->topics->create_or_update(c);
    REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
    topic = r->config.topic_id;
    core->log->ensure_partitions(topic, 1);
  }
  void open() {
    auto c = rel::open_store(dir.str(), clock);
    REQUIRE_MESSAGE(c.is_ok(), c.status().to_string());
    core = std::move(c).value();
  }
  void reopen() {
    core.reset();
    open();
  }
  rel::TxnKeys count() {
    auto k = rel::count_txn_keys(*core);
    REQUIRE_MESSAGE(k.is_ok(), k.status().to_string());
    return *k;
  }
  uint32_t rounds() {
    auto n = rel::run_rounds(*core);
    REQUIRE_MESSAGE(n.is_ok(), n.status().to_string());
    return *n;
  }
  void send_half(uint64_t txn_id) {
    record::BatchBuilder b;
    record::RecordInput r;
    r.id = txn_id;
    r.born_ms = 1;
    r.body = "order paid";
    b.add(r);
    std::promise<Result<txn::SendHalfAck>> p;
    core->txn->send_half("pg", topic, 0, b.finish(0, 0), 0,
                         [&p](Result<txn::SendHalfAck> a) { p.set_value(std::move(a)); });
    auto a = p.get_future().get();
    REQUIRE_MESSAGE(a.is_ok(), a.status().to_string());
  }
  void end(uint64_t txn_id, txn::Action action) {
    std::promise<Result<txn::Outcome>> p;
    core->txn->end(txn_id, action, txn::Source::kProducer,
                   [&p](Result<txn::Outcome> o) { p.set_value(std::move(o)); });
    auto o = p.get_future().get();
    REQUIRE_MESSAGE(o.is_ok(), o.status().to_string());
  }
  void write(leveldb::WriteBatch wb) {
    Status st = core->db->write(wb);
    REQUIRE_MESSAGE(st.is_ok(), st.to_string());
  }
};

}  // namespace

TEST_CASE("the audit counts open and resolved transactions; only the clock past the retention expires outcomes") {
  Store s;
  s.send_half(1);
  s.send_half(2);
  s.send_half(3);
  s.end(1, txn::Action::kCommit);
  s.end(2, txn::Action::kRollback);

  rel::TxnKeys k = s.count();
  CHECK(k.halves == 1);
  CHECK(k.half_log_live == 1);
  CHECK(k.half_segments == 1);
  CHECK(k.committed == 1);
  CHECK(k.rolled_back == 1);
  CHECK(k.expiry_keys == 2);
  CHECK(k.unpaired == 0);
  CHECK(k.legacy_halves == 0);
  CHECK(rel::problems_before(k, rel::ExpectedOutcomes{1, 1}).size() == 1);  // transaction 3 is open
  CHECK(rel::problems_before(k, rel::ExpectedOutcomes{2, 1}).size() == 2);  // and the counts differ

  // The canary's path: rounds at the present time expire nothing.
  CHECK(s.rounds() == 0);
  CHECK(s.count().outcomes() == 2);

  s.clock.advance_ms(kPastRetentionMs);
  CHECK(s.rounds() >= 1);
  k = s.count();
  CHECK(k.outcomes() == 0);
  CHECK(k.expiry_keys == 0);
  CHECK(k.halves == 1);  // the open transaction is not expired with them
  s.reopen();
  k = s.count();
  CHECK(k.halves == 1);
  CHECK(rel::problems_after(k).size() == 2);  // the transaction and its segment

  s.end(3, txn::Action::kRollback);
  s.clock.advance_ms(kPastRetentionMs);
  CHECK(s.rounds() >= 1);
  s.reopen();
  k = s.count();
  CHECK(rel::problems_after(k).empty());
  CHECK(k.half_segments == 0);
  CHECK(k.outcomes() + k.expiry_keys + k.halves == 0);
  CHECK(rel::describe(k) == "0 halves, 0 outcomes, 0 expiry keys");
}

TEST_CASE("each outcome pairs with exactly one expiry key of its txn id and resolution time") {
  Store s;
  s.send_half(1);
  s.end(1, txn::Action::kCommit);
  REQUIRE(s.count().unpaired == 0);

  txn::OutcomeRecord o;
  o.state = txn::TxnState::kRolledBack;
  o.producer_group = "pg";
  o.resolved_unix_ms = 1'000;
  leveldb::WriteBatch wb;
  wb.Put(broker::keys::txn_outcome(7), o.encode());                  // no expiry key
  wb.Put(broker::keys::txn_outcome_expiry(1'000, 8), "");             // no outcome
  wb.Put(broker::keys::txn_outcome(9), o.encode());                   // its key at another time
  wb.Put(broker::keys::txn_outcome_expiry(2'000, 9), "");
  s.write(std::move(wb));
  rel::TxnKeys k = s.count();
  CHECK(k.committed == 1);
  CHECK(k.rolled_back == 2);
  CHECK(k.expiry_keys == 3);
  CHECK(k.unpaired == 4);  // 7, the key of 8, 9 and its key
  auto problems = rel::problems_before(k, std::nullopt);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0] == "4 outcomes or expiry keys without their pair");

  leveldb::WriteBatch legacy;
  legacy.Put(broker::keys::half(5), "x");
  s.write(std::move(legacy));
  CHECK(s.count().legacy_halves == 1);
}
