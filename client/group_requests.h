#pragma once
// Consumer-group requests on a Connection (schemas/group.fbs, the group fields of fetch.fbs):
// build, send, check the body type, and turn the answer into plain structs. No state.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "client/connection.h"
#include "client/owned_partitions.h"
#include "common/status.h"
#include "tidemq/consumer.h"
#include "tidemq/message.h"

namespace tidemq::client {

struct GroupSubscription {
  std::string topic;
  std::string expression = "*";
};

// What JoinGroup and Heartbeat answer (heartbeat leaves member_id and the timeouts empty).
struct MemberAssignment {
  std::string member_id;
  uint32_t generation = 0;
  std::vector<TopicPartition> partitions;  // sorted
  uint32_t session_timeout_ms = 0;
  uint32_t heartbeat_interval_ms = 0;
};

// One partition's outcome in FetchOffsets / CommitOffsets.
struct PartitionOffsetResult {
  TopicPartition tp;
  uint64_t offset = 0;
  bool committed = false;  // FetchOffsets: a committed offset (false: from the reset policy)
  Status status;
};

// Errors: the envelope's (InvalidArgument, UnknownMember, ...), Timeout, Unavailable, ProtocolError.
Result<MemberAssignment> join_group(Connection& conn, const std::string& group, const std::string& member_id,
                                    const std::vector<GroupSubscription>& subscriptions,
                                    std::chrono::milliseconds session_timeout);
Result<MemberAssignment> heartbeat(Connection& conn, const std::string& group, const std::string& member_id,
                                   uint32_t generation);
Status leave_group(Connection& conn, const std::string& group, const std::string& member_id,
                   std::chrono::milliseconds timeout);
Result<std::vector<PartitionOffsetResult>> fetch_offsets(Connection& conn, const std::string& group,
                                                         const std::string& member_id,
                                                         const std::vector<TopicPartition>& partitions);
// Sends CommitOffsets for `plan`; `done` runs on the I/O thread with the per-partition outcomes
// (in the plan's order; a partition the response leaves out gets ProtocolError).
void commit_offsets(Connection& conn, const std::string& group, const std::string& member_id, const CommitPlan& plan,
                    std::function<void(Result<std::vector<PartitionOffsetResult>>)> done);

// ---- group fetch ----
struct FetchLimits {
  std::chrono::milliseconds max_wait{0};
  uint32_t max_bytes_per_partition = 1u << 20;
  uint32_t max_bytes = 8u << 20;
};
// Sends the group FetchRequest for `plan`; `done` gets the raw response frame on the I/O thread
// (decoding happens on the consumer's own thread: decode_group_fetch).
void send_group_fetch(Connection& conn, const std::string& group, const std::string& member_id, const FetchPlan& plan,
                      const FetchLimits& limits, std::function<void(Result<Frame>)> done);

struct FetchedPartition {
  uint32_t partition = 0;
  Status status;
  uint64_t next_offset = 0;       // where the next fetch starts (>= the asked offset)
  // Offsets >= the asked offset, in order. Read from a retry topic: `topic` restored from
  // ORIGIN_TOPIC, `read_topic` = the retry topic (restore_origin_topic).
  std::vector<Message> messages;
};
struct GroupFetchResult {
  uint32_t generation = 0;                   // the group's generation when the broker answered
  std::vector<FetchedPartition> partitions;  // only partitions of `plan`
};
// Errors: ProtocolError (not a FetchResponse). A partition whose records do not parse gets
// CorruptMessage.
Result<GroupFetchResult> decode_group_fetch(const Frame& frame, const FetchPlan& plan);

}  // namespace tidemq::client
