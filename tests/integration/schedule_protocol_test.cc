// Scheduled messages and send-back over TCP against an in-process broker with a ManualClock
// (SPEC §7): a scheduled batch is acknowledged as scheduled, invisible until due, delivered once,
// also across a restart in the middle; bad scheduled batches get clear errors; a sent-back message
// reaches %RETRY%<group> after its delay and a dead letter %DLQ%<group> at once.
#include <doctest/doctest.h>

#include <string>

#include "tests/integration/in_process_broker.h"
#include "tests/integration/raw_client.h"
#include "tests/support/eventually.h"
#include "tidemq/admin.h"

using namespace tidemq;
using namespace std::chrono_literals;
using test::eventually;
using test::RawClient;
using W = wire::ErrorCode;

namespace {

broker::BrokerConfig schedule_config() {
  broker::BrokerConfig c;
  c.delay_tick_ms = 5;  // ticks run often in real time; the ManualClock decides what is due
  return c;
}

std::unique_ptr<Admin> admin_of(const test::InProcessBroker& b) {
  auto a = Admin::create(b.client_options());
  REQUIRE(a.is_ok());
  return std::move(a).value();
}

uint64_t end_offset(const test::InProcessBroker& b, const std::string& topic, uint32_t partition = 0) {
  auto st = admin_of(b)->topic_status(topic);
  REQUIRE_MESSAGE(st.is_ok(), st.status().to_string());
  return st->partitions[partition].end_offset;
}

std::string stat(const test::InProcessBroker& b, const std::string& name) {
  auto st = admin_of(b)->broker_status();
  REQUIRE(st.is_ok());
  for (const auto& [k, v] : st->stats) {
    if (k == name) return v;
  }
  return "<missing>";
}

struct Ack {
  W error;
  std::string message;
  bool scheduled;
  uint64_t base_offset;
};

Ack produce_at(RawClient& c, uint64_t id, const std::string& topic, const std::string& batch, int64_t deliver_at) {
  flatbuffers::FlatBufferBuilder fbb;
  auto recs = fbb.CreateVector(reinterpret_cast<const uint8_t*>(batch.data()), batch.size());
  std::vector<flatbuffers::Offset<wire::PartitionBatch>> pbs{
      wire::CreatePartitionBatch(fbb, 0, recs, static_cast<uint64_t>(deliver_at))};
  auto req = wire::CreateProduceRequest(fbb, fbb.CreateString(topic), fbb.CreateVector(pbs));
  std::string frame = test::request(c, id, fbb, wire::Body::ProduceRequest, req);
  const auto* resp = test::envelope_of(frame).body_as_ProduceResponse();
  REQUIRE(resp);
  const auto* a = resp->acks()->Get(0);
  return {a->error(), a->error_message() ? a->error_message()->str() : "", a->scheduled(), a->base_offset()};
}

std::string one_record(uint64_t id, uint32_t reconsume_times = 0) {
  const std::string body = "notify-" + std::to_string(id);  // RecordInput holds views
  record::BatchBuilder b;
  record::RecordInput r;
  r.id = id;
  r.reconsume_times = reconsume_times;
  r.body = body;
  b.add(r);
  return b.finish(0, 0);
}

}  // namespace

