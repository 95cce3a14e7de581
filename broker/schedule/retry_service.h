#pragma once
// Send-back and the dead-letter queue (SPEC §7), RocketMQ's consumerSendMessageBack: a message a
// consumer gives back becomes a copy with reconsume_times + 1 that waits in the delay store for
// %RETRY%<group> (the group's retry policy gives the delay), or, past the group's
// max_reconsume_times, goes to %DLQ%<group> at once. Both topics are created on demand with one
// partition. `resend_dlq` sends dead letters back to the group.
//
// Threads: every call may create a topic (a synced LevelDB write) or read the log: the blocking
// pool. Callbacks run on the store's writer thread.
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "broker/schedule/delay_store.h"
#include "broker/store/group_config_store.h"
#include "broker/store/log_store.h"
#include "broker/store/offset_store.h"
#include "broker/store/topic_registry.h"
#include "common/clock.h"
#include "common/status.h"

namespace tidemq::broker {

inline constexpr std::string_view kRetryPrefix = "%RETRY%";
inline constexpr std::string_view kDlqPrefix = "%DLQ%";
// The internal group whose committed offset on %DLQ%<group> marks what resend_dlq already sent.
inline constexpr std::string_view kResendPrefix = "%RESEND%";
// The property a retried message carries: the topic it was first produced to.
inline constexpr std::string_view kOriginTopicProperty = "ORIGIN_TOPIC";

struct SendBackResult {
  std::string destination;     // %RETRY%<group> or %DLQ%<group>
  uint32_t reconsume_times = 0;
  int64_t deliver_at_ms = 0;   // retry: the due time; 0 for the DLQ
};

class RetryService {
 public:
  using TopicCreated = std::function<void(const TopicConfig&)>;  // the broker tells the groups
  using SendBackCallback = std::function<void(Result<SendBackResult>)>;

  RetryService(TopicRegistry& topics, GroupConfigStore& configs, OffsetStore& offsets, LogStore& log,
               DelayStore& delays, const Clock& clock, uint32_t max_message_bytes, TopicCreated on_created);

  // `batch` is the message as a one-record batch (as the consumer received it); `from_topic` is
  // the topic it was read from. Errors: InvalidArgument (group name, not exactly one valid
  // record), CorruptMessage, StorageError; `cb` gets them (on the calling thread) or the write's
  // outcome (on the writer).
  void send_back(const std::string& group, const std::string& from_topic, std::string_view batch, bool to_dlq,
                 SendBackCallback cb);

  // Appends dead letters of the group to %RETRY%<group> at once, with reconsume_times 0: the one
  // with `id` (NotFound if the DLQ has none), or (id 0) every one not resent before — the
  // position is the committed offset of group %RESEND%<group> on the DLQ, moved after the
  // appends are durable. Returns how many were resent. Blocking; one call at a time.
  Result<uint32_t> resend_dlq(const std::string& group, uint64_t id);

  static std::string retry_topic(std::string_view group) { return std::string(kRetryPrefix) + std::string(group); }
  static std::string dlq_topic(std::string_view group) { return std::string(kDlqPrefix) + std::string(group); }

 private:
  Result<TopicConfig> ensure_topic(const std::string& name);

  TopicRegistry& topics_;
  GroupConfigStore& configs_;
  OffsetStore& offsets_;
  LogStore& log_;
  DelayStore& delays_;
  const Clock& clock_;
  uint32_t max_message_bytes_;
  TopicCreated on_created_;
  std::mutex resend_mu_;  // one resend_dlq at a time: two would send the same letters
};

}  // namespace tidemq::broker
