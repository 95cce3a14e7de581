#pragma once
// Consumer-group conversions between the broker's plain data (broker/store/group_types.h) and
// schemas/group.fbs, shared by the group handlers.
#include <string>
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "broker/store/group_types.h"
#include "common/status.h"
#include "schemas/group_generated.h"

namespace tidemq::broker::handlers {

flatbuffers::Offset<wire::GroupConfig> group_config_to_wire(flatbuffers::FlatBufferBuilder& fbb,
                                                            const GroupConfig& c);
// InvalidArgument for a missing name or a bad reset policy.
Result<GroupConfig> group_config_from_wire(const wire::GroupConfig& c);

// Sorted partitions -> one TopicAssignment per topic.
flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<wire::TopicAssignment>>> assignment_to_wire(
    flatbuffers::FlatBufferBuilder& fbb, const std::vector<TopicPartition>& partitions);
flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<wire::Subscription>>> subscriptions_to_wire(
    flatbuffers::FlatBufferBuilder& fbb, const std::vector<Subscription>& subs);

// One partition's outcome in Commit/FetchOffsets/ResetOffsets responses.
struct OffsetOutcome {
  std::string topic;
  uint32_t partition = 0;
  uint64_t offset = 0;
  Status status;
  bool committed = false;
};
flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<wire::PartitionOffset>>> offsets_to_wire(
    flatbuffers::FlatBufferBuilder& fbb, const std::vector<OffsetOutcome>& offsets);

// Where a group's offsets live: the group name, or "group@client_id" for a broadcasting member.
std::string offset_owner(const GroupConfig& config, const std::string& group, const std::string& client_id);

}  // namespace tidemq::broker::handlers
