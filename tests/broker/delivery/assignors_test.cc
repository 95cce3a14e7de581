// Assignment strategies: exactly one owner per partition, balance, determinism, exact layouts,
// and minimal movement for consistent_hash and sticky.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "broker/delivery/assignors.h"

using namespace tidemq::broker;

namespace {

constexpr AssignStrategy kStrategies[] = {AssignStrategy::kAvg, AssignStrategy::kAvgByCircle,
                                          AssignStrategy::kConsistentHash, AssignStrategy::kSticky};

std::vector<std::string> members_n(size_t n) {
  std::vector<std::string> m;
  for (size_t i = 0; i < n; ++i) m.push_back(fmt::format("m{}", i));
  return m;
}

std::map<std::string, size_t> loads(const std::vector<std::string>& members, const PartitionOwners& owners) {
  std::map<std::string, size_t> load;
  for (const auto& m : members) load[m] = 0;
  for (const auto& o : owners) ++load[o];
  return load;
}

// max - min partitions per member.
size_t spread(const std::vector<std::string>& members, const PartitionOwners& owners) {
  auto load = loads(members, owners);
  auto [lo, hi] = std::minmax_element(load.begin(), load.end(),
                                      [](const auto& a, const auto& b) { return a.second < b.second; });
  return hi->second - lo->second;
}

void check_owned_once(const std::vector<std::string>& members, uint32_t partitions, const PartitionOwners& owners) {
  REQUIRE(owners.size() == partitions);
  for (const auto& o : owners) {
    if (members.empty()) {
      CHECK(o.empty());
    } else {
      CHECK(std::binary_search(members.begin(), members.end(), o));
    }
  }
}

}  // namespace

TEST_CASE("every strategy gives every partition exactly one member, deterministically") {
  for (AssignStrategy strategy : kStrategies) {
    for (size_t m = 0; m <= 7; ++m) {
      for (uint32_t p = 0; p <= 17; ++p) {
        CAPTURE(static_cast<int>(strategy));
        CAPTURE(m);
        CAPTURE(p);
        const auto members = members_n(m);
        const auto owners = assign_partitions(strategy, "orders", members, p, {});
        check_owned_once(members, p, owners);
        CHECK(assign_partitions(strategy, "orders", members, p, {}) == owners);
        if (m > 0 && strategy != AssignStrategy::kConsistentHash) CHECK(spread(members, owners) <= 1);
      }
    }
  }
}

TEST_CASE("avg assigns contiguous ranges, the first p % m members one more") {
  const std::vector<std::string> abc = {"a", "b", "c"};
  CHECK(assign_avg(abc, 8) == PartitionOwners{"a", "a", "a", "b", "b", "b", "c", "c"});
  CHECK(assign_avg(abc, 6) == PartitionOwners{"a", "a", "b", "b", "c", "c"});
  CHECK(assign_avg(abc, 2) == PartitionOwners{"a", "b"});
  CHECK(assign_avg({}, 2) == PartitionOwners{"", ""});
}

TEST_CASE("avg_by_circle deals partitions round robin") {
  const std::vector<std::string> abc = {"a", "b", "c"};
  CHECK(assign_avg_by_circle(abc, 8) == PartitionOwners{"a", "b", "c", "a", "b", "c", "a", "b"});
  CHECK(assign_avg_by_circle(abc, 2) == PartitionOwners{"a", "b"});
}

TEST_CASE("consistent_hash: a leaving member's partitions move, no other; a joiner only takes") {
  for (size_t m = 1; m <= 7; ++m) {
    for (uint32_t p : {0u, 1u, 5u, 17u, 64u}) {
      CAPTURE(m);
      CAPTURE(p);
      const auto members = members_n(m);
      const auto before = assign_consistent_hash("orders", members, p);
      // Leave: each member in turn.
      for (size_t leaver = 0; leaver < m; ++leaver) {
        auto rest = members;
        rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(leaver));
        const auto after = assign_consistent_hash("orders", rest, p);
        check_owned_once(rest, p, after);
        for (uint32_t i = 0; i < p; ++i) {
          if (before[i] != members[leaver]) CHECK(after[i] == before[i]);
        }
      }
      // Join: a partition keeps its owner or goes to the joiner.
      auto more = members;
      more.push_back("m9");
      const auto joined = assign_consistent_hash("orders", more, p);
      for (uint32_t i = 0; i < p; ++i) CHECK((joined[i] == before[i] || joined[i] == "m9"));
    }
  }
}

TEST_CASE("consistent_hash spreads partitions over every member") {
  const auto members = members_n(4);
  for (const auto& [member, load] : loads(members, assign_consistent_hash("orders", members, 64))) {
    CAPTURE(member);
    CHECK(load >= 8);  // 16 on average
  }
}

TEST_CASE("stable_hash is FNV-1a + fmix64 and does not change between builds") {
  // Values from an independent implementation (Python): assignments must survive restarts and
  // upgrades, so the hash may never change.
  CHECK(stable_hash("") == 0xefd01f60ba992926ull);
  CHECK(stable_hash("orders-0") == 0x3c2adb9ce388c91aull);
}

TEST_CASE("sticky: on a join only the joiner's partitions move; on a leave only the leaver's") {
  for (size_t m = 1; m <= 6; ++m) {
    for (uint32_t p = 0; p <= 17; ++p) {
      CAPTURE(m);
      CAPTURE(p);
      const auto members = members_n(m);
      const auto before = assign_sticky(members, p, {});

      auto more = members;
      more.push_back("m9");
      const auto joined = assign_sticky(more, p, before);
      check_owned_once(more, p, joined);
      CHECK(spread(more, joined) <= 1);
      size_t moved = 0;
      for (uint32_t i = 0; i < p; ++i) {
        if (joined[i] != before[i]) {
          ++moved;
          CHECK(joined[i] == "m9");
        }
      }
      CHECK(moved == loads(more, joined)["m9"]);
      CHECK(moved == p / (m + 1));  // the least it can take and stay balanced

      for (size_t leaver = 0; leaver < more.size(); ++leaver) {
        auto rest = more;
        rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(leaver));
        const auto left = assign_sticky(rest, p, joined);
        check_owned_once(rest, p, left);
        CHECK(spread(rest, left) <= 1);
        for (uint32_t i = 0; i < p; ++i) {
          if (joined[i] != more[leaver]) CHECK(left[i] == joined[i]);
        }
      }
    }
  }
}

TEST_CASE("sticky rebalances an unbalanced previous assignment, keeping what it can") {
  const auto members = members_n(3);
  const PartitionOwners all_m0(9, "m0");
  const auto owners = assign_sticky(members, 9, all_m0);
  CHECK(spread(members, owners) == 0);
  // m0 keeps its first three partitions; the rest go to the others.
  CHECK(owners[0] == "m0");
  CHECK(owners[1] == "m0");
  CHECK(owners[2] == "m0");
  // Previous owners that left, or a previous list of another length, are ignored.
  const PartitionOwners stale = {"gone", "m1", "m1", "m2", "m2", "m2", "m2", "m2", "m2", "m2", "m2", "m2"};
  const auto mixed = assign_sticky(members, 6, stale);
  check_owned_once(members, 6, mixed);
  CHECK(spread(members, mixed) == 0);
  CHECK(mixed[1] == "m1");
  CHECK(mixed[2] == "m1");
  CHECK(mixed[3] == "m2");
  CHECK(mixed[4] == "m2");
}
