// T11 (SPEC §12): the host's wall clock steps ±1 h while the broker runs, and nothing happens
// because of it — no early check-back, no retention deletion, no scheduled message delivered
// early or stalled, no transaction lost. An in-process broker runs on a SteppedClock (the real
// monotonic clock, the real wall clock plus an offset the test steps) and is driven over TCP
// through the public client. The broker runs on an AnchoredClock over it (common/clock.h).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <string>

#include "tests/integration/in_process_broker.h"
#include "tests/support/eventually.h"
#include "tidemq/admin.h"
#include "tidemq/producer.h"
#include "tidemq/reader.h"
#include "tidemq/transaction.h"

using namespace tidemq;
using namespace std::chrono_literals;
using test::eventually;

namespace {

constexpr int64_t kHour = 3'600'000;

// The real clocks, with the wall clock moved by step().
class SteppedClock final : public Clock {
 public:
  int64_t now_ms() const override { return Clock::system().now_ms() + offset_ms_.load(); }
  int64_t monotonic_ns() const override { return Clock::system().monotonic_ns(); }
  void step(int64_t ms) { offset_ms_ += ms; }

 private:
  std::atomic<int64_t> offset_ms_{0};
};

std::unique_ptr<Admin> admin_of(const test::InProcessBroker& b) {
  auto a = Admin::create(b.client_options());
  REQUIRE(a.is_ok());
  return std::move(a).value();
}

uint64_t stat(const test::InProcessBroker& b, const std::string& name) {
  auto st = admin_of(b)->broker_status();
  REQUIRE(st.is_ok());
  for (const auto& [k, v] : st->stats) {
    if (k == name) return std::stoull(v);
  }
  FAIL("no stat " << name);
  return 0;
}

void create_topic(const test::InProcessBroker& b, const std::string& name, int64_t retention_ms = -1) {
  auto r = admin_of(b)->update_topic({name, 1, retention_ms, -1});
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
}

std::unique_ptr<Producer> producer_of(const test::InProcessBroker& b) {
  ProducerOptions o;
  o.client = b.client_options();
  auto p = Producer::create(o);
  REQUIRE(p.is_ok());
  return std::move(p).value();
}

std::vector<Message> read_all(const test::InProcessBroker& b, const std::string& topic) {
  auto reader = PartitionReader::create(b.client_options(), topic);
  REQUIRE(reader.is_ok());
  auto r = (*reader)->fetch(0, 0);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  CHECK(r->start_offset == 0);
  return r->messages;
}

}  // namespace

TEST_CASE("T11: a wall-clock step of +1 h deletes nothing by retention") {
  SteppedClock clock;
  broker::BrokerConfig c;
  c.retention_check_ms = 20;
  test::InProcessBroker b(c, nullptr, nullptr, clock);
  create_topic(b, "audit", 30 * 60'000);  // 30 min: a broker on the stepped clock would expire all
  auto p = producer_of(b);
  for (int i = 0; i < 5; ++i) {
    Message m;
    m.topic = "audit";
    m.body = "m" + std::to_string(i);
    REQUIRE(p->send(m).is_ok());
  }
  clock.step(kHour);
  const uint64_t runs = stat(b, "retention_runs");
  REQUIRE(eventually([&] { return stat(b, "retention_runs") >= runs + 3; }));
  auto msgs = read_all(b, "audit");
  REQUIRE(msgs.size() == 5);
  CHECK(msgs[4].body == "m4");
}

TEST_CASE("T11: scheduled messages are neither early after +1 h nor stalled after -1 h") {
  SteppedClock clock;
  broker::BrokerConfig c;
  c.delay_tick_ms = 20;
  test::InProcessBroker b(c, nullptr, nullptr, clock);
  create_topic(b, "sms");
  auto p = producer_of(b);
  Message m;
  m.topic = "sms";

  SUBCASE("+1 h: a 1 s delay is still scheduled and delivered after it") {
    clock.step(kHour);
    m.delay_level = 1;  // 1 s, converted by the client's (unstepped) clock
    const auto sent = std::chrono::steady_clock::now();
    auto r = p->send(m);
    REQUIRE(r.is_ok());
    CHECK(r->scheduled);  // on the stepped wall clock it would be an hour overdue: appended at once
    REQUIRE(eventually([&] { return read_all(b, "sms").size() == 1; }));
    // 1 s precision (SPEC §7): never before its due second.
    CHECK(std::chrono::steady_clock::now() - sent >= 900ms);
  }
  SUBCASE("-1 h: a message due in 1 s is delivered within its second, not an hour later") {
    clock.step(-kHour);
    m.delay_level = 1;
    auto r = p->send(m);
    REQUIRE(r.is_ok());
    CHECK(r->scheduled);
    CHECK(eventually([&] { return read_all(b, "sms").size() == 1; }, 5s));
    CHECK(stat(b, "scheduled_backlog") == 0);
  }
}

TEST_CASE("T11: a wall-clock step of ±1 h brings no early check-back and rolls nothing back") {
  SteppedClock clock;
  broker::BrokerConfig c;
  c.transaction_timeout_ms = 2000;
  c.check_interval_ms = 1000;
  c.check_scan_ms = 20;
  test::InProcessBroker b(c, nullptr, nullptr, clock);
  create_topic(b, "orders");
  std::atomic<int> checks{0};
  std::atomic<int64_t> first_check_ns{0};
  TransactionalProducerOptions o;
  o.producer.client = b.client_options();
  o.producer.producer_group = "order-pg";
  auto tp = TransactionalProducer::create(o, make_transaction_checker([&](const Message&, uint64_t) {
    int64_t zero = 0;
    first_check_ns.compare_exchange_strong(zero, Clock::system().monotonic_ns());
    ++checks;
    return TxnAction::kCommit;
  }));
  REQUIRE(tp.is_ok());
  Message m;
  m.topic = "orders";
  m.body = "order-1";

  int64_t step = 0;
  SUBCASE("+1 h") { step = kHour; }
  SUBCASE("-1 h") { step = -kHour; }
  CAPTURE(step);
  auto half = (*tp)->send_half(m);
  REQUIRE(half.is_ok());
  const int64_t sent_ns = Clock::system().monotonic_ns();
  clock.step(step);
  // Left open: the first check comes at the transaction timeout on the monotonic clock, not at
  // once (+1 h would make the half-message look an hour old), and not an hour late (-1 h).
  REQUIRE(eventually([&] { return checks.load() >= 1; }, 10s));
  CHECK(first_check_ns.load() - sent_ns >= 1'900'000'000);
  CHECK(first_check_ns.load() - sent_ns < 6'000'000'000);
  // The check's COMMIT is what the broker recorded: delivered once, nothing left open.
  REQUIRE(eventually([&] { return read_all(b, "orders").size() == 1; }));
  CHECK(read_all(b, "orders")[0].body == "order-1");
  auto hs = admin_of(b)->half_status();
  REQUIRE(hs.is_ok());
  CHECK(hs->pending == 0);
  CHECK(hs->parked == 0);
  CHECK(stat(b, "txn_rolled_back") == 0);
}
