#include "broker/store/key_layout.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <tuple>
#include <vector>

#include <leveldb/slice.h>

using namespace tidemq::broker;

namespace {
int bytewise(const std::string& a, const std::string& b) { return leveldb::Slice(a).compare(leveldb::Slice(b)); }
}  // namespace

TEST_CASE("log keys: byte order is numeric order across topic/partition/offset boundaries") {
  const std::vector<uint32_t> u32s = {0, 1, 127, 128, 255, 256, 65535, 65536, 0x7fffffff, 0x80000000, UINT32_MAX - 1, UINT32_MAX};
  const std::vector<uint64_t> u64s = {0, 1, 255, 256, 0xffffffffULL, 0x100000000ULL, 0x7fffffffffffffffULL,
                                      0x8000000000000000ULL, UINT64_MAX};
  std::vector<std::tuple<uint32_t, uint32_t, uint64_t>> tuples;
  for (uint32_t t : {0u, 1u, 255u, 256u, UINT32_MAX})
    for (uint32_t p : u32s)
      for (uint64_t o : u64s) tuples.emplace_back(t, p, o);
  std::sort(tuples.begin(), tuples.end());
  for (size_t i = 1; i < tuples.size(); ++i) {
    auto [t0, p0, o0] = tuples[i - 1];
    auto [t1, p1, o1] = tuples[i];
    CHECK(bytewise(keys::log(t0, p0, o0), keys::log(t1, p1, o1)) < 0);
  }
  for (auto [t, p, o] : tuples) {
    const std::string k = keys::log(t, p, o);
    auto parsed = keys::parse_log(k);
    REQUIRE(parsed);
    CHECK(parsed->topic_id == t);
    CHECK(parsed->partition == p);
    CHECK(parsed->base_offset == o);
    // The partition's range brackets its keys; the keyspace's range brackets everything.
    CHECK(bytewise(keys::log_begin(t, p), k) <= 0);
    CHECK(bytewise(k, keys::log_end(t, p)) < 0);
    CHECK(bytewise(keys::keyspace_begin(keys::Keyspace::kLog), k) <= 0);
    CHECK(bytewise(k, keys::keyspace_end(keys::Keyspace::kLog)) < 0);
  }
}

TEST_CASE("log ranges of neighbouring partitions do not overlap") {
  for (uint32_t t : {0u, 7u, UINT32_MAX - 1}) {
    for (uint32_t p : {0u, 5u, UINT32_MAX - 1}) {
      CHECK(bytewise(keys::log(t, p, UINT64_MAX), keys::log_end(t, p)) < 0);
      CHECK(bytewise(keys::log_end(t, p), keys::log(t, p + 1, 0)) <= 0);
    }
    // The last partition's end rolls over to the next topic.
    CHECK(bytewise(keys::log(t, UINT32_MAX, UINT64_MAX), keys::log_end(t, UINT32_MAX)) < 0);
    CHECK(bytewise(keys::log_end(t, UINT32_MAX), keys::log(t + 1, 0, 0)) <= 0);
  }
  CHECK(keys::log_end(UINT32_MAX, UINT32_MAX) == keys::keyspace_end(keys::Keyspace::kLog));
}

TEST_CASE("producer state and topic keys round-trip; parsers reject other keys") {
  for (uint32_t t : {0u, 300u, UINT32_MAX})
    for (uint32_t p : {0u, 1023u})
      for (uint64_t id : {uint64_t{0}, uint64_t{1} << 40, UINT64_MAX}) {
        auto k = keys::producer_state(t, p, id);
        auto parsed = keys::parse_producer_state(k);
        REQUIRE(parsed);
        CHECK(parsed->topic_id == t);
        CHECK(parsed->partition == p);
        CHECK(parsed->producer_id == id);
        CHECK_FALSE(keys::parse_log(k));
      }
  CHECK(bytewise(keys::producer_state(1, 2, UINT64_MAX), keys::producer_state(1, 3, 0)) < 0);
  CHECK(bytewise(keys::producer_state(1, UINT32_MAX, UINT64_MAX), keys::producer_state(2, 0, 0)) < 0);

  const std::string topic_key = keys::topic("orders.v1");
  auto topic = keys::parse_topic(topic_key);
  REQUIRE(topic);
  CHECK(*topic == "orders.v1");
  CHECK_FALSE(keys::parse_topic(keys::meta("orders")));
  CHECK_FALSE(keys::parse_topic(keys::keyspace_begin(keys::Keyspace::kTopic)));
  CHECK_FALSE(keys::parse_log(keys::log(1, 2, 3).substr(0, 16)));
  CHECK_FALSE(keys::parse_log(keys::partition_start(1, 2)));
  CHECK_FALSE(keys::parse_producer_state(keys::log(1, 2, 3)));
}

