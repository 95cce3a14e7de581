#pragma once
// Admin: topic management, consumer-group administration, transaction (half-message)
// administration and broker/message queries, as mqadmin uses them.
// Thread-safety: every method may be called from any thread; each call blocks for its response.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "tidemq/message.h"
#include "tidemq/options.h"
#include "tidemq/txn_types.h"

namespace tidemq {

struct TopicSettings {
  std::string name;
  uint32_t partitions = 4;
  int64_t retention_ms = -1;     // -1: broker default (72 h)
  int64_t retention_bytes = -1;  // per partition; -1: unlimited
};

struct PartitionStatus {
  uint32_t partition = 0;
  uint64_t start_offset = 0;
  uint64_t end_offset = 0;
  int64_t last_store_ms = 0;
};

struct TopicStatus {
  TopicSettings settings;
  std::vector<PartitionStatus> partitions;
};

struct BrokerStatus {
  std::string version;
  std::string flush_mode;
  std::string data_dir;
  std::string listen;
  uint64_t uptime_ms = 0;
  std::string storage_error;  // empty while healthy
  std::vector<std::pair<std::string, std::string>> stats;
};

// ---- consumer groups (SPEC §5.2, §5.3) ------------------------------------------------------

// How a group's partitions are dealt to its members (SPEC §5.2).
enum class AssignStrategy {
  kAvg,             // "avg": contiguous ranges per topic (default)
  kAvgByCircle,     // "avg_by_circle": round robin
  kConsistentHash,  // "consistent_hash": a hash ring of members
  kSticky,          // "sticky": keep what each member had, move only what must move
};

// "avg", "avg_by_circle", "consistent_hash", "sticky".
std::string assign_strategy_name(AssignStrategy strategy);
// The inverse of assign_strategy_name; InvalidArgument for anything else.
Result<AssignStrategy> parse_assign_strategy(const std::string& name);

// A per-topic delivery limit of a group: used for that topic instead of the group-wide limits.
struct TopicRateLimit {
  std::string topic;
  double max_msgs_per_sec = 0;   // 0 = unlimited
  double max_bytes_per_sec = 0;  // 0 = unlimited
};

// A group's durable configuration (mqadmin updateSubGroup).
struct GroupSettings {
  std::string name;
  AssignStrategy strategy = AssignStrategy::kAvg;
  bool broadcast = false;  // true: every member gets every message; false: clustering
  // Where the group starts on a partition it has no committed offset for: "latest" (also when
  // empty), "earliest" or "timestamp:<unix ms>".
  std::string reset_policy = "latest";
  double max_msgs_per_sec = 0;   // peak shaving, the whole group over every topic; 0 = unlimited
  double max_bytes_per_sec = 0;  // 0 = unlimited
  uint32_t burst_ms = 100;       // token bucket size = rate × burst_ms (SPEC §5.3)
  std::vector<TopicRateLimit> topic_rates;
  // Retries (SPEC §7): the delays between a send-back and its redelivery through %RETRY%<group>:
  // "default" (also empty: 10s 30s 1m 2m ... 30m 1h 2h), "exponential" (5 s × 2^n, max 2 h),
  // "notify" (15s 15s 30s 3m 10m ... 6h), or a comma list of delays such as "500ms,1s,5s,1m"
  // (units ms, s, m, h; the last one repeats).
  std::string retry_policy;
  // A message sent back more often than this goes to %DLQ%<group> instead.
  uint32_t max_reconsume_times = 16;
};

struct GroupAssignment {
  std::string topic;
  std::vector<uint32_t> partitions;
};

struct GroupSubscription {
  std::string topic;
  std::string expression;  // "*" or "TagA || TagB"
};

struct GroupMemberInfo {
  std::string member_id;
  std::string client_id;
  std::string remote;  // host:port of the member's connection, as the broker sees it
  std::vector<GroupSubscription> subscriptions;
  std::vector<GroupAssignment> assignment;
  uint64_t last_heartbeat_age_ms = 0;
};

struct GroupDescription {
  GroupSettings settings;
  uint32_t generation = 0;
  std::vector<GroupMemberInfo> members;
};

struct PartitionProgress {
  std::string topic;
  uint32_t partition = 0;
  uint64_t start_offset = 0;
  uint64_t end_offset = 0;        // the broker's next offset (high watermark)
  int64_t committed_offset = -1;  // the next offset the group reads; -1 = nothing committed
  uint64_t lag = 0;               // end - committed (end - start when nothing is committed)
  std::string owner;              // member id; empty when no member owns the partition
  std::string owner_client_id;
  int64_t last_commit_ms = 0;     // unix ms of the last commit; 0 = never
};

struct ConsumerProgress {
  std::string group;
  // Includes %RETRY%<group> once the group has one (its lag: retries due and not yet consumed).
  std::vector<PartitionProgress> partitions;
  uint64_t retry_scheduled = 0;  // sent-back messages waiting in the broker's delay store
  uint64_t dlq_messages = 0;     // messages in %DLQ%<group> (end - start)
};

// A partition's offset, e.g. where reset_offsets put a group.
struct PartitionOffset {
  std::string topic;
  uint32_t partition = 0;
  uint64_t offset = 0;
};

// Checks what the broker would refuse anyway, with a message naming the field: empty name,
// unknown reset policy, negative or non-finite rates, burst_ms 0, a per-topic limit without a
// topic or a topic listed twice, a retry policy that is neither a preset nor a comma list of
// delays (validate_retry_policy). InvalidArgument, or ok.
Status validate_group_settings(const GroupSettings& settings);

// Checks a retry policy: empty, "default", "exponential", "notify", or a comma list of positive
// delays <digits><ms|s|m|h> ("500ms,1s,5s,1m"). InvalidArgument, or ok.
Status validate_retry_policy(const std::string& policy);

// Checks a reset_offsets target: "earliest", "latest", "now" or a unix time in ms (digits).
Status validate_reset_target(const std::string& target);

// ---- transactions: half-messages and producer groups (SPEC §6) -------------------------------

// One producer group's unresolved transactions.
struct HalfGroupStatus {
  std::string producer_group;
  uint64_t pending = 0;
  uint64_t parked = 0;
  uint64_t oldest_age_ms = 0;   // age of the group's oldest pending or parked half-message; 0 = none
  uint32_t live_producers = 0;  // connections of the group a check-back could reach now
};

// The broker's half-messages (mqadmin halfStatus): all groups, or the one asked for.
struct HalfStatus {
  uint64_t pending = 0;
  uint64_t parked = 0;
  uint64_t oldest_age_ms = 0;  // of the oldest pending or parked half-message; 0 = none
  std::vector<HalfGroupStatus> groups;
  // checks_histogram[i] = half-messages (pending or parked) that have had i checks; the last
  // bucket counts check_max and more. May be empty (no half-messages).
  std::vector<uint64_t> checks_histogram;
  uint64_t checks_sent = 0;           // since the broker started
  uint64_t outcomes_committed = 0;    // since the broker started
  uint64_t outcomes_rolled_back = 0;  // since the broker started
};

// One transaction as the broker sees it (mqadmin queryHalfMsg, resumeCheckHalfMsg, endHalfMsg).
struct HalfInfo {
  uint64_t txn_id = 0;  // = the half-message's id
  std::string producer_group;
  TxnState state = TxnState::kPending;
  uint32_t check_count = 0;      // check-backs actually sent to a live producer
  uint64_t age_ms = 0;           // since the broker received the half-message
  int64_t next_check_in_ms = 0;  // < 0: overdue; meaningful only while kPending
  std::optional<Message> message;  // the half-message (topic, partition, key, body...); absent once resolved
  uint64_t offset = 0;             // kCommitted: the offset it got in its topic's partition
};

// A live connection of a producer group: where a check-back could go (mqadmin producerConnection).
struct ProducerConnection {
  std::string client_id;
  std::string address;       // host:port of the connection, as the broker sees it
  int64_t connected_ms = 0;  // unix ms
  uint64_t session_id = 0;
};

class Admin {
 public:
  static Result<std::unique_ptr<Admin>> create(ClientOptions options);
  ~Admin();

