#pragma once
// Plain data the store hands to the rest of the broker.
#include <cstdint>
#include <string>

namespace tidemq::broker {

inline constexpr int64_t kDefaultRetentionMs = 72LL * 3600 * 1000;  // RocketMQ fileReservedTime
inline constexpr uint32_t kMaxPartitions = 1024;

struct TopicConfig {
  std::string name;
  uint32_t topic_id = 0;  // assigned by the registry; log keys use it instead of the name
  uint32_t partitions = 4;
  int64_t retention_ms = kDefaultRetentionMs;
  int64_t retention_bytes = -1;  // per partition; -1 = unlimited
  int64_t created_ms = 0;
};

struct PartitionInfo {
  uint64_t start_offset = 0;  // first offset still stored (retention moves it up)
  uint64_t end_offset = 0;    // next offset to be assigned == high watermark (all below are durable)
  int64_t last_store_ms = 0;  // store time of the newest batch, 0 if empty
};

struct AppendResult {
  uint64_t base_offset = 0;
  uint32_t record_count = 0;
  int64_t store_ms = 0;
  bool duplicate = false;  // an idempotent retry of a batch already stored; nothing was written
};

struct ReadResult {
  std::string batches;  // stored batches concatenated, unchanged; may start before the asked offset
  uint64_t start_offset = 0;
  uint64_t end_offset = 0;
};

enum class FlushMode { kSync, kAsync };

}  // namespace tidemq::broker
