#include "broker/dispatch/handlers/offset_positions.h"

#include <algorithm>

namespace tidemq::broker::handlers {

Result<uint64_t> policy_offset(Services& s, const TopicConfig& topic, uint32_t partition, const ResetPolicy& policy) {
  TIDEMQ_ASSIGN_OR_RETURN(PartitionInfo info, s.log.info(topic.topic_id, partition));
  switch (policy.kind) {
    case ResetPolicy::Kind::kEarliest: return info.start_offset;
    case ResetPolicy::Kind::kLatest: return info.end_offset;
    case ResetPolicy::Kind::kTimestamp: {
      TIDEMQ_ASSIGN_OR_RETURN(uint64_t at, s.log.offset_for_time(topic.topic_id, partition, policy.timestamp_ms));
      return std::clamp(at, info.start_offset, info.end_offset);
    }
  }
  return info.end_offset;
}

Result<StartPosition> start_position(Services& s, const std::string& offset_owner, const ResetPolicy& policy,
                                     const TopicPartition& tp) {
  auto topic = s.topics.find(tp.topic);
  if (!topic) return Status(StatusCode::kTopicNotFound, "topic '" + tp.topic + "' does not exist");
  if (tp.partition >= topic->partitions) {
    return Status(StatusCode::kInvalidPartition, "no partition " + std::to_string(tp.partition) + " in '" + tp.topic + "'");
  }
  if (auto committed = s.offsets.get_settled(offset_owner, topic->topic_id, tp.partition)) {
    TIDEMQ_ASSIGN_OR_RETURN(PartitionInfo info, s.log.info(topic->topic_id, tp.partition));
    return StartPosition{std::clamp(committed->offset, info.start_offset, info.end_offset), true};
  }
  TIDEMQ_ASSIGN_OR_RETURN(uint64_t at, policy_offset(s, *topic, tp.partition, policy));
  return StartPosition{at, false};
}

}  // namespace tidemq::broker::handlers
