// Resource bounds a client can hit: connection cap, slow-loris frames, idle connections, and a
// clean SIGTERM shutdown of a real mqbroker process.
#include <doctest/doctest.h>

#include <vector>

#include "tests/integration/in_process_broker.h"
#include "tests/integration/raw_client.h"
#include "tests/support/broker_process.h"
#include "tidemq/admin.h"
#include "tidemq/producer.h"
#include "tidemq/reader.h"

using namespace tidemq;
using namespace std::chrono_literals;
using test::RawClient;

TEST_CASE("connections past --max-connections are closed; the others keep working") {
  broker::BrokerConfig cfg;
  cfg.max_connections = 2;
  test::InProcessBroker broker(cfg);
  RawClient a(broker.port());
  test::hello(a);
  RawClient b(broker.port());
  test::hello(b);
  RawClient refused(broker.port());
  CHECK(refused.closed_by_peer());
  // The first connections still answer.
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(wire::CreateEnvelope(fbb, 3, wire::Body::ListTopicsRequest, wire::CreateListTopicsRequest(fbb).Union()));
  a.send_frame(fbb);
  auto f = a.read_frame();
  REQUIRE(f);
  CHECK(test::envelope_of(*f).body_type() == wire::Body::ListTopicsResponse);
}

TEST_CASE("a frame that does not complete within --frame-timeout-ms closes the connection") {
  broker::BrokerConfig cfg;
  cfg.frame_timeout_ms = 200;
  test::InProcessBroker broker(cfg);
  RawClient slow(broker.port());
  test::hello(slow);
  slow.send(std::string("\x00\x00\x00\x40partial", 11));  // announces 64 bytes, sends 7
  CHECK(slow.closed_by_peer());
}

TEST_CASE("an idle connection is closed after --idle-timeout-ms") {
  broker::BrokerConfig cfg;
  cfg.idle_timeout_ms = 200;
  test::InProcessBroker broker(cfg);
  RawClient idle(broker.port());
  test::hello(idle);
  CHECK(idle.closed_by_peer());
}

TEST_CASE("SIGTERM: mqbroker answers in-flight requests, exits 0, and keeps the data") {
  test::TempDir dir;
  test::BrokerProcess broker(dir.str());
  REQUIRE_MESSAGE(broker.start(), broker.error());
  ClientOptions o;
  o.broker = broker.address();
  {
    auto admin = Admin::create(o);
    REQUIRE(admin.is_ok());
    REQUIRE((*admin)->update_topic({"t", 1, -1, -1}).is_ok());
    ProducerOptions po;
    po.client = o;
    auto producer = Producer::create(po);
    REQUIRE(producer.is_ok());
    for (int i = 0; i < 100; ++i) {
      Message m;
      m.topic = "t";
      m.body = std::to_string(i);
      REQUIRE((*producer)->send(m).is_ok());
    }
  }
  CHECK(broker.terminate() == 0);
  REQUIRE_MESSAGE(broker.start(broker.port()), broker.error());
  auto reader = PartitionReader::create(o, "t");
  REQUIRE(reader.is_ok());
  auto f = (*reader)->fetch(0, 0);
  REQUIRE(f.is_ok());
  CHECK(f->end_offset == 100);
  CHECK(f->messages.size() == 100);
}
