#include "client/selectors.h"

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

namespace tidemq::client {
namespace {

std::vector<PartitionLoad> loads(uint32_t n) {
  std::vector<PartitionLoad> out(n);
  for (uint32_t i = 0; i < n; ++i) out[i].partition = i;
  return out;
}

Message keyed(std::string key) {
  Message m;
  m.key = std::move(key);
  return m;
}

// (GCC 12 warns falsely on `"literal" + std::to_string(i)`.)
Message keyed(const char* prefix, int i) {
  std::string key = prefix;
  key += std::to_string(i);
  return keyed(std::move(key));
}

TEST_CASE("round robin cycles through every partition") {
  RoundRobinSelector s;
  auto l = loads(4);
  Message m;
  for (uint32_t i = 0; i < 12; ++i) CHECK(s.select(m, l) == i % 4);
}

TEST_CASE("smooth weighted round robin: proportions over many picks") {
  WeightedRoundRobinSelector s({5, 1, 1, 3});
  auto l = loads(4);
  Message m;
  std::vector<int> counts(4, 0);
  for (int i = 0; i < 10000; ++i) ++counts[s.select(m, l)];
  CHECK(counts[0] == 5000);
  CHECK(counts[1] == 1000);
  CHECK(counts[2] == 1000);
  CHECK(counts[3] == 3000);
}

TEST_CASE("smooth weighted round robin is smooth (nginx sequence for 5,1,1)") {
  WeightedRoundRobinSelector s({5, 1, 1});
  auto l = loads(3);
  Message m;
  std::vector<uint32_t> picks;
  for (int i = 0; i < 7; ++i) picks.push_back(s.select(m, l));
  // nginx's documented order for weights a=5, b=1, c=1: a a b a c a a.
  CHECK(picks == std::vector<uint32_t>{0, 0, 1, 0, 2, 0, 0});
  // Never more than 5/7 of any window in a row: the heavy partition never gets 3+ in a row here.
  int run = 0, max_run = 0;
  for (int i = 0; i < 700; ++i) {
    run = s.select(m, l) == 0 ? run + 1 : 0;
    max_run = std::max(max_run, run);
  }
  CHECK(max_run <= 4);
}

TEST_CASE("weighted round robin: zero weight never picked, missing weights count as 1") {
  WeightedRoundRobinSelector s({0, 2});
  auto l = loads(3);  // partition 2 has no weight given -> 1
  Message m;
  std::vector<int> counts(3, 0);
  for (int i = 0; i < 300; ++i) ++counts[s.select(m, l)];
  CHECK(counts[0] == 0);
  CHECK(counts[1] == 200);
  CHECK(counts[2] == 100);
}

TEST_CASE("hash: same key -> same partition, stable across selector instances") {
  HashSelector a, b;
  auto l = loads(8);
  for (int i = 0; i < 200; ++i) {
    auto m = keyed("order-", i);
    uint32_t p = a.select(m, l);
    CHECK(p < 8);
    CHECK(a.select(m, l) == p);
    CHECK(b.select(m, l) == p);
  }
  // FNV-1a 64 reference values: the mapping must not change between releases.
  CHECK(fnv1a64("") == 0xcbf29ce484222325ull);
  CHECK(fnv1a64("a") == 0xaf63dc4c8601ec8cull);
  CHECK(fnv1a64("foobar") == 0x85944171f73967e8ull);
  CHECK(a.select(keyed("foobar"), l) == 0x85944171f73967e8ull % 8);
}

TEST_CASE("hash: keys spread over partitions; empty keys go round robin") {
  HashSelector s;
  auto l = loads(4);
  std::map<uint32_t, int> counts;
  for (int i = 0; i < 4000; ++i) ++counts[s.select(keyed("k", i), l)];
  REQUIRE(counts.size() == 4);
  for (auto& [p, c] : counts) CHECK(c > 700);
  Message no_key;
  std::vector<uint32_t> picks;
  for (int i = 0; i < 4; ++i) picks.push_back(s.select(no_key, l));
  CHECK(picks == std::vector<uint32_t>{0, 1, 2, 3});
}

TEST_CASE("least loaded picks the partition with fewest in flight; ties round robin") {
  LeastLoadedSelector s;
  auto l = loads(4);
  l[0].inflight = 5;
  l[1].inflight = 2;
  l[2].inflight = 0;
  l[3].inflight = 7;
  Message m;
  CHECK(s.select(m, l) == 2);
  CHECK(s.select(m, l) == 2);
  l[2].inflight = 3;
  CHECK(s.select(m, l) == 1);
  for (auto& x : l) x.inflight = 1;
  std::map<uint32_t, int> counts;
  for (int i = 0; i < 40; ++i) ++counts[s.select(m, l)];
  REQUIRE(counts.size() == 4);
  for (auto& [p, c] : counts) CHECK(c == 10);
}

TEST_CASE("fastest tries unmeasured partitions first, then the lowest EWMA") {
  FastestSelector s;
  auto l = loads(3);
  Message m;
  std::map<uint32_t, int> first;
  for (int i = 0; i < 3; ++i) ++first[s.select(m, l)];
  CHECK(first.size() == 3);  // nothing measured: every partition is tried
  l[0].ewma_latency_us = 900;
  l[1].ewma_latency_us = 150;
  l[2].ewma_latency_us = 0;  // still unmeasured
  CHECK(s.select(m, l) == 2);
  l[2].ewma_latency_us = 400;
  for (int i = 0; i < 10; ++i) CHECK(s.select(m, l) == 1);
}

TEST_CASE("custom selector callback is used, sees the loads, and is kept in range") {
  int calls = 0;
  CustomCallbackSelector s([&](const Message& msg, const std::vector<PartitionLoad>& l) -> uint32_t {
    ++calls;
    CHECK(l.size() == 4);
    return msg.key == "big" ? 3 : 9;  // 9 is out of range: taken modulo the count
  });
  auto l = loads(4);
  CHECK(s.select(keyed("big"), l) == 3);
  CHECK(s.select(keyed("x"), l) == 1);
  CHECK(calls == 2);
}

TEST_CASE("selector options are validated and make_selector builds the kind asked for") {
  ProducerOptions o;
  CHECK(validate_selector_options(o).is_ok());
  o.selector = SelectorKind::kWeightedRoundRobin;
  CHECK(validate_selector_options(o).code() == StatusCode::kInvalidArgument);
  o.weights = {1, 2};
  CHECK(validate_selector_options(o).is_ok());
  o.selector = SelectorKind::kCustom;
  CHECK(validate_selector_options(o).code() == StatusCode::kInvalidArgument);
  o.custom_selector = [](const Message&, const std::vector<PartitionLoad>&) { return 0u; };
  CHECK(validate_selector_options(o).is_ok());
  CHECK(dynamic_cast<CustomCallbackSelector*>(make_selector(o).get()) != nullptr);
  o.selector = SelectorKind::kHash;
  CHECK(dynamic_cast<HashSelector*>(make_selector(o).get()) != nullptr);
}

TEST_CASE("selectors follow a growing partition count") {
  WeightedRoundRobinSelector w({1, 1});
  LeastLoadedSelector ll;
  Message m;
  auto l2 = loads(2);
  for (int i = 0; i < 5; ++i) CHECK(w.select(m, l2) < 2);
  auto l6 = loads(6);
  std::map<uint32_t, int> counts;
  for (int i = 0; i < 60; ++i) ++counts[w.select(m, l6)];
  CHECK(counts.size() == 6);
  CHECK(ll.select(m, l6) < 6);
}

}  // namespace
}  // namespace tidemq::client
