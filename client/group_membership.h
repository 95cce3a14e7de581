#pragma once
// GroupMembership: one member of a consumer group on one Connection — JoinGroup, a heartbeat
// thread, rejoins, LeaveGroup — and the latest assignment as a snapshot for the consumer thread.
//
// - The heartbeat thread joins when asked (request_join) and whenever the membership is lost:
//   UNKNOWN_MEMBER from a heartbeat or a fetch (rejoin), or a new TCP session (the broker drops
//   a connection's members when it closes). Joins that fail are retried every second, except
//   when the broker refused the subscriptions (e.g. a bad expression): then only after the next
//   subscribe().
// - Heartbeats go every heartbeat interval the broker answered (3 s by default), or at once on
//   heartbeat_now() (a fetch saw a newer generation or was refused). Each answer carries the
//   current generation and this member's assignment; a change bumps the snapshot's version and
//   calls the change listener.
// - Slow consumer threads never delay heartbeats: they only read snapshots.
//
// Threads: public methods from any thread except the connection's I/O thread (except
// on_new_session, which is meant for it). The change listener runs on the heartbeat thread or the
// caller of leave(); it must not block.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client/connection.h"
#include "client/group_requests.h"
#include "common/status.h"
#include "common/thread_annotations.h"

namespace tidemq::client {

struct MembershipSnapshot {
  std::string member_id;  // empty: not a member now
  uint32_t generation = 0;
  std::vector<TopicPartition> partitions;  // sorted
  // Per owned partition: the generation since which this member has seen itself own it without
  // a gap — every answer from then on was the next generation (or the same) and listed it. When
  // an answer skips generations, nothing is known about the skipped ones: the partitions restart
  // at the new generation.
  std::map<TopicPartition, uint32_t> since;
  // Bumped by every join under a new member id (first join, or after the membership was lost):
  // a broker restarted with no memory of us may hand out the same id again, but nothing from the
  // earlier membership is to be trusted.
  uint64_t epoch = 0;
  uint64_t version = 0;  // changes whenever member_id, epoch, generation or partitions change
};

// The `since` map of the snapshot that follows `prev` when the broker answers `next` (see
// MembershipSnapshot::since).
std::map<TopicPartition, uint32_t> continued_since(const MembershipSnapshot& prev, const MemberAssignment& next);

class GroupMembership {
 public:
  using ChangeListener = std::function<void()>;

  GroupMembership(Connection& conn, std::string group, std::chrono::milliseconds session_timeout,
                  ChangeListener on_change);
  ~GroupMembership();  // stop()
  GroupMembership(const GroupMembership&) = delete;
  GroupMembership& operator=(const GroupMembership&) = delete;

  // Adds or replaces a topic's subscription; a member rejoins with the new set. InvalidArgument
  // for an empty topic.
  Status subscribe(const std::string& topic, const std::string& expression);
  bool has_subscriptions() const;

  // Starts the heartbeat thread (once) and asks it to join.
  void request_join();
  // Waits until the member has joined, the last join failed with a non-retriable error (returned),
  // or `deadline`. Ok when joined; Ok with !joined() on timeout / retriable failures.
  Status wait_joined(std::chrono::steady_clock::time_point deadline);
  bool joined() const;

  MembershipSnapshot snapshot() const;
  // Sends a heartbeat now (learning the current generation and assignment).
  void heartbeat_now();
  // The broker answered UNKNOWN_MEMBER for `member_id`: join again under a new id.
  void member_unknown(const std::string& member_id);
  // Session listener hook: a new TCP session means the broker dropped our membership.
  void on_new_session(uint64_t session);

  // Stops heartbeating and joining, and sends LeaveGroup (waiting at most `timeout`) if a member.
  // Idempotent. The snapshot becomes "not a member".
  Status leave(std::chrono::milliseconds timeout);
  // Stops and joins the heartbeat thread. A heartbeat or join in flight holds it until its answer
  // or its timeout: close the connection first to cut that short. Idempotent.
  void stop();

 private:
  void run();
  void do_join(std::unique_lock<std::mutex>& lock) REQUIRES(mu_);
  void do_heartbeat(std::unique_lock<std::mutex>& lock) REQUIRES(mu_);
  // Adopts an answer; returns true if the snapshot changed.
  bool adopt(const MemberAssignment& a) REQUIRES(mu_);
  void lose_membership() REQUIRES(mu_);
  void notify_change();

  Connection& conn_;
  const std::string group_;
  const std::chrono::milliseconds session_timeout_;
  const ChangeListener on_change_;

  mutable std::mutex mu_;
  std::condition_variable cv_;         // wakes the heartbeat thread
  std::condition_variable joined_cv_;  // wakes wait_joined()
  std::vector<GroupSubscription> subscriptions_ GUARDED_BY(mu_);
  MembershipSnapshot snap_ GUARDED_BY(mu_);
  bool want_member_ GUARDED_BY(mu_) = false;
  bool rejoin_ GUARDED_BY(mu_) = false;  // join again with the current member id
  bool join_refused_ GUARDED_BY(mu_) = false;  // non-retriable join error: wait for subscribe()
  bool heartbeat_now_ GUARDED_BY(mu_) = false;
  bool stop_ GUARDED_BY(mu_) = false;
  bool started_ GUARDED_BY(mu_) = false;
  bool left_ GUARDED_BY(mu_) = false;
  uint64_t joined_session_ GUARDED_BY(mu_) = 0;
  std::chrono::milliseconds heartbeat_interval_ GUARDED_BY(mu_){3000};
  std::chrono::steady_clock::time_point next_heartbeat_ GUARDED_BY(mu_){};
  std::chrono::steady_clock::time_point next_join_ GUARDED_BY(mu_){};
  Status last_join_error_ GUARDED_BY(mu_);
  uint64_t join_attempts_ GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace tidemq::client
