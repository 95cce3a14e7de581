// Durable group configs (mqadmin updateSubGroup, SPEC §5.3): validation, create vs replace,
// restart, reset policy text.
#include "broker/store/group_config_store.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "broker/store/key_layout.h"
#include "tests/broker/store/group_store_fixture.h"

using namespace tidemq;
using namespace tidemq::broker;
using tidemq::test::GroupStoreFixture;

namespace {
GroupConfig config_named(const std::string& name) {
  GroupConfig c;
  c.name = name;
  return c;
}
StatusCode upsert_code(GroupConfigStore& s, const GroupConfig& c) { return s.upsert(c).status().code(); }
}  // namespace

TEST_CASE("group names: [A-Za-z0-9_.-]{1,127}") {
  CHECK(validate_group_name("billing").is_ok());
  CHECK(validate_group_name("A-z_0.9").is_ok());
  CHECK(validate_group_name(std::string(127, 'g')).is_ok());
  for (const std::string bad : {"", "has space", "%RETRY%g", "g@client", "a/b", "ü", "a|b"}) {
    CAPTURE(bad);
    CHECK(validate_group_name(bad).code() == StatusCode::kInvalidArgument);
  }
  CHECK(validate_group_name(std::string(128, 'g')).code() == StatusCode::kInvalidArgument);
}

TEST_CASE("reset policy: parse and format round-trip; bad inputs are InvalidArgument") {
  CHECK(parse_reset_policy("")->kind == ResetPolicy::Kind::kLatest);
  CHECK(parse_reset_policy("latest")->kind == ResetPolicy::Kind::kLatest);
  CHECK(parse_reset_policy("earliest")->kind == ResetPolicy::Kind::kEarliest);
  auto ts = parse_reset_policy("timestamp:1767225600000");
  REQUIRE(ts.is_ok());
  CHECK(ts->kind == ResetPolicy::Kind::kTimestamp);
  CHECK(ts->timestamp_ms == 1767225600000);
  CHECK(parse_reset_policy("timestamp:0")->timestamp_ms == 0);
  for (const std::string text : {"latest", "earliest", "timestamp:0", "timestamp:1767225600000",
                                 "timestamp:9223372036854775807"}) {
    auto p = parse_reset_policy(text);
    REQUIRE(p.is_ok());
    CHECK(format_reset_policy(*p) == text);
  }
  CHECK(format_reset_policy(ResetPolicy{}) == "latest");
  for (const std::string bad : {"Latest", "newest", " latest", "timestamp:", "timestamp:-1", "timestamp:+5",
                                "timestamp:12ab", "timestamp: 5", "timestamp:99999999999999999999", "timestamp",
                                "earliest "}) {
    CAPTURE(bad);
    auto p = parse_reset_policy(bad);
    CHECK(p.status().code() == StatusCode::kInvalidArgument);
  }
}

TEST_CASE("upsert validates name, rates, burst and per-topic rates; nothing is stored on error") {
  GroupStoreFixture f;
  CHECK(upsert_code(*f.configs, config_named("bad name")) == StatusCode::kInvalidArgument);
  GroupConfig c = config_named("g");
  c.max_msgs_per_sec = -1;
  CHECK(upsert_code(*f.configs, c) == StatusCode::kInvalidArgument);
  c.max_msgs_per_sec = std::numeric_limits<double>::quiet_NaN();
  CHECK(upsert_code(*f.configs, c) == StatusCode::kInvalidArgument);
  c = config_named("g");
  c.max_bytes_per_sec = std::numeric_limits<double>::infinity();
  CHECK(upsert_code(*f.configs, c) == StatusCode::kInvalidArgument);
  c = config_named("g");
  c.burst_ms = 0;
  CHECK(upsert_code(*f.configs, c) == StatusCode::kInvalidArgument);
  c.burst_ms = 10'001;
  CHECK(upsert_code(*f.configs, c) == StatusCode::kInvalidArgument);
  c = config_named("g");
  c.topic_rates = {{"bad topic", 1, 0}};
  CHECK(upsert_code(*f.configs, c) == StatusCode::kInvalidArgument);
  c.topic_rates = {{"orders", -5, 0}};
  CHECK(upsert_code(*f.configs, c) == StatusCode::kInvalidArgument);
  c.topic_rates = {{"orders", 1, 0}, {"orders", 2, 0}};
  CHECK(upsert_code(*f.configs, c) == StatusCode::kInvalidArgument);
  c = config_named("g");
  c.strategy = static_cast<AssignStrategy>(9);
  CHECK(upsert_code(*f.configs, c) == StatusCode::kInvalidArgument);
  c = config_named("g");
  c.reset = {ResetPolicy::Kind::kTimestamp, -1};
  CHECK(upsert_code(*f.configs, c) == StatusCode::kInvalidArgument);
  CHECK(f.configs->list().empty());
  f.reopen();
  CHECK(f.configs->list().empty());

  // The edges are accepted; the broker's own topics may be paced.
  c = config_named("g");
  c.burst_ms = 1;
  c.topic_rates = {{"%RETRY%g", 10, 0}};
  CHECK(f.configs->upsert(c).is_ok());
  c.burst_ms = 10'000;
  CHECK(f.configs->upsert(c).is_ok());
}

