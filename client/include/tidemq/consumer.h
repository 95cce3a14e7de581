#pragma once
// Consumer: a poll-style member of a consumer group (SPEC §5.2), shaped like Kafka's consumer.
//
//   auto c = Consumer::create({.client = {.broker = "127.0.0.1:7911"}, .group = "billing"});
//   (*c)->subscribe("orders");
//   for (;;) {
//     auto msgs = (*c)->poll(std::chrono::seconds(1));   // joins the group on first use
//     for (const Message& m : *msgs) handle(m);
//   }                                                    // auto-commit every 5 s inside poll()
//
// Delivery is at-least-once: messages returned by poll() whose offsets were not committed yet may
// be returned again (to this or another member) after a rebalance, a crash or a broker restart;
// an offset the broker acknowledged as committed is never delivered again to the group.
//
// Thread-safety: like Kafka's consumer, a Consumer is used by one thread at a time (the "poll
// thread"). Rebalance callbacks and commit_async callbacks run on that thread, inside poll(),
// commit_sync() or close(). Heartbeats run on a background thread of the consumer, so a slow
// poller does not lose its membership.
#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "tidemq/message.h"
#include "tidemq/options.h"

namespace tidemq {

struct TopicPartition {
  std::string topic;
  uint32_t partition = 0;
  friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
  friend bool operator==(const TopicPartition&, const TopicPartition&) = default;
};

// A partition's committed offset: the next offset the group will read.
struct CommittedOffset {
  TopicPartition partition;
  uint64_t offset = 0;
};

struct ConsumerOptions {
  ClientOptions client;
  std::string group;  // required
  // The broker expires a member that sent no heartbeat (or fetch) for this long; it clamps the
  // value to [1 s, 5 min]. Heartbeats go every heartbeat interval the broker answers (3 s).
  std::chrono::milliseconds session_timeout{10000};
  // Consumer: commit the positions of what poll() returned, every auto_commit_interval, from
  // inside poll() (asynchronously), and once more in close(). PushConsumer: must stay true (the
  // push consumer commits on its own, see push_consumer.h).
  bool auto_commit = true;
  std::chrono::milliseconds auto_commit_interval{5000};
  // Bytes fetched per partition per request (the broker returns at least one whole batch).
  uint32_t max_fetch_bytes = 1u << 20;
  // Cap on one long-poll fetch (the broker clamps to 20 s). poll(timeout) waits at most `timeout`.
  std::chrono::milliseconds max_poll_wait{5000};
};

class Consumer {
 public:
  using PartitionsCallback = std::function<void(const std::vector<TopicPartition>&)>;
  using CommitCallback = std::function<void(Status)>;

  // Validates the options and starts the connection; does not join yet (poll() does).
  // Errors: InvalidArgument (no group, bad broker address, zero intervals).
  static Result<std::unique_ptr<Consumer>> create(ConsumerOptions options);
  ~Consumer();  // close()

  // Adds a topic (or changes its expression): "*" for every message, or "TagA || TagB". May be
  // called again for more topics; once joined, the member rejoins with the new subscriptions.
  // The first call also subscribes the group's retry topic %RETRY%<group> with "*" (SPEC §7;
  // RocketMQ does the same), so messages given back with send_back() come back to the group.
  // Errors: InvalidArgument (empty topic), ShuttingDown after close().
  Status subscribe(const std::string& topic, const std::string& expression = "*");

  // Returns the next messages of the partitions this member owns, in offset order per partition
  // (no order across partitions), or an empty vector when nothing arrived within `timeout`.
  // A message read from %RETRY%<group> has `topic` = the topic it was first produced to (its
  // ORIGIN_TOPIC property) and `read_topic` = "%RETRY%<group>"; `partition` and `offset` are those
  // of the retry topic, which is also what commits use.
  // Joins the group on first use (waiting within `timeout`); adopts rebalances (calling the
  // rebalance listener first); runs due auto-commits and finished commit_async callbacks.
  // Broker outages are ridden out (empty results, retried in the background); while the broker
  // is unreachable or slow, a call may take up to connect_timeout / request_timeout past `timeout`
  // (it asks for new partitions' start offsets synchronously).
  // Errors: InvalidArgument (nothing subscribed, or the broker refused the subscription),
  // ShuttingDown after close().
  Result<std::vector<Message>> poll(std::chrono::milliseconds timeout);

  // Commits, for every owned partition, the position after the last message poll() returned
  // (or where it starts, when poll() returned nothing of it yet), and waits for the answer.
  // Returns Ok when every partition was stored, else the first per-partition error:
  // IllegalGeneration / NotAssigned when the commit was fenced (the partition moved to another
  // member), or Unavailable / Timeout. Failed commits are reported, not retried.
  Status commit_sync();
  // The same without waiting; `done` runs on the poll thread inside a later poll(),
  // commit_sync() or close().
  void commit_async(CommitCallback done = {});

  // Gives a message poll() returned back to the group (SPEC §7, RocketMQ's sendMessageBack): the
  // broker stores a copy with reconsume_times + 1, delivered again through %RETRY%<group> after
  // the next delay of the group's retry policy, or appended to %DLQ%<group> once the group's
  // max_reconsume_times is used up. `m` must be as poll() returned it (its id, reconsume_times,
  // properties and read_topic are what the broker needs). The message still counts as consumed
  // here: its offset is committed like any other. Blocks for the answer (request_timeout).
  // Errors: InvalidArgument, TopicNotFound (refused by the broker), Timeout, Unavailable,
  // ShuttingDown after close().
  Status send_back(const Message& m);

  // Partitions owned now (as of the last poll()), sorted.
  std::vector<TopicPartition> assignment() const;
  // The committed offsets this member knows for its owned partitions: the last commit the broker
  // acknowledged, or the committed offset read when the partition was assigned.
  std::vector<CommittedOffset> committed() const;
  // The member id and generation of the last poll() (empty / 0 before joining).
  std::string member_id() const;
  uint32_t generation() const;

  // Called on the poll thread inside poll(), revoked first. The broker moves partitions without
  // waiting for the old owner (no join barrier): by the time `on_revoked` runs, a commit for
  // those partitions would be refused, so there is nothing left to commit for them.
  void set_rebalance_listener(PartitionsCallback on_revoked, PartitionsCallback on_assigned);

  // Commits (commit_sync) if auto_commit, leaves the group and closes the connection; runs
  // pending commit callbacks. Returns the final commit's outcome. Idempotent.
  Status close();

 private:
  struct Impl;
  explicit Consumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tidemq
