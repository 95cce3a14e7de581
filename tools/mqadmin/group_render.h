#pragma once
// Rendering of consumer-group data for mqadmin (updateSubGroup, groupList, consumerProgress,
// consumerConnection, resetOffsetByTime, skipAccumulatedMessage): tables for people, JSON for
// scripts. Pure functions over the client's plain structs (tidemq/admin.h), unit-tested.
#include <string>
#include <vector>

#include "tidemq/admin.h"
#include "tools/mqadmin/render.h"

namespace tidemq::tools {

// A rate limit: 0 -> "unlimited"; else the number without trailing zeros ("2000", "2.5").
std::string format_rate(double per_sec);
// Partition numbers as ranges: {0,1,2,3,7} -> "0-3,7"; empty -> "-".
std::string format_partition_list(std::vector<uint32_t> partitions);
// "orders[0-3] refunds[1]"; empty -> "-".
std::string format_assignment(const std::vector<GroupAssignment>& assignment);
// "orders(*) refunds(TagA || TagB)"; empty -> "-".
std::string format_subscriptions(const std::vector<GroupSubscription>& subscriptions);
// "orders 500 msg/s, refunds 4096 B/s"; empty -> "-".
std::string format_topic_rates(const std::vector<TopicRateLimit>& rates);
// "clustering" or "broadcasting".
std::string consume_mode_name(bool broadcast);
// A group's retry policy as shown: "default" for an empty one, else as stored.
std::string retry_policy_name(const std::string& policy);

// {"name","strategy","mode","reset_policy","max_msgs_per_sec","max_bytes_per_sec","burst_ms",
//  "topic_rates":[{"topic","max_msgs_per_sec","max_bytes_per_sec"}],"retry_policy",
//  "max_reconsume_times"}
JsonValue group_settings_json(const GroupSettings& settings);
// "strategy avg, clustering, reset latest, rate 2000 msg/s, bytes unlimited, burst 100 ms,
//  topic rates orders 500 msg/s, retry default, max reconsume 16" — one line, for updateSubGroup.
std::string group_settings_summary(const GroupSettings& settings);
// groupList: GROUP STRATEGY MODE RESET_POLICY RATE_MSGS RATE_BYTES BURST_MS TOPIC_RATES
// RETRY_POLICY MAX_RECONSUME.
std::string group_list_table(const std::vector<GroupSettings>& groups);

// {"group","partitions":[{"topic","partition","start_offset","end_offset","committed_offset",
//  "lag","owner","owner_client_id","last_commit_ms"}],"total_lag","retry_scheduled",
//  "dlq_messages"} (SPEC §8 shape plus extras;
// committed_offset -1 when nothing is committed, owner "" when unowned).
JsonValue consumer_progress_json(const ConsumerProgress& progress);
// A table TOPIC PARTITION START_OFFSET END_OFFSET COMMITTED LAG OWNER CLIENT_ID LAST_COMMIT
// ("-" for nothing committed / no owner), then "total lag: N", "retry scheduled: N" (sent-back
// messages waiting in the delay store) and "dlq messages: N".
std::string consumer_progress_table(const ConsumerProgress& progress);

// {"group","generation","strategy","mode","members":[{"member_id","client_id","remote",
//  "subscriptions":[{"topic","expression"}],"assignment":[{"topic","partitions":[...]}],
//  "last_heartbeat_age_ms"}]}
JsonValue consumer_connection_json(const GroupDescription& description);
// group/generation/strategy/mode/members fields, then a table MEMBER_ID CLIENT_ID REMOTE
// SUBSCRIPTIONS ASSIGNMENT LAST_HEARTBEAT (or "no members online").
std::string consumer_connection_text(const GroupDescription& description);

// resendDlq: {"group","id" (16 hex digits, or "" for every message not resent),"resent"}.
JsonValue resend_dlq_json(const std::string& group, uint64_t id, uint32_t resent);
// "resent 3 messages of %DLQ%billing to group billing" (or "... message <id> ...").
std::string resend_dlq_text(const std::string& group, uint64_t id, uint32_t resent);

// {"group","topic","target","offsets":[{"topic","partition","offset"}]}
JsonValue reset_offsets_json(const std::string& group, const std::string& topic, const std::string& target,
                             const std::vector<PartitionOffset>& offsets);
// "group billing, topic orders reset to latest:" then a table TOPIC PARTITION OFFSET.
std::string reset_offsets_text(const std::string& group, const std::string& topic, const std::string& target,
                               const std::vector<PartitionOffset>& offsets);

}  // namespace tidemq::tools
