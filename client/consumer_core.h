#pragma once
// ConsumerCore: what Consumer and PushConsumer share — one Connection, the GroupMembership on
// it, the OwnedPartitions bookkeeping, group fetches and commits.
//
// One "driving" thread (the poll thread, or the push consumer's fetch thread) calls sync(),
// establish_positions(), send_fetches() and wait_and_take() in a loop. Fetches are asynchronous
// (several long polls may be in flight: one per topic at the adopted generation, each partition in
// at most one); their answers are queued by the I/O thread and validated by the driving thread:
// an answer is used only if the partition still has the incarnation it was fetched under and the
// answer's generation equals the generation the member has adopted — otherwise its records are
// dropped (they are fetched again), and a newer generation triggers a heartbeat. So records
// fetched under an ownership the member has since lost are not delivered.
//
// Threads: the driving-thread methods are marked; the others may be called from any thread.
// Commit callbacks run on the connection's I/O thread.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "client/connection.h"
#include "client/group_membership.h"
#include "client/group_requests.h"
#include "client/owned_partitions.h"
#include "client/retry_requests.h"
#include "common/status.h"
#include "common/thread_annotations.h"
#include "tidemq/consumer.h"

namespace tidemq::client {

// Accepted fetch results of one partition; the partition's position is already past them.
struct PartitionBatch {
  TopicPartition tp;
  uint64_t incarnation = 0;
  std::vector<Message> messages;  // in offset order (may be empty when only next_offset moved)
  uint64_t next_offset = 0;
};

// Outcome of one commit: the first per-partition error (Ok if none) and what the broker stored.
struct CommitOutcome {
  Status status;
  std::vector<CommittedOffset> stored;
};

class ConsumerCore {
 public:
  using CommitDone = std::function<void(CommitOutcome)>;

  // Validates `options` (group, intervals, broker address) and creates the connection (not
  // connected yet) and the membership. Errors: InvalidArgument.
  static Result<std::unique_ptr<ConsumerCore>> create(ConsumerOptions options);
  ~ConsumerCore();  // close()
  ConsumerCore(const ConsumerCore&) = delete;
  ConsumerCore& operator=(const ConsumerCore&) = delete;

  const ConsumerOptions& options() const { return options_; }
  // Subscribes `topic`; the first subscription also subscribes %RETRY%<group> with "*" (where
  // the group's sent-back messages come back; the broker creates it on the join), unless the
  // application subscribes that topic itself first.
  Status subscribe(const std::string& topic, const std::string& expression);
  bool has_subscriptions() const { return membership_->has_subscriptions(); }
  void request_join() { membership_->request_join(); }
  Status wait_joined(std::chrono::steady_clock::time_point deadline) { return membership_->wait_joined(deadline); }
  bool joined() const { return membership_->joined(); }

  // ---- driving thread ----
  // Adopts the latest membership (if it changed): what was revoked and assigned.
  OwnedPartitions::Change sync();
  // One FetchOffsets for the owned partitions that need a start position (blocks for it).
  void establish_positions();
  // Sends fetches for every fetchable partition that is not `paused` (may be empty).
  void send_fetches(std::chrono::milliseconds max_wait, const std::function<bool(const TopicPartition&)>& paused);
  // Waits until fetch answers arrived, the membership changed, wake() was called, a backoff
  // ended, or `deadline`; returns the accepted batches. Returns early, leaving answers queued,
  // when the membership changed (call sync() first).
  std::vector<PartitionBatch> wait_and_take(std::chrono::steady_clock::time_point deadline);
  // Incarnation and position of an owned partition (nullopt if not owned or no position).
  std::optional<std::pair<uint64_t, uint64_t>> position(const TopicPartition& tp) const;
  std::vector<CommitItem> uncommitted_positions() const;

  // ---- any thread ----
  void wake();
  // Commits `offsets` (left out: partitions not owned now, or whose position incarnation is no
  // longer the given one; incarnation 0 = any), one request per since-generation; `done` runs
  // once, on the I/O thread (or inline when there is nothing to send or after close).
  void commit(const std::vector<CommitItem>& offsets, CommitDone done);
  std::vector<TopicPartition> assignment() const;
  std::vector<CommittedOffset> committed() const;
  std::string member_id() const;
  uint32_t generation() const;
  // SendBack of a consumed message for this group (blocks up to request_timeout; any thread but
  // the I/O thread). Errors: as client::send_back; ShuttingDown after close().
  Result<SendBackAnswer> send_back(const Message& m, bool to_dlq);

  // Sends LeaveGroup (if a member), closes the connection (failing what is in flight with
  // ShuttingDown) and stops the heartbeat thread. Idempotent.
  void close();

 private:
  struct Arrival {
    FetchPlan plan;
    std::string member_id;
    Result<Frame> frame;
  };

  explicit ConsumerCore(ConsumerOptions options, std::unique_ptr<Connection> conn);
  int64_t now_ms() const;
  void on_membership_change();

  const ConsumerOptions options_;
  std::unique_ptr<Connection> conn_;
  std::unique_ptr<GroupMembership> membership_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  OwnedPartitions owned_ GUARDED_BY(mu_);
  std::deque<Arrival> arrived_ GUARDED_BY(mu_);
  bool woken_ GUARDED_BY(mu_) = false;
  bool membership_changed_ GUARDED_BY(mu_) = true;
  bool closed_ GUARDED_BY(mu_) = false;
  bool retry_subscribed_ GUARDED_BY(mu_) = false;
  std::once_flag close_once_;
};

}  // namespace tidemq::client
