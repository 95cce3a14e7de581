#pragma once
// Consumer-group membership and assignment, all in memory (SPEC §5.2). A join, leave or expiry
// starts a new generation and reassigns every partition of the group's subscribed topics at
// once with the group's strategy (RocketMQ style: no join barrier), so every partition of a
// subscribed topic is owned by exactly one member (clustering) or by every member subscribed to
// it (broadcasting).
//
// Fencing (SPEC §5.2 "commits are rejected from a stale generation"): for each partition the
// coordinator remembers its owner and the generation since which that owner has held it without
// interruption. A commit or fetch from member M carrying generation g is accepted for partition p
// iff M owns p now and has owned it continuously since a generation <= g. So a zombie whose
// partition moved is rejected, while a member that kept its partition across a rebalance is not
// interrupted. reset_offsets() breaks continuity on purpose.
//
// Time: membership expiry uses Clock::monotonic_ms(); expire() is called by a broker timer in
// production and directly by tests with a ManualClock.
//
// Threads: every method is thread-safe and non-blocking (one mutex, no I/O); the change listener
// runs after the lock is released, on the calling thread.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "broker/store/group_types.h"
#include "common/clock.h"
#include "common/status.h"
#include "common/thread_annotations.h"

namespace tidemq::broker {

inline constexpr int64_t kDefaultSessionTimeoutMs = 10'000;
inline constexpr int64_t kMinSessionTimeoutMs = 1'000;
inline constexpr int64_t kMaxSessionTimeoutMs = 300'000;
inline constexpr int64_t kDefaultHeartbeatIntervalMs = 3'000;

struct JoinRequest {
  std::string group;
  std::string member_id;   // empty: a new member (id "<client_id>-<random hex>-<counter>")
  std::string client_id;
  std::string remote;      // "ip:port", for consumerConnection
  uint64_t session_id = 0; // the connection; session_closed(session_id) makes the member leave
  std::vector<Subscription> subscriptions;
  int64_t session_timeout_ms = 0;  // 0: kDefaultSessionTimeoutMs; clamped to [min, max]
};

// A member's view after join / heartbeat.
struct MemberView {
  std::string member_id;
  uint32_t generation = 0;
  std::vector<TopicPartition> assignment;  // sorted
  int64_t session_timeout_ms = 0;
  int64_t heartbeat_interval_ms = kDefaultHeartbeatIntervalMs;  // min(3 s, session timeout / 3)
};

struct MemberDescription {
  std::string member_id;
  std::string client_id;
  std::string remote;
  std::vector<Subscription> subscriptions;
  std::vector<TopicPartition> assignment;
  int64_t last_heartbeat_age_ms = 0;
};

struct GroupDescription {
  uint32_t generation = 0;
  ConsumeMode mode = ConsumeMode::kClustering;
  std::vector<MemberDescription> members;  // by member id
  // Clustering: partition -> owner member id, for every owned partition. Broadcasting: empty
  // (every subscribed member owns every partition; see the members' assignments).
  std::map<TopicPartition, std::string> owners;
};

class GroupCoordinator {
 public:
  // Partition count of a topic, 0 if it does not exist. Called under the coordinator's lock:
  // must be cheap and must not call back into the coordinator.
  using PartitionCounter = std::function<uint32_t(const std::string& topic)>;
  // Strategy and mode of a group (its stored config, or the defaults). Same rules as above.
  using GroupSettings = std::function<std::pair<AssignStrategy, ConsumeMode>(const std::string& group)>;
  // Runs after a group's generation changed (outside the lock): the broker wakes that group's
  // waiting fetches so members learn the new assignment at once. Runs on the thread that caused
  // the change; two threads may report two generations of one group in either order.
  using ChangeListener = std::function<void(const std::string& group, uint32_t generation)>;

  GroupCoordinator(const Clock& clock, PartitionCounter partitions, GroupSettings settings);
  ~GroupCoordinator();

  void set_change_listener(ChangeListener listener);

  // Adds (or, with a known member_id, updates) a member and reassigns. A rejoin with unchanged
  // subscriptions is a heartbeat (no new generation). Errors: InvalidArgument (no group name or no
  // subscriptions), UnknownMember (member_id given but not known: join with an empty id).
  Result<MemberView> join(const JoinRequest& request);
  // Refreshes the member's session; returns the group's current generation and the member's
  // assignment. UnknownMember if it expired or left.
  Result<MemberView> heartbeat(const std::string& group, const std::string& member_id);
  // The member leaves (its partitions move now). UnknownMember if not a member.
  Status leave(const std::string& group, const std::string& member_id);
  // Every member joined through this connection leaves.
  void session_closed(uint64_t session_id);
  // Expires members whose last join/heartbeat/fetch is older than their session timeout;
  // returns how many expired.
  size_t expire();

  // Fencing (see above): Ok, UnknownMember, NotAssigned (not the owner now) or IllegalGeneration
  // (owner now, but not continuously since `generation`).
  Status check_owner(const std::string& group, const std::string& member_id, uint32_t generation,
                     const TopicPartition& tp) const;
  // A fetch counts as liveness, like a heartbeat. UnknownMember if not a member.
  Status touch(const std::string& group, const std::string& member_id);
  // The member's subscription expression for `topic` ("*" if it has none). UnknownMember.
  Result<std::string> expression(const std::string& group, const std::string& member_id,
                                 const std::string& topic) const;
  // The member's client id (broadcasting commits are stored per client). UnknownMember.
  Result<std::string> client_id(const std::string& group, const std::string& member_id) const;

  // Starts a new generation in which no partition of `topic` counts as continuously owned:
  // in-flight commits of the old owners are refused (an admin offset reset wins).
  void reset_offsets(const std::string& group, const std::string& topic);
  // A topic's partition count changed, or it was deleted, or a group's strategy/mode changed:
  // reassign the groups concerned (new generation only where the assignment changed).
  void topic_changed(const std::string& topic);
  void settings_changed(const std::string& group);

  // nullopt for a group that never had a member; members empty after the last one left.
  std::optional<GroupDescription> describe(const std::string& group) const;
  // Kept after the last member leaves, so generations of a group never repeat.
  uint32_t generation(const std::string& group) const;  // 0 for a group without members ever
  bool has_members(const std::string& group) const;
  std::vector<std::string> groups() const;  // groups with members now

 private:
  struct Group;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tidemq::broker