TEST_CASE("keyspaces are ordered and disjoint") {
  using K = keys::Keyspace;
  const std::vector<std::string> samples = {keys::meta("next_topic_id"), keys::topic("a"), keys::log(0, 0, 0),
                                            keys::partition_start(0, 0), keys::producer_state(0, 0, 0),
                                            keys::offset("g", 0, 0), keys::group_config("g")};
  const std::vector<K> spaces = {K::kMeta,          K::kTopic,  K::kLog,        K::kPartitionStart,
                                 K::kProducerState, K::kOffset, K::kGroupConfig};
  for (size_t i = 0; i < samples.size(); ++i) {
    CHECK(bytewise(keys::keyspace_begin(spaces[i]), samples[i]) <= 0);
    CHECK(bytewise(samples[i], keys::keyspace_end(spaces[i])) < 0);
    if (i > 0) CHECK(bytewise(keys::keyspace_end(spaces[i - 1]), keys::keyspace_begin(spaces[i])) <= 0);
  }
  CHECK(bytewise(keys::meta(std::string(300, '\xff')), keys::keyspace_end(K::kMeta)) < 0);
}

TEST_CASE("keyspace numbers are stable (appended, never renumbered)") {
  using K = keys::Keyspace;
  CHECK(static_cast<int>(K::kProducerState) == 0x05);
  CHECK(static_cast<int>(K::kOffset) == 0x06);
  CHECK(static_cast<int>(K::kGroupConfig) == 0x07);
  CHECK(keys::offset("g", 1, 2) == std::string("\x06\x00\x01g\x00\x00\x00\x01\x00\x00\x00\x02", 12));
  CHECK(keys::group_config("g") == std::string("\x07g", 2));
}

TEST_CASE("offset keys round-trip and sort by topic then partition within a group") {
  const std::vector<std::string> groups = {"", "a", "billing", std::string("x\0y", 3), std::string(300, 'g'),
                                           std::string(3, '\xff')};
  for (const auto& g : groups) {
    std::vector<std::pair<uint32_t, uint32_t>> ids = {{0, 0}, {0, 1}, {0, 256}, {1, 0}, {255, UINT32_MAX},
                                                      {256, 0}, {UINT32_MAX, UINT32_MAX}};
    for (size_t i = 0; i < ids.size(); ++i) {
      const std::string k = keys::offset(g, ids[i].first, ids[i].second);
      auto parsed = keys::parse_offset(k);
      REQUIRE(parsed);
      CHECK(parsed->group == g);
      CHECK(parsed->topic_id == ids[i].first);
      CHECK(parsed->partition == ids[i].second);
      CHECK(bytewise(keys::offset_group_begin(g), k) <= 0);
      CHECK(bytewise(k, keys::offset_group_end(g)) < 0);
      CHECK(bytewise(keys::keyspace_begin(keys::Keyspace::kOffset), k) <= 0);
      CHECK(bytewise(k, keys::keyspace_end(keys::Keyspace::kOffset)) < 0);
      if (i > 0) CHECK(bytewise(keys::offset(g, ids[i - 1].first, ids[i - 1].second), k) < 0);
      CHECK_FALSE(keys::parse_log(k));
      CHECK_FALSE(keys::parse_group_config(k));
    }
  }
}

TEST_CASE("a group's offset range holds no key of a group whose name extends or neighbours it") {
  // "a" is a byte prefix of "ab"; without the length prefix a's range would contain ab's keys.
  const std::vector<std::string> names = {"a", "ab", "a\xff", "b", "a\x01", "aa", std::string(1, '\xff'), ""};
  for (const auto& g : names) {
    for (const auto& other : names) {
      if (other == g) continue;
      for (auto [t, p] : {std::pair<uint32_t, uint32_t>{0, 0}, {7, 3}, {UINT32_MAX, UINT32_MAX}}) {
        const std::string k = keys::offset(other, t, p);
        const bool inside = bytewise(keys::offset_group_begin(g), k) <= 0 && bytewise(k, keys::offset_group_end(g)) < 0;
        CHECK_MESSAGE(!inside, "group '" << g << "' range contains a key of '" << other << "'");
      }
    }
  }
}

