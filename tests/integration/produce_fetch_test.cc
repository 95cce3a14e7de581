// Through the public client against a broker on port 0: produce -> fetch, long-poll wake-up,
// restart keeps data and offsets continue, idempotent retry, admin round trips.
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "tests/integration/in_process_broker.h"
#include "tests/integration/raw_client.h"
#include "tests/support/read_all.h"
#include "tidemq/admin.h"
#include "tidemq/producer.h"
#include "tidemq/reader.h"

using namespace tidemq;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<Admin> make_admin(const test::InProcessBroker& b) {
  auto a = Admin::create(b.client_options());
  REQUIRE_MESSAGE(a.is_ok(), a.status().to_string());
  return std::move(a).value();
}

std::unique_ptr<Producer> make_producer(const test::InProcessBroker& b) {
  ProducerOptions o;
  o.client = b.client_options();
  auto p = Producer::create(o);
  REQUIRE_MESSAGE(p.is_ok(), p.status().to_string());
  return std::move(p).value();
}

std::unique_ptr<PartitionReader> make_reader(const test::InProcessBroker& b, const std::string& topic) {
  auto r = PartitionReader::create(b.client_options(), topic);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  return std::move(r).value();
}

}  // namespace

TEST_CASE("produce then fetch returns the same messages with contiguous offsets") {
  test::InProcessBroker broker;
  auto admin = make_admin(broker);
  auto created = admin->update_topic({"orders", 2, -1, -1});
  REQUIRE_MESSAGE(created.is_ok(), created.status().to_string());
  CHECK(*created);

  auto producer = make_producer(broker);
  std::vector<SendResult> sent;
  for (int i = 0; i < 50; ++i) {
    Message m;
    m.topic = "orders";
    m.key = "k" + std::to_string(i);
    m.tags = "TagA";
    m.properties = {{"n", std::to_string(i)}};
    m.body = "body-" + std::to_string(i);
    m.partition = i % 2;
    auto r = producer->send(m);
    REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
    CHECK(r->partition == static_cast<uint32_t>(i % 2));
    CHECK(r->offset == static_cast<uint64_t>(i / 2));
    CHECK(r->id != 0);
    sent.push_back(*r);
  }

  auto reader = make_reader(broker, "orders");
  CHECK(reader->partition_count() == 2);
  auto f = reader->fetch(1, 0);
  REQUIRE_MESSAGE(f.is_ok(), f.status().to_string());
  REQUIRE(f->messages.size() == 25);
  CHECK(f->end_offset == 25);
  CHECK(f->next_offset == 25);
  for (size_t j = 0; j < f->messages.size(); ++j) {
    const Message& m = f->messages[j];
    int i = static_cast<int>(j) * 2 + 1;
    CHECK(m.offset == j);
    CHECK(m.partition == 1);
    CHECK(m.body == "body-" + std::to_string(i));
    CHECK(m.key == "k" + std::to_string(i));
    CHECK(m.tags == "TagA");
    REQUIRE(m.properties.size() == 1);
    CHECK(m.properties[0].second == std::to_string(i));
    CHECK(m.id == sent[static_cast<size_t>(i)].id);
    CHECK(m.store_ms > 0);
  }
  // From the middle of the log.
  auto mid = reader->fetch(0, 10);
  REQUIRE(mid.is_ok());
  REQUIRE(!mid->messages.empty());
  CHECK(mid->messages.front().offset == 10);

  // Admin view agrees.
  auto status = admin->topic_status("orders");
  REQUIRE(status.is_ok());
  REQUIRE(status->partitions.size() == 2);
  CHECK(status->partitions[0].end_offset == 25);
  CHECK(status->partitions[1].end_offset == 25);
  auto by_offset = admin->query_by_offset("orders", 1, 3);
  REQUIRE_MESSAGE(by_offset.is_ok(), by_offset.status().to_string());
  CHECK(by_offset->body == "body-7");
  auto by_id = admin->query_by_id(sent[7].id);
  REQUIRE_MESSAGE(by_id.is_ok(), by_id.status().to_string());
  REQUIRE(by_id->size() == 1);
  CHECK((*by_id)[0].offset == 3);
}

TEST_CASE("a long poll is woken by an append") {
  test::InProcessBroker broker;
  auto admin = make_admin(broker);
  REQUIRE(admin->update_topic({"wake", 1, -1, -1}).is_ok());
  auto reader = make_reader(broker, "wake");
  auto t0 = std::chrono::steady_clock::now();
  auto pending = std::async(std::launch::async, [&] { return reader->fetch(0, 0, 15000ms); });
  // The fetch is parked on the broker until this send lands; it must not wait out its 15 s.
  auto producer = make_producer(broker);
  Message m;
  m.topic = "wake";
  m.body = "ping";
  REQUIRE(producer->send(m).is_ok());
  auto f = pending.get();
  auto waited = std::chrono::steady_clock::now() - t0;
  REQUIRE_MESSAGE(f.is_ok(), f.status().to_string());
  REQUIRE(f->messages.size() == 1);
  CHECK(f->messages[0].body == "ping");
  CHECK(waited < 10s);
}

