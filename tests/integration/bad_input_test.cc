// Hostile bytes over a real socket: each gets a clear error or a closed connection, and another
// client keeps working throughout.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <asio.hpp>
#include <optional>
#include <random>

#include "common/coding.h"
#include "common/framing.h"
#include "schemas/envelope_generated.h"
#include "tests/integration/in_process_broker.h"
#include "tests/integration/raw_client.h"
#include "tidemq/producer.h"

using namespace tidemq;
using tidemq::test::RawClient;
using tidemq::test::envelope_of;
using tidemq::test::hello;

namespace {

std::unique_ptr<Producer> producer_for(const test::InProcessBroker& b) {
  ProducerOptions o;
  o.client = b.client_options();
  auto p = Producer::create(o);
  REQUIRE(p.is_ok());
  return std::move(p).value();
}

void check_producer_works(Producer& p) {
  Message m;
  m.topic = "healthy";
  m.body = "still here";
  auto r = p.send(m);
  CHECK_MESSAGE(r.is_ok(), r.status().to_string());
}

}  // namespace

TEST_CASE("hostile input is refused per connection while others keep working") {
  broker::BrokerConfig cfg;
  cfg.max_frame_bytes = 1 << 20;
  cfg.max_message_bytes = 512 * 1024;
  test::InProcessBroker broker(cfg);
  uint16_t port = broker.port();
  auto bystander = producer_for(broker);
  // Create the topic through a raw request to exercise that path too.
  {
    RawClient c(port);
    hello(c);
    flatbuffers::FlatBufferBuilder fbb;
    auto cfgw = wire::CreateTopicConfig(fbb, fbb.CreateString("healthy"), 1);
    fbb.Finish(wire::CreateEnvelope(fbb, 2, wire::Body::CreateTopicRequest, wire::CreateCreateTopicRequest(fbb, cfgw).Union()));
    c.send_frame(fbb);
    auto f = c.read_frame();
    REQUIRE(f);
    CHECK(envelope_of(*f).error() == wire::ErrorCode::NONE);
  }
  check_producer_works(*bystander);

  SUBCASE("length prefix 0xFFFFFFFF gets FRAME_TOO_LARGE and a close") {
    RawClient c(port);
    c.send("\xff\xff\xff\xff junk that follows");
    auto f = c.read_frame();
    REQUIRE(f);
    CHECK(envelope_of(*f).error() == wire::ErrorCode::FRAME_TOO_LARGE);
    CHECK(c.closed_by_peer());
  }
  SUBCASE("random bytes in a frame get PROTOCOL_ERROR and a close") {
    RawClient c(port);
    std::mt19937 rng(42);
    std::string junk(200, '\0');
    for (auto& ch : junk) ch = static_cast<char>(rng());
    c.send(framing::encode_frame(junk));
    auto f = c.read_frame();
    REQUIRE(f);
    CHECK(envelope_of(*f).error() == wire::ErrorCode::PROTOCOL_ERROR);
    CHECK(c.closed_by_peer());
  }
  SUBCASE("a request before Hello is refused, the connection stays usable") {
    RawClient c(port);
    flatbuffers::FlatBufferBuilder fbb;
    fbb.Finish(wire::CreateEnvelope(fbb, 9, wire::Body::ListTopicsRequest, wire::CreateListTopicsRequest(fbb).Union()));
    c.send_frame(fbb);
    auto f = c.read_frame();
    REQUIRE(f);
    CHECK(envelope_of(*f).correlation_id() == 9);
    CHECK(envelope_of(*f).error() == wire::ErrorCode::PROTOCOL_ERROR);
    hello(c);
  }
  SUBCASE("an unknown union type gets UNSUPPORTED") {
    RawClient c(port);
    hello(c);
    flatbuffers::FlatBufferBuilder fbb;
    auto any = wire::CreateListTopicsRequest(fbb);
    fbb.Finish(wire::CreateEnvelope(fbb, 5, static_cast<wire::Body>(200), any.Union()));
    c.send_frame(fbb);
    auto f = c.read_frame();
    REQUIRE(f);
    CHECK(envelope_of(*f).correlation_id() == 5);
    CHECK(envelope_of(*f).error() == wire::ErrorCode::UNSUPPORTED);
  }
  SUBCASE("a corrupt record batch gets CORRUPT_MESSAGE for that partition") {
    RawClient c(port);
    hello(c);
    flatbuffers::FlatBufferBuilder fbb;
    std::string junk = "TMQ1 definitely not a batch";
    auto pb = wire::CreatePartitionBatch(fbb, 0, fbb.CreateVector(reinterpret_cast<const uint8_t*>(junk.data()), junk.size()));
    std::vector<flatbuffers::Offset<wire::PartitionBatch>> pbs{pb};
    auto req = wire::CreateProduceRequest(fbb, fbb.CreateString("healthy"), fbb.CreateVector(pbs));
    fbb.Finish(wire::CreateEnvelope(fbb, 6, wire::Body::ProduceRequest, req.Union()));
    c.send_frame(fbb);
    auto f = c.read_frame();
    REQUIRE(f);
    const auto& env = envelope_of(*f);
    REQUIRE(env.body_type() == wire::Body::ProduceResponse);
    auto acks = env.body_as_ProduceResponse()->acks();
    REQUIRE(acks->size() == 1);
    CHECK(acks->Get(0)->error() == wire::ErrorCode::CORRUPT_MESSAGE);
  }
  SUBCASE("a truncated frame then a close is harmless") {
    RawClient c(port);
    c.send(std::string("\x00\x00\x01\x00partial", 11));
  }
  check_producer_works(*bystander);
}
