#pragma once
// Consumer-group data shared by the group config store, the offset store, the coordinator and
// the handlers (SPEC §5.2, §5.3). Plain data; the wire form is schemas/group.fbs.
#include <cstdint>
#include <string>
#include <vector>

namespace tidemq::broker {

enum class AssignStrategy : uint8_t { kAvg = 0, kAvgByCircle, kConsistentHash, kSticky };
enum class ConsumeMode : uint8_t { kClustering = 0, kBroadcasting };

// Where a group with no committed offset starts (SPEC §5.2). Parsed from "latest" (default),
// "earliest" or "timestamp:<unix ms>".
struct ResetPolicy {
  enum class Kind : uint8_t { kLatest = 0, kEarliest, kTimestamp } kind = Kind::kLatest;
  int64_t timestamp_ms = 0;
};

struct TopicRate {
  std::string topic;
  double max_msgs_per_sec = 0;   // 0 = unlimited
  double max_bytes_per_sec = 0;  // 0 = unlimited
};

struct GroupConfig {
  std::string name;
  AssignStrategy strategy = AssignStrategy::kAvg;
  ConsumeMode mode = ConsumeMode::kClustering;
  ResetPolicy reset;
  double max_msgs_per_sec = 0;   // the whole group; 0 = unlimited
  double max_bytes_per_sec = 0;
  uint32_t burst_ms = 100;       // bucket size = rate × burst_ms (SPEC §5.3)
  std::vector<TopicRate> topic_rates;  // a topic listed here uses its own limits instead
  int64_t created_ms = 0;
  // Retries (SPEC §7, common/retry_policy.h): the policy's text ("" = default) and the
  // redeliveries before a message goes to %DLQ%<group>.
  std::string retry_policy;
  uint32_t max_reconsume_times = 16;
};

struct Subscription {
  std::string topic;
  std::string expression = "*";  // "*" or "TagA || TagB"
  friend bool operator==(const Subscription&, const Subscription&) = default;
};

struct TopicPartition {
  std::string topic;
  uint32_t partition = 0;
  friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
};

}  // namespace tidemq::broker
