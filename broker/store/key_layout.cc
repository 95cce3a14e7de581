#include "broker/store/key_layout.h"

#include "common/check.h"
#include "common/coding.h"

namespace tidemq::broker::keys {

namespace {

constexpr size_t kLogKeyBytes = 1 + 4 + 4 + 8;
constexpr size_t kPartitionKeyBytes = 1 + 4 + 4;
constexpr size_t kProducerKeyBytes = 1 + 4 + 4 + 8;
constexpr size_t kOffsetSuffixBytes = 4 + 4;  // after kOffset | u16 len | group
constexpr size_t kTxnKeyBytes = 1 + 8;
constexpr size_t kExpiryKeyBytes = 1 + 8 + 8;
constexpr size_t kDelayKeyBytes = 1 + 8 + 4 + 4 + 8;

char ks_byte(Keyspace ks) { return static_cast<char>(ks); }

std::string with_name(Keyspace ks, std::string_view name) {
  std::string k;
  k.reserve(1 + name.size());
  k.push_back(ks_byte(ks));
  k.append(name);
  return k;
}

std::string partition_key(Keyspace ks, uint32_t topic_id, uint32_t partition) {
  std::string k(kPartitionKeyBytes, '\0');
  k[0] = ks_byte(ks);
  coding::put_u32(k.data() + 1, topic_id);
  coding::put_u32(k.data() + 5, partition);
  return k;
}

// kOffset | u16 group_len | group: the prefix of every offset key of the group.
std::string offset_prefix(std::string_view group, size_t reserve) {
  TIDEMQ_CHECK(group.size() <= 0xffff, "group name longer than a u16 length prefix");
  std::string k;
  k.reserve(reserve);
  k.push_back(ks_byte(Keyspace::kOffset));
  coding::append_u16(k, static_cast<uint16_t>(group.size()));
  k.append(group);
  return k;
}

std::string txn_key(Keyspace ks, uint64_t txn_id) {
  std::string k(kTxnKeyBytes, '\0');
  k[0] = ks_byte(ks);
  coding::put_u64(k.data() + 1, txn_id);
  return k;
}

std::optional<uint64_t> parse_txn_key(Keyspace ks, std::string_view key) {
  if (key.size() != kTxnKeyBytes || key[0] != ks_byte(ks)) return std::nullopt;
  return coding::get_u64(key.data() + 1);
}

}  // namespace

std::string meta(std::string_view name) { return with_name(Keyspace::kMeta, name); }

std::string topic(std::string_view name) { return with_name(Keyspace::kTopic, name); }

std::string log(uint32_t topic_id, uint32_t partition, uint64_t base_offset) {
  std::string k(kLogKeyBytes, '\0');
  k[0] = ks_byte(Keyspace::kLog);
  coding::put_u32(k.data() + 1, topic_id);
  coding::put_u32(k.data() + 5, partition);
  coding::put_u64(k.data() + 9, base_offset);
  return k;
}

// The 9-byte prefix (keyspace, topic, partition) sorts before every log key of the partition.
std::string log_begin(uint32_t topic_id, uint32_t partition) {
  return partition_key(Keyspace::kLog, topic_id, partition);
}

// The prefix of the next partition; (topic, 0xffffffff) rolls over to the next topic, and the
// last topic id rolls over to the next keyspace.
std::string log_end(uint32_t topic_id, uint32_t partition) {
  if (partition != UINT32_MAX) return partition_key(Keyspace::kLog, topic_id, partition + 1);
  if (topic_id != UINT32_MAX) return partition_key(Keyspace::kLog, topic_id + 1, 0);
  return keyspace_end(Keyspace::kLog);
}

std::string partition_start(uint32_t topic_id, uint32_t partition) {
  return partition_key(Keyspace::kPartitionStart, topic_id, partition);
}

std::string producer_state(uint32_t topic_id, uint32_t partition, uint64_t producer_id) {
  std::string k(kProducerKeyBytes, '\0');
  k[0] = ks_byte(Keyspace::kProducerState);
  coding::put_u32(k.data() + 1, topic_id);
  coding::put_u32(k.data() + 5, partition);
  coding::put_u64(k.data() + 9, producer_id);
  return k;
}

std::string offset(std::string_view group, uint32_t topic_id, uint32_t partition) {
  std::string k = offset_prefix(group, 3 + group.size() + kOffsetSuffixBytes);
  coding::append_u32(k, topic_id);
  coding::append_u32(k, partition);
  return k;
}

std::string offset_group_begin(std::string_view group) { return offset_prefix(group, 3 + group.size()); }

// Every key of the group is the prefix followed by exactly 8 bytes, so prefix + 8 x 0xff + 1
// byte would do; the prefix's successor (last byte below 0xff incremented, the rest dropped) is
// shorter and equally tight. The first byte is kOffset (< 0xff), so a successor always exists.
std::string offset_group_end(std::string_view group) {
  std::string k = offset_group_begin(group);
  while (static_cast<uint8_t>(k.back()) == 0xff) k.pop_back();
  k.back() = static_cast<char>(static_cast<uint8_t>(k.back()) + 1);
  return k;
}

std::string group_config(std::string_view group) { return with_name(Keyspace::kGroupConfig, group); }

std::string half(uint64_t txn_id) { return txn_key(Keyspace::kHalf, txn_id); }

std::string txn_outcome(uint64_t txn_id) { return txn_key(Keyspace::kTxnOutcome, txn_id); }

std::string txn_outcome_expiry(uint64_t resolved_unix_ms, uint64_t txn_id) {
  std::string k(kExpiryKeyBytes, '\0');
  k[0] = ks_byte(Keyspace::kTxnOutcomeExpiry);
  coding::put_u64(k.data() + 1, resolved_unix_ms);
  coding::put_u64(k.data() + 9, txn_id);
  return k;
}

std::string delay(uint64_t due_unix_ms, uint32_t topic_id, uint32_t partition, uint64_t first_id) {
  std::string k(kDelayKeyBytes, '\0');
  k[0] = ks_byte(Keyspace::kDelay);
  coding::put_u64(k.data() + 1, due_unix_ms);
  coding::put_u32(k.data() + 9, topic_id);
  coding::put_u32(k.data() + 13, partition);
  coding::put_u64(k.data() + 17, first_id);
  return k;
}

std::string delay_from(uint64_t due_unix_ms) {
  std::string k(1 + 8, '\0');
  k[0] = ks_byte(Keyspace::kDelay);
  coding::put_u64(k.data() + 1, due_unix_ms);
  return k;
}

std::string keyspace_begin(Keyspace ks) { return std::string(1, ks_byte(ks)); }

std::string keyspace_end(Keyspace ks) {
  return std::string(1, static_cast<char>(static_cast<uint8_t>(ks) + 1));
}

std::optional<LogKey> parse_log(std::string_view key) {
  if (key.size() != kLogKeyBytes || key[0] != ks_byte(Keyspace::kLog)) return std::nullopt;
  return LogKey{coding::get_u32(key.data() + 1), coding::get_u32(key.data() + 5),
                coding::get_u64(key.data() + 9)};
}

std::optional<ProducerKey> parse_producer_state(std::string_view key) {
  if (key.size() != kProducerKeyBytes || key[0] != ks_byte(Keyspace::kProducerState)) {
    return std::nullopt;
  }
  return ProducerKey{coding::get_u32(key.data() + 1), coding::get_u32(key.data() + 5),
                     coding::get_u64(key.data() + 9)};
}

std::optional<std::string_view> parse_topic(std::string_view key) {
  if (key.size() < 2 || key[0] != ks_byte(Keyspace::kTopic)) return std::nullopt;
  return key.substr(1);
}

std::optional<OffsetKey> parse_offset(std::string_view key) {
  if (key.size() < 3 + kOffsetSuffixBytes || key[0] != ks_byte(Keyspace::kOffset)) return std::nullopt;
  const size_t group_len = coding::get_u16(key.data() + 1);
  if (key.size() != 3 + group_len + kOffsetSuffixBytes) return std::nullopt;
  const char* ids = key.data() + 3 + group_len;
  return OffsetKey{key.substr(3, group_len), coding::get_u32(ids), coding::get_u32(ids + 4)};
}

std::optional<std::string_view> parse_group_config(std::string_view key) {
  if (key.size() < 2 || key[0] != ks_byte(Keyspace::kGroupConfig)) return std::nullopt;
  return key.substr(1);
}

std::optional<uint64_t> parse_half(std::string_view key) { return parse_txn_key(Keyspace::kHalf, key); }

std::optional<uint64_t> parse_txn_outcome(std::string_view key) {
  return parse_txn_key(Keyspace::kTxnOutcome, key);
}

std::optional<OutcomeExpiryKey> parse_txn_outcome_expiry(std::string_view key) {
  if (key.size() != kExpiryKeyBytes || key[0] != ks_byte(Keyspace::kTxnOutcomeExpiry)) return std::nullopt;
  return OutcomeExpiryKey{coding::get_u64(key.data() + 1), coding::get_u64(key.data() + 9)};
}

std::optional<DelayKey> parse_delay(std::string_view key) {
  if (key.size() != kDelayKeyBytes || key[0] != ks_byte(Keyspace::kDelay)) return std::nullopt;
  return DelayKey{coding::get_u64(key.data() + 1), coding::get_u32(key.data() + 9), coding::get_u32(key.data() + 13),
                  coding::get_u64(key.data() + 17)};
}

}  // namespace tidemq::broker::keys
