#pragma once
// Consumer groups: public types (tidemq/admin.h) <-> wire tables (schemas/group.fbs). Pure
// conversions, no I/O; used by group_admin.cc and unit-tested on their own.
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "schemas/envelope_generated.h"
#include "tidemq/admin.h"

namespace tidemq::client {

wire::AssignStrategy strategy_to_wire(AssignStrategy strategy);
// A value this client does not know (a newer broker) reads as kAvg.
AssignStrategy strategy_from_wire(wire::AssignStrategy strategy);

// Builds the GroupConfig table of `settings` in `fbb`. An empty reset_policy is sent as "latest".
flatbuffers::Offset<wire::GroupConfig> build_group_config(flatbuffers::FlatBufferBuilder& fbb,
                                                          const GroupSettings& settings);
// Absent fields read as their defaults; a null table gives default settings.
GroupSettings group_settings_from_wire(const wire::GroupConfig* config);

GroupDescription group_description_from_wire(const wire::DescribeGroupResponse& response);
ConsumerProgress consumer_progress_from_wire(const wire::ConsumerProgressResponse& response);

// The offsets of a reset/commit response. When an entry carries an error, that error (its
// message prefixed with "topic/partition: ") instead of the list.
Result<std::vector<PartitionOffset>> partition_offsets_from_wire(
    const flatbuffers::Vector<flatbuffers::Offset<wire::PartitionOffset>>* offsets);

}  // namespace tidemq::client
