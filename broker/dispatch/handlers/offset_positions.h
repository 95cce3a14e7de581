#pragma once
// Where a group starts reading a partition, and where an admin reset moves it (SPEC §5.2):
// the committed offset clamped to the partition's [start, end], or the reset policy when nothing
// is committed. The committed offset is read after a commit in progress (OffsetStore::get_settled),
// so a new owner starts after every commit the old owner was still allowed to make. Blocking
// (that wait, and offset-for-time reads LevelDB): call on the blocking pool.
#include <string>

#include "broker/dispatch/services.h"
#include "broker/store/group_types.h"

namespace tidemq::broker::handlers {

struct StartPosition {
  uint64_t offset = 0;
  bool committed = false;  // false: from the reset policy
};

// TopicNotFound / InvalidPartition.
Result<StartPosition> start_position(Services& s, const std::string& offset_owner, const ResetPolicy& policy,
                                     const TopicPartition& tp);
// The offset `policy` points at now (earliest = start, latest = end, timestamp = first batch
// stored at or after it).
Result<uint64_t> policy_offset(Services& s, const TopicConfig& topic, uint32_t partition, const ResetPolicy& policy);

}  // namespace tidemq::broker::handlers
