#pragma once
// PartitionReader: reads a topic's partitions from explicit offsets (no consumer group), with
// long-poll fetches. Consumer groups come with tidemq/consumer.h.
//
// Thread-safety: one thread at a time per reader.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "tidemq/message.h"
#include "tidemq/options.h"

namespace tidemq {

struct FetchResult {
  std::vector<Message> messages;  // offsets >= the asked offset, in order
  uint64_t start_offset = 0;      // the partition's first stored offset
  uint64_t end_offset = 0;        // the partition's next offset (high watermark)
  uint64_t next_offset = 0;       // where the next fetch should start
};

class PartitionReader {
 public:
  static Result<std::unique_ptr<PartitionReader>> create(ClientOptions options, std::string topic);
  ~PartitionReader();

  // Number of partitions of the topic. TopicNotFound if absent.
  uint32_t partition_count() const;

  // One fetch of one partition. Waits up to `max_wait` for data when none is there.
  // Errors: TopicNotFound, InvalidPartition, OffsetOutOfRange, Timeout, Unavailable.
  Result<FetchResult> fetch(uint32_t partition, uint64_t offset,
                            std::chrono::milliseconds max_wait = std::chrono::milliseconds(0),
                            uint32_t max_bytes = 1 << 20);

  // Positions for poll(): assign a partition at an offset; assign_all_from_start() puts every
  // partition at its start offset.
  void assign(uint32_t partition, uint64_t offset);
  Status assign_all_from_start();
  std::map<uint32_t, uint64_t> positions() const;

  // Fetches from every assigned partition (one long-poll request) and advances the positions.
  // Returns an empty vector when nothing arrived within `timeout`.
  Result<std::vector<Message>> poll(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  explicit PartitionReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tidemq
