#include "client/offset_tracker.h"

#include "common/check.h"

namespace tidemq::client {

void OffsetTracker::add(uint64_t offset, size_t bytes) {
  // Invariant: fetch results of a partition arrive in offset order and are added once.
  TIDEMQ_CHECK(offset >= position_, "OffsetTracker::add below the fetch position");
  pending_.emplace(offset, bytes);
  bytes_ += bytes;
  position_ = offset + 1;
}

void OffsetTracker::advance(uint64_t next_offset) {
  if (next_offset > position_) position_ = next_offset;
}

bool OffsetTracker::complete(uint64_t offset) {
  auto it = pending_.find(offset);
  if (it == pending_.end()) return false;
  bytes_ -= it->second;
  pending_.erase(it);
  return true;
}

}  // namespace tidemq::client
