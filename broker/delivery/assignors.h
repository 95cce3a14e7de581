#pragma once
// Partition assignment strategies of a clustering consumer group (SPEC §5.2; RocketMQ names).
// Pure, deterministic functions of their arguments: the coordinator calls them once per
// subscribed topic with the members subscribed to that topic.
//
// Every function takes `members` sorted and without duplicates (TIDEMQ_CHECK) and returns one
// entry per partition: result[p] is the member that owns partition p. When `members` is empty
// every entry is "" (unowned); otherwise every entry names a member.
//
// Threads: no state; callable from any thread.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "broker/store/group_types.h"

namespace tidemq::broker {

using PartitionOwners = std::vector<std::string>;  // index = partition, value = member id

// avg (AllocateMessageQueueAveragely): contiguous ranges in member order; with p partitions and
// m members, the first p % m members get p / m + 1 partitions, the others p / m.
PartitionOwners assign_avg(const std::vector<std::string>& members, uint32_t partitions);

// avg_by_circle (AllocateMessageQueueAveragelyByCircle): round robin, partition p goes to
// members[p % m].
PartitionOwners assign_avg_by_circle(const std::vector<std::string>& members, uint32_t partitions);

// consistent_hash: a ring with kVirtualNodes points per member (hash of "<member>#<i>"); partition
// p goes to the first point at or after the hash of "<topic>-<p>" (wrapping). When a member
// leaves, only its partitions move; when one joins, it only takes partitions from others.
// Balance is statistical, not within 1.
inline constexpr int kVirtualNodes = 100;
PartitionOwners assign_consistent_hash(const std::string& topic, const std::vector<std::string>& members,
                                       uint32_t partitions);

// sticky: every member keeps as many of its `previous` partitions as balance allows (p / m each,
// plus one more for at most p % m members, in member order), and the partitions left over go,
// in partition order, to the least loaded member (ties: smallest member id). Result is balanced
// within 1. `previous[p]` is partition p's owner before ("" or a non-member: none); it may be
// shorter or longer than `partitions` (the topic's partition count changed).
PartitionOwners assign_sticky(const std::vector<std::string>& members, uint32_t partitions,
                              const PartitionOwners& previous);

// Dispatches on `strategy` (`topic` is used by consistent_hash, `previous` by sticky).
PartitionOwners assign_partitions(AssignStrategy strategy, const std::string& topic,
                                  const std::vector<std::string>& members, uint32_t partitions,
                                  const PartitionOwners& previous);

// A stable 64-bit hash (FNV-1a followed by the murmur3 finalizer for spread); the same on every
// platform and run, so assignments survive a broker restart.
uint64_t stable_hash(std::string_view s);

}  // namespace tidemq::broker
