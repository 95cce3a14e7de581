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

  // Producer: scheduled delivery (SPEC §7). The broker keeps the message in its delay store and
  // appends it to its partition when due. Set at most one of the two (both: InvalidArgument).
  // - deliver_at_ms: unix ms at which the message becomes visible; 0 (or a time not in the
  //   future) = now. At most 3 days (kMaxDeliverAheadMs) ahead, else InvalidArgument.
  // - delay_level: 0 = none, 1..18 = RocketMQ's levels (see delay_level_ms); converted once, to
  //   now + delay, when send / send_async accepts the message (a retried send keeps that due
  //   time). Above 18: InvalidArgument.
  // Readers and consumers leave both 0 (a message is visible only once due).
  int64_t deliver_at_ms = 0;
  uint32_t delay_level = 0;

  // Consumers: the topic the message was really read from, when the library changed `topic`.
  // A message redelivered through %RETRY%<group> gets `topic` = its ORIGIN_TOPIC property (where
  // it was produced) and `read_topic` = "%RETRY%<group>"; empty otherwise. Consumer::send_back
  // uses it; producers ignore it.
  std::string read_topic;
};

struct SendResult {
  uint64_t id = 0;
  uint32_t partition = 0;
  uint64_t offset = 0;  // 0 when scheduled (the offset is assigned when it is due)
  int64_t store_ms = 0;
  bool scheduled = false;  // in the broker's delay store (deliver_at_ms / delay_level in the future)
};

// Message ids print as 16 hex digits.
std::string format_message_id(uint64_t id);

// Scheduled messages may be due at most this far ahead (3 days, the broker's limit).
inline constexpr int64_t kMaxDeliverAheadMs = 259'200'000;
inline constexpr uint32_t kMaxDelayLevel = 18;

// RocketMQ's delay levels 1..18: 1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h, in
// ms; 0 for level 0 or a level above 18.
int64_t delay_level_ms(uint32_t level);

// Property names the broker sets on retried messages (SPEC §7).
inline constexpr const char* kOriginTopicProperty = "ORIGIN_TOPIC";

}  // namespace tidemq