  // Creates or updates a topic. Returns true when it was created. Errors: InvalidArgument
  // (bad name, reserved name, fewer partitions than before, over 1024).
  Result<bool> update_topic(const TopicSettings& settings);
  Status delete_topic(const std::string& name);
  Result<std::vector<TopicSettings>> list_topics();
  Result<TopicStatus> topic_status(const std::string& name);
  Result<BrokerStatus> broker_status();

  // ---- consumer groups ----
  // Creates a group's config, or replaces it as a whole: every field of `settings` is written
  // (to change one setting, read the current ones with describe_group() or list_groups() first,
  // as mqadmin updateSubGroup does). Takes effect at once, without restarting any member.
  // Returns true when the group was created. Errors: InvalidArgument (see
  // validate_group_settings, checked before anything is sent).
  Result<bool> update_group(const GroupSettings& settings);
  // Removes a group's config and committed offsets. Errors: GroupNotFound; InvalidArgument while
  // members are online.
  Status delete_group(const std::string& name);
  // Every group the broker knows (a stored config, online members or committed offsets; the
  // defaults for a group without a config), by name.
  Result<std::vector<GroupSettings>> list_groups();
  // Config, generation and online members with their assignment. Errors: GroupNotFound.
  Result<GroupDescription> describe_group(const std::string& name);
  // Per partition of every topic the group committed to or subscribes to: end offset, committed
  // offset, lag, owner. Errors: GroupNotFound.
  Result<ConsumerProgress> consumer_progress(const std::string& group);
  // Moves the group's committed offsets of every partition of `topic` to `target`: "earliest",
  // "latest" (skipAccumulatedMessage), "now" or a unix time in ms (the first message stored at or
  // after it). Works on a live group: its owners are fenced and restart from the new offsets.
  // Returns the new offsets. Errors: InvalidArgument (bad target, checked before sending),
  // GroupNotFound, TopicNotFound; when the broker refuses one partition, that partition's error.
  Result<std::vector<PartitionOffset>> reset_offsets(const std::string& group, const std::string& topic,
                                                     const std::string& target);
  // Sends messages of %DLQ%<group> back to the group (SPEC §7, mqadmin resendDlq): appended to
  // %RETRY%<group> at once with reconsume_times 0. `id` 0: every message not resent before (the
  // broker tracks how far it got); otherwise only the message with that id. Returns how many were
  // resent (0 when there was nothing new, or no message with `id`). Errors: GroupNotFound,
  // InvalidArgument (e.g. an empty group), whatever else the broker answers.
  Result<uint32_t> resend_dlq(const std::string& group, uint64_t id = 0);

