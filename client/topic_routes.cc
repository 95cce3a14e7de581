#include "client/topic_routes.h"

#include <algorithm>

#include "common/check.h"

namespace tidemq::client {

namespace {
constexpr double kEwmaAlpha = 0.2;
}  // namespace

void TopicRoute::grow(uint32_t n) {
  while (loads.size() < n) loads.push_back(PartitionLoad{static_cast<uint32_t>(loads.size()), 0, 0.0});
}

Result<uint32_t> TopicRoute::pick(const Message& msg) {
  if (msg.partition >= 0) {
    if (static_cast<size_t>(msg.partition) >= loads.size()) {
      stale = true;  // maybe it grew: look again next time
      return Status(StatusCode::kInvalidPartition, "partition " + std::to_string(msg.partition) + " of topic '" +
                                                       msg.topic + "' (has " + std::to_string(loads.size()) + ")");
    }
    return static_cast<uint32_t>(msg.partition);
  }
  const uint32_t partition = selector->select(msg, loads);
  TIDEMQ_CHECK(partition < loads.size(), "selector returned a partition out of range");
  return partition;
}

void TopicRoute::record_ack_latency(uint32_t partition, double us) {
  double& ewma = loads[partition].ewma_latency_us;
  ewma = ewma <= 0.0 ? std::max(us, 1.0) : kEwmaAlpha * us + (1 - kEwmaAlpha) * ewma;
}

void TopicRoute::note_failure(const Status& st) {
  if (st.code() == StatusCode::kInvalidPartition || st.code() == StatusCode::kTopicNotFound) stale = true;
}

}  // namespace tidemq::client
