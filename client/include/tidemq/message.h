#pragma once
// A message as producers build it and readers receive it (SPEC §4.2).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tidemq {

struct Message {
  std::string topic;
  std::string key;   // optional: hash selector and lookups use it (max 65535 bytes)
  std::string tags;  // optional: broker-side filtering (max 65535 bytes)
  std::vector<std::pair<std::string, std::string>> properties;
  std::string body;  // max: the broker's max-message-bytes (4 MiB by default)

  // Producer: -1 lets the partition selector choose; >= 0 sends to that partition.
  // Reader: the partition the message was read from.
  int32_t partition = -1;

  // Filled by the library / broker.
  uint64_t id = 0;  // snowflake; assigned by the producer before the first send attempt
  uint64_t offset = 0;
  int64_t born_ms = 0;
  int64_t store_ms = 0;
  uint32_t reconsume_times = 0;
};

struct SendResult {
  uint64_t id = 0;
  uint32_t partition = 0;
  uint64_t offset = 0;
  int64_t store_ms = 0;
};

// Message ids print as 16 hex digits.
std::string format_message_id(uint64_t id);

}  // namespace tidemq