TEST_CASE("a scheduled batch is acknowledged as scheduled, invisible until due, and delivered once across a restart") {
  ManualClock clock;
  test::InProcessBroker broker(schedule_config(), nullptr, nullptr, clock);
  REQUIRE(admin_of(broker)->update_topic({"orders", 1, -1, -1}).is_ok());
  const int64_t t0 = clock.now_ms();
  {
    RawClient c(broker.port());
    test::hello(c);
    Ack a = produce_at(c, 2, "orders", test::make_batch(3, 10), t0 + 2000);
    CHECK(a.error == W::NONE);
    CHECK(a.scheduled);
    CHECK(a.base_offset == 0);
    Ack b = produce_at(c, 3, "orders", test::make_batch(2, 10), t0 + 4000);
    CHECK(b.scheduled);
    Ack now = produce_at(c, 4, "orders", test::make_batch(1, 10), t0);  // not in the future: at once
    CHECK(now.error == W::NONE);
    CHECK(!now.scheduled);
  }
  CHECK(end_offset(broker, "orders") == 1);
  CHECK(stat(broker, "scheduled_backlog") == "2");
  clock.advance_ms(1999);
  CHECK(!eventually([&] { return end_offset(broker, "orders") != 1; }, 200ms));
  clock.advance_ms(1);
  CHECK(eventually([&] { return end_offset(broker, "orders") == 4; }));
  broker.restart();  // the second one is still waiting
  CHECK(stat(broker, "scheduled_backlog") == "1");
  clock.advance_ms(2000);
  CHECK(eventually([&] { return end_offset(broker, "orders") == 6; }));
  clock.advance_ms(60'000);
  CHECK(!eventually([&] { return end_offset(broker, "orders") != 6; }, 200ms));  // never twice
  CHECK(stat(broker, "scheduled_backlog") == "0");
}

TEST_CASE("an idempotent or too-far scheduled batch is refused with a clear error") {
  ManualClock clock;
  test::InProcessBroker broker(schedule_config(), nullptr, nullptr, clock);
  REQUIRE(admin_of(broker)->update_topic({"orders", 1, -1, -1}).is_ok());
  RawClient c(broker.port());
  test::hello(c);
  Ack idem = produce_at(c, 2, "orders", test::make_batch(1, 10, /*producer_id=*/77, 0), clock.now_ms() + 1000);
  CHECK(idem.error == W::INVALID_ARGUMENT);
  CHECK(idem.message.find("idempotent") != std::string::npos);
  const int64_t three_days = 3LL * 24 * 3600 * 1000;
  Ack far = produce_at(c, 3, "orders", test::make_batch(1, 10), clock.now_ms() + three_days + 1);
  CHECK(far.error == W::INVALID_ARGUMENT);
  CHECK(far.message.find("3 days") != std::string::npos);
  Ack edge = produce_at(c, 4, "orders", test::make_batch(1, 10), clock.now_ms() + three_days);
  CHECK(edge.error == W::NONE);
  CHECK(stat(broker, "scheduled_backlog") == "1");
}

TEST_CASE("a sent-back message reaches %RETRY%<group> after its delay; a dead letter %DLQ%<group> at once") {
  ManualClock clock;
  test::InProcessBroker broker(schedule_config(), nullptr, nullptr, clock);
  RawClient c(broker.port());
  test::hello(c);
  auto send_back = [&](uint64_t cid, const std::string& batch, bool to_dlq) {
    flatbuffers::FlatBufferBuilder fbb;
    auto recs = fbb.CreateVector(reinterpret_cast<const uint8_t*>(batch.data()), batch.size());
    auto req = wire::CreateSendBackRequest(fbb, fbb.CreateString("billing"), fbb.CreateString("orders"), recs, to_dlq);
    return test::request(c, cid, fbb, wire::Body::SendBackRequest, req);
  };
  std::string frame = send_back(2, one_record(9), false);
  const auto& env = test::envelope_of(frame);
  REQUIRE(env.error() == W::NONE);
  const auto* r = env.body_as_SendBackResponse();
  REQUIRE(r);
  CHECK(r->destination()->str() == "%RETRY%billing");
  CHECK(r->reconsume_times() == 1);
  CHECK(r->deliver_at_ms() == static_cast<uint64_t>(clock.now_ms() + 10'000));
  CHECK(end_offset(broker, "%RETRY%billing") == 0);
  clock.advance_ms(10'000);
  CHECK(eventually([&] { return end_offset(broker, "%RETRY%billing") == 1; }));

  std::string dead = send_back(3, one_record(10), true);
  REQUIRE(test::envelope_of(dead).error() == W::NONE);
  CHECK(test::envelope_of(dead).body_as_SendBackResponse()->destination()->str() == "%DLQ%billing");
  CHECK(end_offset(broker, "%DLQ%billing") == 1);
  CHECK(stat(broker, "retries_scheduled") == "1");
  CHECK(stat(broker, "dlq_messages") == "1");

  std::string two = send_back(4, test::make_batch(2, 10), false);
  CHECK(test::envelope_of(two).error() == W::INVALID_ARGUMENT);
}