TEST_CASE("an empty long poll returns empty after max_wait") {
  test::InProcessBroker broker;
  auto admin = make_admin(broker);
  REQUIRE(admin->update_topic({"quiet", 1, -1, -1}).is_ok());
  auto reader = make_reader(broker, "quiet");
  auto f = reader->fetch(0, 0, 200ms);
  REQUIRE(f.is_ok());
  CHECK(f->messages.empty());
  CHECK(f->end_offset == 0);
}

TEST_CASE("a restart keeps topics and data, and offsets continue") {
  test::InProcessBroker broker;
  {
    auto admin = make_admin(broker);
    REQUIRE(admin->update_topic({"durable", 3, -1, -1}).is_ok());
    auto producer = make_producer(broker);
    for (int i = 0; i < 30; ++i) {
      Message m;
      m.topic = "durable";
      m.body = fmt::format("m{}", i);
      REQUIRE(producer->send(m).is_ok());
    }
  }
  broker.restart();
  auto admin = make_admin(broker);
  auto topics = admin->list_topics();
  REQUIRE(topics.is_ok());
  REQUIRE(topics->size() == 1);
  CHECK((*topics)[0].partitions == 3);
  auto all = test::read_all(broker.client_options(), "durable");
  CHECK(all.size() == 30);
  std::set<std::string> bodies;
  for (auto& m : all) bodies.insert(m.body);
  CHECK(bodies.size() == 30);

  auto producer = make_producer(broker);
  Message m;
  m.topic = "durable";
  m.body = "after";
  m.partition = 0;
  auto r = producer->send(m);
  REQUIRE(r.is_ok());
  auto status = admin->topic_status("durable");
  REQUIRE(status.is_ok());
  CHECK(r->offset == status->partitions[0].end_offset - 1);
  CHECK(r->offset >= 1);  // continues after the stored messages of partition 0
}

TEST_CASE("a retry older than the idempotence window gets its original offset, also after a restart") {
  test::InProcessBroker broker;
  REQUIRE(make_admin(broker)->update_topic({"window", 1, -1, -1}).is_ok());
  constexpr uint64_t kProducer = 0xfeed;
  auto produce = [&](uint64_t corr, uint32_t seq) {
    test::RawClient raw(broker.port());
    test::hello(raw);
    raw.send(framing::encode_frame(test::produce_payload(corr, "window", 0, test::make_batch(2, 8, kProducer, seq))));
    auto f = raw.read_frame();
    REQUIRE(f);
    const auto& env = test::envelope_of(*f);
    REQUIRE(env.body_type() == wire::Body::ProduceResponse);
    const auto* ack = env.body_as_ProduceResponse()->acks()->Get(0);
    REQUIRE_MESSAGE(ack->error() == wire::ErrorCode::NONE, wire::EnumNameErrorCode(ack->error()));
    return std::pair{ack->base_offset(), ack->duplicate()};
  };
  for (uint32_t i = 0; i < 2 * (record::kIdempotentWindow + 3); i += 2) {
    CHECK(produce(10 + i, i) == std::pair<uint64_t, bool>{i, false});
  }
  broker.restart();
  CHECK(produce(100, 0) == std::pair<uint64_t, bool>{0, true});  // far outside the window
  CHECK(produce(101, 4) == std::pair<uint64_t, bool>{4, true});
  auto status = make_admin(broker)->topic_status("window");
  REQUIRE(status.is_ok());
  CHECK(status->partitions[0].end_offset == 2 * (record::kIdempotentWindow + 3));  // nothing stored twice
}

TEST_CASE("client errors: unknown topic, bad partition, oversize message, bad topic name") {
  broker::BrokerConfig cfg;
  cfg.max_message_bytes = 64 * 1024;
  test::InProcessBroker broker(cfg);
  auto admin = make_admin(broker);
  REQUIRE(admin->update_topic({"t", 2, -1, -1}).is_ok());
  auto producer = make_producer(broker);

  Message unknown;
  unknown.topic = "missing";
  unknown.body = "x";
  auto r1 = producer->send(unknown);
  REQUIRE(!r1.is_ok());
  CHECK(r1.status().code() == StatusCode::kTopicNotFound);

  Message badp;
  badp.topic = "t";
  badp.partition = 7;
  badp.body = "x";
  auto r2 = producer->send(badp);
  REQUIRE(!r2.is_ok());
  CHECK(r2.status().code() == StatusCode::kInvalidPartition);

  Message big;
  big.topic = "t";
  big.body.assign(100 * 1024, 'x');
  auto r3 = producer->send(big);
  REQUIRE(!r3.is_ok());
  CHECK(r3.status().code() == StatusCode::kMessageTooLarge);

  auto r4 = admin->update_topic({"bad name!", 1, -1, -1});
  CHECK(!r4.is_ok());
  auto r5 = admin->update_topic({"%RETRY%x", 1, -1, -1});
  CHECK(!r5.is_ok());
  auto r6 = admin->update_topic({"t", 1, -1, -1});  // shrinking
  CHECK(!r6.is_ok());

  // The producer still works after all of that.
  Message ok;
  ok.topic = "t";
  ok.body = "fine";
  CHECK(producer->send(ok).is_ok());
}