TEST_CASE("upsert reports created vs replaced and keeps created_ms; remove and find_or_default") {
  GroupStoreFixture f;
  const int64_t t0 = f.clock.now_ms();
  GroupConfig c = config_named("billing");
  c.created_ms = 42;  // ignored: the store sets it
  c.max_msgs_per_sec = 2000;
  auto created = f.configs->upsert(c);
  REQUIRE(created.is_ok());
  CHECK(*created == true);
  CHECK(f.configs->find("billing")->created_ms == t0);

  f.clock.advance_ms(60'000);
  c.max_msgs_per_sec = 500;
  c.created_ms = 7;
  auto replaced = f.configs->upsert(c);
  REQUIRE(replaced.is_ok());
  CHECK(*replaced == false);
  auto found = f.configs->find("billing");
  REQUIRE(found);
  CHECK(found->created_ms == t0);
  CHECK(found->max_msgs_per_sec == 500);

  // A group without a config consumes with the defaults.
  CHECK_FALSE(f.configs->find("audit"));
  GroupConfig d = f.configs->find_or_default("audit");
  CHECK(d.name == "audit");
  CHECK(d.max_msgs_per_sec == 0);
  CHECK(d.burst_ms == 100);
  CHECK(d.reset.kind == ResetPolicy::Kind::kLatest);
  CHECK(f.configs->find_or_default("billing").max_msgs_per_sec == 500);

  CHECK(f.configs->remove("audit").code() == StatusCode::kGroupNotFound);
  REQUIRE(f.configs->remove("billing").is_ok());
  CHECK_FALSE(f.configs->find("billing"));
  f.reopen();
  CHECK_FALSE(f.configs->find("billing"));
  // Created again after removal: a new created_ms.
  auto again = f.configs->upsert(c);
  REQUIRE(again.is_ok());
  CHECK(*again == true);
  CHECK(f.configs->find("billing")->created_ms == t0 + 60'000);
}

TEST_CASE("every field, topic rates included, survives a reopen; list is by name") {
  GroupStoreFixture f;
  GroupConfig c = config_named("billing");
  c.strategy = AssignStrategy::kConsistentHash;
  c.mode = ConsumeMode::kBroadcasting;
  c.reset = {ResetPolicy::Kind::kTimestamp, 1767225600123};
  c.max_msgs_per_sec = 2000.5;
  c.max_bytes_per_sec = 1e9;
  c.burst_ms = 250;
  c.topic_rates = {{"orders", 100, 0}, {"payments.v2", 0.25, 4096}};
  REQUIRE(f.configs->upsert(c).is_ok());
  REQUIRE(f.configs->upsert(config_named("audit")).is_ok());
  GroupConfig e = config_named("events");
  e.reset.kind = ResetPolicy::Kind::kEarliest;
  e.strategy = AssignStrategy::kSticky;
  REQUIRE(f.configs->upsert(e).is_ok());
  const int64_t created = f.clock.now_ms();
  f.clock.advance_ms(1);

  f.reopen();
  auto all = f.configs->list();
  REQUIRE(all.size() == 3);
  CHECK(all[0].name == "audit");
  CHECK(all[1].name == "billing");
  CHECK(all[2].name == "events");
  const GroupConfig& b = all[1];
  CHECK(b.strategy == AssignStrategy::kConsistentHash);
  CHECK(b.mode == ConsumeMode::kBroadcasting);
  CHECK(b.reset.kind == ResetPolicy::Kind::kTimestamp);
  CHECK(b.reset.timestamp_ms == 1767225600123);
  CHECK(b.max_msgs_per_sec == 2000.5);
  CHECK(b.max_bytes_per_sec == 1e9);
  CHECK(b.burst_ms == 250);
  CHECK(b.created_ms == created);
  REQUIRE(b.topic_rates.size() == 2);
  CHECK(b.topic_rates[0].topic == "orders");
  CHECK(b.topic_rates[0].max_msgs_per_sec == 100);
  CHECK(b.topic_rates[0].max_bytes_per_sec == 0);
  CHECK(b.topic_rates[1].topic == "payments.v2");
  CHECK(b.topic_rates[1].max_msgs_per_sec == 0.25);
  CHECK(b.topic_rates[1].max_bytes_per_sec == 4096);
  CHECK(all[2].reset.kind == ResetPolicy::Kind::kEarliest);
  CHECK(all[2].strategy == AssignStrategy::kSticky);
  CHECK(all[0].mode == ConsumeMode::kClustering);
  // Replacing after the restart still keeps the original created_ms.
  auto replaced = f.configs->upsert(config_named("billing"));
  REQUIRE(replaced.is_ok());
  CHECK(*replaced == false);
  CHECK(f.configs->find("billing")->created_ms == created);
}

TEST_CASE("a failed write leaves the config unchanged; an unreadable value fails load clearly") {
  GroupStoreFixture f;
  REQUIRE(f.configs->upsert(config_named("g")).is_ok());
  f.env.set_fail_sync(true);
  f.env.arm();
  GroupConfig c = config_named("g");
  c.max_msgs_per_sec = 9;
  CHECK(upsert_code(*f.configs, c) == StatusCode::kStorageError);
  CHECK(f.configs->find("g")->max_msgs_per_sec == 0);
  CHECK(f.configs->remove("g").code() == StatusCode::kStorageError);
  CHECK(f.configs->find("g"));
  f.env.disarm();

  GroupStoreFixture h;
  for (const std::string& bad : {std::string(), std::string("\x01", 1), std::string("\x09rest", 5)}) {
    CAPTURE(bad.size());
    h.put_raw(keys::group_config("broken"), bad);
    GroupConfigStore fresh(*h.db, h.clock);
    Status st = fresh.load();
    CHECK(st.code() == StatusCode::kCorruptMessage);
    CHECK(st.message().find("group 'broken'") != std::string::npos);
  }
  // A value from a newer broker (higher version) is named as such.
  h.put_raw(keys::group_config("broken"), std::string("\x03", 1) + std::string(60, '\0'));
  GroupConfigStore fresh(*h.db, h.clock);
  Status st = fresh.load();
  CHECK(st.code() == StatusCode::kCorruptMessage);
  CHECK(st.message().find("version 3") != std::string::npos);
}

TEST_CASE("retry policy and max reconsume times are validated, survive a restart, and a v1 value reads with defaults") {
  GroupStoreFixture f;
  GroupConfig c = config_named("billing");
  c.retry_policy = "notify";
  c.max_reconsume_times = 3;
  REQUIRE(f.configs->upsert(c).is_ok());
  GroupConfig d = config_named("custom");
  d.retry_policy = "500ms,2s,1m";
  d.max_reconsume_times = 0;  // straight to the DLQ at the first send-back
  REQUIRE(f.configs->upsert(d).is_ok());
  for (std::string bad : {"sometimes", "1s,,2s", "0s", "10x", "4321m", "-1s"}) {
    CAPTURE(bad);
    GroupConfig x = config_named("x");
    x.retry_policy = bad;
    CHECK(upsert_code(*f.configs, x) == StatusCode::kInvalidArgument);
  }
  GroupConfig many = config_named("x");
  many.max_reconsume_times = 1001;
  CHECK(upsert_code(*f.configs, many) == StatusCode::kInvalidArgument);
  CHECK(!f.configs->find("x"));

  // The same bytes as v1 wrote them: version 1 and no retry fields.
  auto v2 = f.db->get(keys::group_config("billing"));
  REQUIRE(v2.is_ok());
  std::string v1 = v2->substr(0, v2->size() - (2 + std::string("notify").size() + 4));
  v1[0] = 1;
  f.put_raw(keys::group_config("legacy"), v1);

  f.reopen();
  CHECK(f.configs->find("billing")->retry_policy == "notify");
  CHECK(f.configs->find("billing")->max_reconsume_times == 3);
  CHECK(f.configs->find("custom")->retry_policy == "500ms,2s,1m");
  CHECK(f.configs->find("custom")->max_reconsume_times == 0);
  REQUIRE(f.configs->find("legacy"));
  CHECK(f.configs->find("legacy")->retry_policy.empty());
  CHECK(f.configs->find("legacy")->max_reconsume_times == 16);
}
