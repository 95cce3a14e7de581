#pragma once
// Every LevelDB key is built and parsed here (STYLE habit 11). A key is a one-byte keyspace
// followed by big-endian integers, so byte order is numeric order. Keyspaces are appended,
// never renumbered.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tidemq::broker::keys {

enum class Keyspace : uint8_t {
  kMeta = 0x01,           // kMeta | name                                -> value (counters)
  kTopic = 0x02,          // kTopic | topic name                         -> TopicConfig
  kLog = 0x03,            // kLog | u32 topic_id | u32 partition | u64 base_offset -> record batch
  kPartitionStart = 0x04, // kPartitionStart | u32 topic_id | u32 partition -> u64 start offset
  kProducerState = 0x05,  // kProducerState | u32 topic_id | u32 partition | u64 producer_id -> sequences
};

std::string meta(std::string_view name);
std::string topic(std::string_view name);
std::string log(uint32_t topic_id, uint32_t partition, uint64_t base_offset);
// First and one-past-last key of a partition's log / of a topic's logs.
std::string log_begin(uint32_t topic_id, uint32_t partition);
std::string log_end(uint32_t topic_id, uint32_t partition);
std::string partition_start(uint32_t topic_id, uint32_t partition);
std::string producer_state(uint32_t topic_id, uint32_t partition, uint64_t producer_id);
std::string keyspace_begin(Keyspace ks);
std::string keyspace_end(Keyspace ks);

struct LogKey {
  uint32_t topic_id;
  uint32_t partition;
  uint64_t base_offset;
};
std::optional<LogKey> parse_log(std::string_view key);
struct ProducerKey {
  uint32_t topic_id;
  uint32_t partition;
  uint64_t producer_id;
};
std::optional<ProducerKey> parse_producer_state(std::string_view key);
std::optional<std::string_view> parse_topic(std::string_view key);

}  // namespace tidemq::broker::keys
