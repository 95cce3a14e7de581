// Retries and scheduled messages without a broker (SPEC §7): delay levels, the due time a
// producer computes once, the SendBack encoding (the message as received, every field), the
// retry / DLQ topic names and the topic a redelivered message is given under.
#include "client/retry_requests.h"

#include <doctest/doctest.h>

#include "client/delivery_time.h"
#include "tests/client/fake_retry_broker.h"

using namespace tidemq;

TEST_CASE("delay levels are RocketMQ's 18; anything else is 0") {
  const int64_t s = 1000, m = 60 * s, h = 60 * m;
  const int64_t want[] = {1 * s, 5 * s, 10 * s, 30 * s, 1 * m, 2 * m, 3 * m,  4 * m,  5 * m,
                          6 * m, 7 * m, 8 * m,  9 * m,  10 * m, 20 * m, 30 * m, 1 * h, 2 * h};
  for (uint32_t level = 1; level <= 18; ++level) {
    CAPTURE(level);
    CHECK(delay_level_ms(level) == want[level - 1]);
  }
  CHECK(delay_level_ms(0) == 0);
  CHECK(delay_level_ms(19) == 0);
  CHECK(delay_level_ms(1000) == 0);
}

TEST_CASE("due_time: now for unset or past times, now + level, refused beyond 3 days or level 18 or both set") {
  const int64_t now = 1'767'225'600'000;
  Message msg;
  CHECK(*client::due_time(msg, now) == 0);
  msg.deliver_at_ms = now - 5;
  CHECK(*client::due_time(msg, now) == 0);
  msg.deliver_at_ms = now;
  CHECK(*client::due_time(msg, now) == 0);
  msg.deliver_at_ms = now + 1;
  CHECK(*client::due_time(msg, now) == now + 1);
  msg.deliver_at_ms = now + kMaxDeliverAheadMs;
  CHECK(*client::due_time(msg, now) == now + kMaxDeliverAheadMs);
  msg.deliver_at_ms = now + kMaxDeliverAheadMs + 1;
  CHECK(client::due_time(msg, now).status().code() == StatusCode::kInvalidArgument);
  msg.deliver_at_ms = 0;
  msg.delay_level = 3;
  CHECK(*client::due_time(msg, now) == now + 10'000);
  msg.delay_level = 18;
  CHECK(*client::due_time(msg, now) == now + 7'200'000);
  msg.delay_level = 19;
  CHECK(client::due_time(msg, now).status().code() == StatusCode::kInvalidArgument);
  msg.delay_level = 1;
  msg.deliver_at_ms = now + 5000;
  CHECK(client::due_time(msg, now).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("retry and DLQ topic names") {
  CHECK(client::retry_topic_of("billing") == "%RETRY%billing");
  CHECK(client::dlq_topic_of("billing") == "%DLQ%billing");
  CHECK(client::is_retry_topic("%RETRY%billing"));
  CHECK_FALSE(client::is_retry_topic("%DLQ%billing"));
  CHECK_FALSE(client::is_retry_topic("orders"));
}

TEST_CASE("a message read from a retry topic gets its origin topic; others are unchanged") {
  Message m;
  m.topic = "%RETRY%billing";
  m.properties = {{"trace", "t"}, {kOriginTopicProperty, "orders"}};
  client::restore_origin_topic(m, "%RETRY%billing");
  CHECK(m.topic == "orders");
  CHECK(m.read_topic == "%RETRY%billing");
  CHECK(client::topic_read_from(m) == "%RETRY%billing");

  Message dlq;  // a DLQ message keeps its topic (it is read on purpose, not redelivered)
  dlq.topic = "%DLQ%billing";
  dlq.properties = {{kOriginTopicProperty, "orders"}};
  client::restore_origin_topic(dlq, "%DLQ%billing");
  CHECK(dlq.topic == "%DLQ%billing");
  CHECK(dlq.read_topic.empty());
  CHECK(client::topic_read_from(dlq) == "%DLQ%billing");

  Message plain;  // no ORIGIN_TOPIC: nothing to restore
  plain.topic = "%RETRY%billing";
  client::restore_origin_topic(plain, "%RETRY%billing");
  CHECK(plain.topic == "%RETRY%billing");
  CHECK(plain.read_topic.empty());
}

TEST_CASE("SendBack carries the message as received: one record, every field, producer id 0") {
  Message m;
  m.topic = "orders";
  m.read_topic = "%RETRY%billing";
  m.partition = 0;
  m.offset = 41;
  m.id = 0x0123456789abcdef;
  m.born_ms = 1'767'225'600'123;
  m.store_ms = 1'767'225'600'500;
  m.reconsume_times = 3;
  m.key = "order-7";
  m.tags = "TagA";
  m.properties = {{"trace", "abc"}, {kOriginTopicProperty, "orders"}, {"empty", ""}};
  m.body = std::string("body\0with nul", 13);

  flatbuffers::FlatBufferBuilder fbb;
  auto body = client::build_send_back(fbb, "billing", m, /*to_dlq=*/true);
  fbb.Finish(wire::CreateEnvelope(fbb, 1, wire::Body::SendBackRequest, body));
  flatbuffers::Verifier v(fbb.GetBufferPointer(), fbb.GetSize());
  REQUIRE(wire::VerifyEnvelopeBuffer(v));
  const auto* req = wire::GetEnvelope(fbb.GetBufferPointer())->body_as_SendBackRequest();
  REQUIRE(req != nullptr);
  CHECK(req->group()->str() == "billing");
  CHECK(req->topic()->str() == "%RETRY%billing");  // where it was read, not the restored topic
  CHECK(req->to_dlq());
  record::BatchHeader h;
  auto recs = test::decode_records(
      std::string_view(reinterpret_cast<const char*>(req->records()->data()), req->records()->size()), &h);
  CHECK(h.producer_id == 0);
  CHECK(h.record_count == 1);
  REQUIRE(recs.size() == 1);
  CHECK(recs[0].id == m.id);
  CHECK(recs[0].born_ms == static_cast<uint64_t>(m.born_ms));
  CHECK(recs[0].reconsume_times == 3);
  CHECK(recs[0].key == m.key);
  CHECK(recs[0].tags == m.tags);
  CHECK(recs[0].properties == m.properties);
  CHECK(recs[0].body == m.body);
}
