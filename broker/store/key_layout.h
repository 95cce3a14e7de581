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
  kOffset = 0x06,         // kOffset | u16 group_len | group | u32 topic_id | u32 partition -> committed offset
  kGroupConfig = 0x07,    // kGroupConfig | group name                   -> GroupConfig
  kHalf = 0x08,           // kHalf | u64 txn_id                          -> half record (broker/txn/half_record.h)
  kTxnOutcome = 0x09,     // kTxnOutcome | u64 txn_id                    -> outcome record (same file)
  kTxnOutcomeExpiry = 0x0A,  // kTxnOutcomeExpiry | u64 resolved_unix_ms | u64 txn_id -> "" (expiry index)
  kDelay = 0x0B,          // kDelay | u64 due_unix_ms | u32 topic_id | u32 partition | u64 first id -> batch
};

std::string meta(std::string_view name);
std::string topic(std::string_view name);
std::string log(uint32_t topic_id, uint32_t partition, uint64_t base_offset);
// First and one-past-last key of a partition's log / of a topic's logs.
std::string log_begin(uint32_t topic_id, uint32_t partition);
std::string log_end(uint32_t topic_id, uint32_t partition);
std::string partition_start(uint32_t topic_id, uint32_t partition);
std::string producer_state(uint32_t topic_id, uint32_t partition, uint64_t producer_id);
// Committed offsets. The group name is length-prefixed so that the range of group "a" never
// contains a key of group "ab" (keys sort by group length first, then name). Names longer than
// 65535 bytes abort (group names are validated to far less).
std::string offset(std::string_view group, uint32_t topic_id, uint32_t partition);
// First and one-past-last key of all offsets of one group.
std::string offset_group_begin(std::string_view group);
std::string offset_group_end(std::string_view group);
std::string group_config(std::string_view group);
// Transactions (broker/txn/). Expiry keys sort by resolution time, so expiring outcomes is a
// range scan from the keyspace's start.
std::string half(uint64_t txn_id);
std::string txn_outcome(uint64_t txn_id);
std::string txn_outcome_expiry(uint64_t resolved_unix_ms, uint64_t txn_id);
// Scheduled messages and retries (broker/schedule/): sorted by due time, so the due ones are a
// range scan from the keyspace's start (or from delay_from(t)).
std::string delay(uint64_t due_unix_ms, uint32_t topic_id, uint32_t partition, uint64_t first_id);
std::string delay_from(uint64_t due_unix_ms);  // the first possible key due at or after the time
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
struct OffsetKey {
  std::string_view group;  // points into the parsed key
  uint32_t topic_id;
  uint32_t partition;
};
std::optional<OffsetKey> parse_offset(std::string_view key);
// The group name of a kGroupConfig key (non-empty).
std::optional<std::string_view> parse_group_config(std::string_view key);
// The txn id of a kHalf / kTxnOutcome key.
std::optional<uint64_t> parse_half(std::string_view key);
std::optional<uint64_t> parse_txn_outcome(std::string_view key);
struct OutcomeExpiryKey {
  uint64_t resolved_unix_ms;
  uint64_t txn_id;
};
std::optional<OutcomeExpiryKey> parse_txn_outcome_expiry(std::string_view key);
struct DelayKey {
  uint64_t due_unix_ms;
  uint32_t topic_id;
  uint32_t partition;
  uint64_t first_id;
};
std::optional<DelayKey> parse_delay(std::string_view key);

}  // namespace tidemq::broker::keys
