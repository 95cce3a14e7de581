#include "broker/store/topic_registry.h"

#include <doctest/doctest.h>

#include "tests/broker/store/store_fixture.h"

using namespace tidemq;
using namespace tidemq::broker;
using tidemq::test::StoreFixture;

namespace {
TopicConfig topic(const std::string& name, uint32_t partitions = 4) {
  TopicConfig c;
  c.name = name;
  c.partitions = partitions;
  return c;
}
}  // namespace

TEST_CASE("topic names follow SPEC 4.1") {
  CHECK(validate_topic_name("orders").is_ok());
  CHECK(validate_topic_name("A-z_0.9%x").is_ok());
  CHECK(validate_topic_name(std::string(127, 'a')).is_ok());
  CHECK(validate_topic_name("").code() == StatusCode::kInvalidArgument);
  CHECK(validate_topic_name(std::string(128, 'a')).code() == StatusCode::kInvalidArgument);
  CHECK(validate_topic_name("has space").code() == StatusCode::kInvalidArgument);
  CHECK(validate_topic_name("slash/x").code() == StatusCode::kInvalidArgument);
  CHECK(validate_topic_name("ümlaut").code() == StatusCode::kInvalidArgument);
  // Reserved for the broker's own topics.
  CHECK(validate_topic_name("%RETRY%g").code() == StatusCode::kInvalidArgument);
  CHECK(validate_topic_name("RMQ_SYS_TRACE").code() == StatusCode::kInvalidArgument);
  CHECK(validate_topic_name("%RETRY%g", /*allow_reserved=*/true).is_ok());
  CHECK(validate_topic_name("RMQ_SYS_TRACE", true).is_ok());
  CHECK(validate_topic_name("RMQ_SYS", false).is_ok());
}

TEST_CASE("create, no-op recreate, grow, shrink rejected") {
  StoreFixture f;
  f.open();
  auto created = f.topics->create_or_update(topic("orders", 4));
  REQUIRE(created.is_ok());
  CHECK(created->created);
  CHECK(created->config.topic_id == 1);
  CHECK(created->config.partitions == 4);
  CHECK(created->config.created_ms == f.clock.now_ms());

  auto again = f.topics->create_or_update(topic("orders", 4));
  REQUIRE(again.is_ok());
  CHECK_FALSE(again->created);
  CHECK(again->config.topic_id == 1);

  auto grown = f.topics->create_or_update(topic("orders", 8));
  REQUIRE(grown.is_ok());
  CHECK_FALSE(grown->created);
  CHECK(grown->config.partitions == 8);
  CHECK(grown->config.topic_id == 1);
  CHECK(*f.topics->partition_count(1) == 8);

  auto shrunk = f.topics->create_or_update(topic("orders", 2));
  CHECK(shrunk.status().code() == StatusCode::kInvalidArgument);
  CHECK(f.topics->find("orders")->partitions == 8);

  auto retention = topic("orders", 8);
  retention.retention_ms = 1000;
  retention.retention_bytes = 1 << 20;
  auto updated = f.topics->create_or_update(retention);
  REQUIRE(updated.is_ok());
  CHECK(updated->config.retention_ms == 1000);
  CHECK(updated->config.retention_bytes == 1 << 20);
}

TEST_CASE("bad settings and reserved names are rejected") {
  StoreFixture f;
  f.open();
  CHECK(f.topics->create_or_update(topic("x", 0)).status().code() == StatusCode::kInvalidArgument);
  CHECK(f.topics->create_or_update(topic("x", 1025)).status().code() == StatusCode::kInvalidArgument);
  CHECK(f.topics->create_or_update(topic("x", 1024)).is_ok());
  CHECK(f.topics->create_or_update(topic("bad name")).status().code() == StatusCode::kInvalidArgument);
  CHECK(f.topics->create_or_update(topic("%DLQ%g")).status().code() == StatusCode::kInvalidArgument);
  CHECK(f.topics->create_or_update(topic("%DLQ%g"), /*allow_reserved=*/true).is_ok());
  auto c = topic("y");
  c.retention_ms = 0;
  CHECK(f.topics->create_or_update(c).status().code() == StatusCode::kInvalidArgument);
  c.retention_ms = -1;
  c.retention_bytes = 0;
  CHECK(f.topics->create_or_update(c).status().code() == StatusCode::kInvalidArgument);
  CHECK_FALSE(f.topics->find("y"));
}

TEST_CASE("topics survive reopen; ids are never reused after delete") {
  StoreFixture f;
  f.open();
  auto a = f.topics->create_or_update(topic("a", 3));
  auto b = f.topics->create_or_update(topic("b", 5));
  REQUIRE(a.is_ok());
  REQUIRE(b.is_ok());
  CHECK(a->config.topic_id != b->config.topic_id);

  f.reopen();
  auto list = f.topics->list();
  REQUIRE(list.size() == 2);
  CHECK(list[0].name == "a");
  CHECK(list[0].partitions == 3);
  CHECK(list[1].name == "b");
  CHECK(list[1].partitions == 5);
  CHECK(f.topics->find_by_id(b->config.topic_id)->name == "b");

  auto removed = f.topics->remove("b");
  REQUIRE(removed.is_ok());
  CHECK(removed->topic_id == b->config.topic_id);
  CHECK(f.topics->remove("b").status().code() == StatusCode::kTopicNotFound);
  CHECK_FALSE(f.topics->find_by_id(b->config.topic_id));

  f.reopen();
  CHECK_FALSE(f.topics->find("b"));
  auto b2 = f.topics->create_or_update(topic("b", 5));
  REQUIRE(b2.is_ok());
  CHECK(b2->created);
  CHECK(b2->config.topic_id > b->config.topic_id);
  auto c = f.topics->create_or_update(topic("c", 1));
  CHECK(c->config.topic_id > b2->config.topic_id);
}