TEST_CASE("offset and group config parsers reject malformed and foreign keys") {
  const std::string k = keys::offset("ab", 1, 2);
  CHECK_FALSE(keys::parse_offset(k.substr(0, k.size() - 1)));  // truncated
  CHECK_FALSE(keys::parse_offset(k + "x"));                     // trailing byte
  std::string wrong_len = k;
  wrong_len[2] = 3;  // claims a 3-byte group
  CHECK_FALSE(keys::parse_offset(wrong_len));
  CHECK_FALSE(keys::parse_offset(keys::offset_group_begin("ab")));
  CHECK_FALSE(keys::parse_offset(keys::group_config("ab")));
  CHECK_FALSE(keys::parse_offset(keys::log(1, 2, 3)));

  const std::string config_key = keys::group_config("billing");  // the view points into it
  auto name = keys::parse_group_config(config_key);
  REQUIRE(name);
  CHECK(*name == "billing");
  CHECK_FALSE(keys::parse_group_config(keys::keyspace_begin(keys::Keyspace::kGroupConfig)));
  CHECK_FALSE(keys::parse_group_config(keys::topic("billing")));
}

TEST_CASE("transaction keys round-trip, sort numerically and stay in their keyspaces") {
  for (uint64_t id : {uint64_t{1}, uint64_t{0x1234'5678'9abc'def0}, UINT64_MAX}) {
    CHECK(keys::parse_half(keys::half(id)) == id);
    CHECK(keys::parse_txn_outcome(keys::txn_outcome(id)) == id);
    CHECK_FALSE(keys::parse_half(keys::txn_outcome(id)));
    CHECK_FALSE(keys::parse_txn_outcome(keys::half(id)));
    auto e = keys::parse_txn_outcome_expiry(keys::txn_outcome_expiry(77, id));
    REQUIRE(e);
    CHECK(e->resolved_unix_ms == 77);
    CHECK(e->txn_id == id);
    CHECK(bytewise(keys::half(id), keys::keyspace_end(keys::Keyspace::kHalf)) < 0);
    CHECK(bytewise(keys::keyspace_begin(keys::Keyspace::kTxnOutcomeExpiry), keys::txn_outcome_expiry(0, id)) <= 0);
  }
  CHECK(bytewise(keys::half(255), keys::half(256)) < 0);
  // Expiry keys sort by resolution time first: a range scan finds the oldest outcomes.
  CHECK(bytewise(keys::txn_outcome_expiry(1, UINT64_MAX), keys::txn_outcome_expiry(2, 0)) < 0);
  CHECK(bytewise(keys::txn_outcome_expiry(2, 5), keys::txn_outcome_expiry(2, 6)) < 0);
  CHECK_FALSE(keys::parse_half(keys::half(1) + "x"));
  CHECK_FALSE(keys::parse_txn_outcome_expiry(keys::txn_outcome_expiry(1, 2).substr(0, 16)));
  CHECK_FALSE(keys::parse_txn_outcome_expiry(keys::half(1)));
}

TEST_CASE("delay keys sort by due time first, round-trip, and delay_from bounds a due time") {
  const std::string a = keys::delay(1000, 7, 3, 99);
  const std::string b = keys::delay(1001, 1, 0, 1);
  const std::string c = keys::delay(0x100000000ULL, 0, 0, 0);
  CHECK(bytewise(a, b) < 0);
  CHECK(bytewise(b, c) < 0);
  CHECK(bytewise(keys::delay_from(1001), b) <= 0);
  CHECK(bytewise(a, keys::delay_from(1001)) < 0);
  CHECK(bytewise(keys::keyspace_begin(keys::Keyspace::kDelay), keys::delay_from(0)) < 0);
  CHECK(bytewise(c, keys::keyspace_end(keys::Keyspace::kDelay)) < 0);
  auto parsed = keys::parse_delay(a);
  REQUIRE(parsed);
  CHECK(parsed->due_unix_ms == 1000);
  CHECK(parsed->topic_id == 7);
  CHECK(parsed->partition == 3);
  CHECK(parsed->first_id == 99);
  CHECK(!keys::parse_delay(keys::delay_from(1000)));
  CHECK(!keys::parse_delay(keys::txn_outcome(5)));
}
