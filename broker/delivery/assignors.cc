#include "broker/delivery/assignors.h"

#include <algorithm>
#include <functional>
#include <map>
#include <utility>

#include <fmt/format.h>

#include "common/check.h"

namespace tidemq::broker {
namespace {

void check_members(const std::vector<std::string>& members) {
  // The strategies are deterministic only for a canonical member order.
  TIDEMQ_CHECK(std::adjacent_find(members.begin(), members.end(), std::greater_equal<>()) == members.end(),
               "assignor members must be sorted and unique");
}

}  // namespace

uint64_t stable_hash(std::string_view s) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  // murmur3 fmix64: FNV-1a alone leaves keys that differ in their last byte close together.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

PartitionOwners assign_avg(const std::vector<std::string>& members, uint32_t partitions) {
  check_members(members);
  PartitionOwners owners(partitions);
  if (members.empty()) return owners;
  const uint32_t m = static_cast<uint32_t>(members.size());
  uint32_t p = 0;
  for (uint32_t i = 0; i < m; ++i) {
    const uint32_t size = partitions / m + (i < partitions % m ? 1 : 0);
    for (uint32_t k = 0; k < size; ++k) owners[p++] = members[i];
  }
  return owners;
}

PartitionOwners assign_avg_by_circle(const std::vector<std::string>& members, uint32_t partitions) {
  check_members(members);
  PartitionOwners owners(partitions);
  if (members.empty()) return owners;
  for (uint32_t p = 0; p < partitions; ++p) owners[p] = members[p % members.size()];
  return owners;
}

PartitionOwners assign_consistent_hash(const std::string& topic, const std::vector<std::string>& members,
                                       uint32_t partitions) {
  check_members(members);
  PartitionOwners owners(partitions);
  if (members.empty()) return owners;
  // (hash, member index): sorting the pair breaks the (unlikely) ties deterministically.
  std::vector<std::pair<uint64_t, size_t>> ring;
  ring.reserve(members.size() * kVirtualNodes);
  for (size_t i = 0; i < members.size(); ++i) {
    for (int v = 0; v < kVirtualNodes; ++v) ring.emplace_back(stable_hash(fmt::format("{}#{}", members[i], v)), i);
  }
  std::sort(ring.begin(), ring.end());
  for (uint32_t p = 0; p < partitions; ++p) {
    const uint64_t h = stable_hash(fmt::format("{}-{}", topic, p));
    auto it = std::lower_bound(ring.begin(), ring.end(), std::pair<uint64_t, size_t>(h, 0));
    if (it == ring.end()) it = ring.begin();
    owners[p] = members[it->second];
  }
  return owners;
}

PartitionOwners assign_sticky(const std::vector<std::string>& members, uint32_t partitions,
                              const PartitionOwners& previous) {
  check_members(members);
  PartitionOwners owners(partitions);
  if (members.empty()) return owners;
  const size_t m = members.size();
  const size_t base = partitions / m;
  size_t extra = partitions % m;  // how many members may hold base + 1

  // Previous partitions of each current member, in partition order.
  std::map<std::string, std::vector<uint32_t>> kept;
  for (const auto& member : members) kept[member];
  for (uint32_t p = 0; p < partitions && p < previous.size(); ++p) {
    auto it = kept.find(previous[p]);
    if (it != kept.end()) it->second.push_back(p);
  }
  // Keep up to `base` each, and one more for the first `extra` members (in member order) that
  // had more than `base`.
  std::map<std::string, size_t> load;
  for (auto& [member, parts] : kept) {
    size_t keep = std::min(parts.size(), base);
    if (parts.size() > base && extra > 0) {
      ++keep;
      --extra;
    }
    parts.resize(keep);
    for (uint32_t p : parts) owners[p] = member;
    load[member] = keep;
  }
  // The rest, in partition order, to the least loaded (ties: smallest id, std::map order).
  for (uint32_t p = 0; p < partitions; ++p) {
    if (!owners[p].empty()) continue;
    auto least = std::min_element(load.begin(), load.end(),
                                  [](const auto& a, const auto& b) { return a.second < b.second; });
    owners[p] = least->first;
    ++least->second;
  }
  return owners;
}

PartitionOwners assign_partitions(AssignStrategy strategy, const std::string& topic,
                                  const std::vector<std::string>& members, uint32_t partitions,
                                  const PartitionOwners& previous) {
  switch (strategy) {
    case AssignStrategy::kAvg:
      return assign_avg(members, partitions);
    case AssignStrategy::kAvgByCircle:
      return assign_avg_by_circle(members, partitions);
    case AssignStrategy::kConsistentHash:
      return assign_consistent_hash(topic, members, partitions);
    case AssignStrategy::kSticky:
      return assign_sticky(members, partitions, previous);
  }
  TIDEMQ_CHECK(false, "unknown AssignStrategy");
}

}  // namespace tidemq::broker