  // ---- transactions (SPEC §6) ----
  // Pending and parked half-messages, check and outcome counters, per producer group. An empty
  // `producer_group` asks for every group; a named one narrows `groups` (and the totals) to it.
  Result<HalfStatus> half_status(const std::string& producer_group = "");
  // One transaction: pending or parked (with its half-message), or a remembered outcome
  // (committed with its offset, or rolled back). Errors: NotFound when the broker has neither.
  Result<HalfInfo> query_half(uint64_t txn_id);
  // Unparks a parked transaction: check count back to 0, next check now. Returns the transaction
  // afterwards. Errors: NotFound; whatever the broker answers for a transaction that is not parked.
  Result<HalfInfo> resume_half(uint64_t txn_id);
  // Operator resolution, with the rules of a producer's EndTransaction: the first kCommit or
  // kRollback recorded wins, so the returned state is the recorded outcome, which is not
  // `action` when the transaction was already resolved the other way (nothing is written then).
  // Errors: InvalidArgument for kUnknown (checked before sending: an operator resolves), NotFound.
  Result<HalfInfo> end_half(uint64_t txn_id, TxnAction action);
  // The live connections of a producer group, those a check-back could reach; empty when none
  // is online. Errors: InvalidArgument for an empty group name (checked before sending).
  Result<std::vector<ProducerConnection>> producer_connection(const std::string& producer_group);

  // The message at (topic, partition, offset). NotFound / OffsetOutOfRange otherwise.
  Result<Message> query_by_offset(const std::string& topic, uint32_t partition, uint64_t offset);
  // Messages with this id (normally one); `topic` narrows the search. NotFound if none.
  Result<std::vector<Message>> query_by_id(uint64_t id, const std::string& topic = "");

 private:
  struct Impl;
  explicit Admin(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tidemq
