#pragma once
// PushConsumer: a consumer-group member that fetches on its own and calls a listener for every
// message on a thread pool (RocketMQ's DefaultMQPushConsumer), SPEC §5.2.
//
//   auto c = PushConsumer::create(opts, [](const Message& m) {
//     return handle(m) ? ConsumeStatus::kSuccess : ConsumeStatus::kReconsumeLater;
//   });
//   (*c)->subscribe("orders", "TagA || TagB");
//   (*c)->start();
//   ...
//   (*c)->shutdown();
//
// Delivery is at-least-once: a message whose offset was not committed yet may be delivered again
// after a rebalance, a crash or a broker restart; a committed offset is never delivered again to
// the group.
//
// Commits: a partition's committed offset is the lowest offset fetched and not yet consumed
// successfully (RocketMQ's ProcessQueue rule), or the fetch position when nothing is pending; it
// is committed every `consumer.auto_commit_interval` and at shutdown, so a crash never skips an
// unconsumed message (messages consumed above a pending one are delivered again instead).
//
// Retries (SPEC §7): subscribing also subscribes the group's retry topic %RETRY%<group> ("*").
// A message that comes back through it reaches the listener with `topic` = the topic it was
// produced to, `read_topic` = the retry topic and reconsume_times = how often it was sent back.
//
// Modes:
// - concurrent (default): messages of a partition may be processed in parallel on the pool.
//   kReconsumeLater: the listener thread sends the message back to the broker (SendBack, as
//   Consumer::send_back; it blocks that thread up to request_timeout). The broker delivers it
//   again through %RETRY%<group> after the next delay of the group's retry policy, or moves it to
//   %DLQ%<group> after the group's max_reconsume_times; here it counts as consumed (its offset
//   may be committed; stats().sent_back). If the send-back fails (broker error, timeout), the
//   message is delivered again in place after `reconsume_delay` with reconsume_times + 1 while the
//   partition's other messages move on, and the committed offset stays below it (RocketMQ does
//   the same); each failed redelivery tries the send-back again. If the send-backs of
//   max_reconsume_in_place redeliveries in place all failed too, the message is given up: logged
//   at error level and counted as consumed (stats().given_up).
// - ordered: a partition is processed by at most one thread at a time, in offset order.
//   kReconsumeLater suspends the partition for `reconsume_delay` and then retries the same
//   message in place (RocketMQ's SUSPEND_CURRENT_QUEUE_A_MOMENT). After the delivery following
//   max_reconsume_in_place failed redeliveries also fails, the message is sent back with
//   `to_dlq` (straight to %DLQ%<group>; stats().dead_lettered) and the partition moves on; if
//   that fails, it keeps being retried in place (and each failure tries the DLQ again). Nothing
//   is given up in ordered mode.
// A listener that throws counts as kReconsumeLater.
//
// Flow control: a partition is not fetched while its buffered (fetched, not yet consumed)
// messages reach max_buffered_messages_per_partition or max_buffered_bytes_per_partition (body
// bytes). A fetch may overshoot by one response (at most consumer.max_fetch_bytes).
//
// Rebalances: when the member learns that a partition was revoked, its buffered messages are
// dropped, listeners already running on them finish, and no commit for it is attempted any more.
//
// Threads: a fetch thread (fetches, flow control, commits), `consume_threads` listener threads,
// a heartbeat thread and the connection's I/O thread. The listener runs on the pool threads.
// Methods may be called from any thread, but not from inside the listener (shutdown() would wait
// for itself).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "tidemq/consumer.h"
#include "tidemq/message.h"

namespace tidemq {

enum class ConsumeStatus { kSuccess, kReconsumeLater };

using MessageListener = std::function<ConsumeStatus(const Message&)>;

struct PushConsumerOptions {
  ConsumerOptions consumer;
  uint32_t consume_threads = 4;
  bool ordered = false;
  uint32_t max_buffered_messages_per_partition = 1000;
  size_t max_buffered_bytes_per_partition = 100u << 20;
  // Delay of an in-place redelivery (ordered mode; concurrent mode when the send-back failed).
  std::chrono::milliseconds reconsume_delay{1000};
  // In-place redeliveries after the first delivery: ordered mode then sends the message to the
  // DLQ; concurrent mode, whose send-backs all failed, gives it up. 0: neither, ever.
  uint32_t max_reconsume_in_place = 16;
};

struct PushConsumerStats {
  uint64_t buffered_messages = 0;  // fetched and not yet consumed, owned partitions (flow control)
  uint64_t buffered_bytes = 0;     // their body bytes
  uint64_t consumed = 0;           // listener calls that returned kSuccess
  uint64_t reconsume_later = 0;    // listener calls that returned kReconsumeLater (or threw)
  uint64_t given_up = 0;           // concurrent: given up after max_reconsume_in_place failed send-backs
  uint64_t sent_back = 0;          // SendBacks the broker accepted (to %RETRY% or %DLQ%): counted as consumed
  uint64_t dead_lettered = 0;      // ordered: of those, sent to %DLQ% after max_reconsume_in_place
  uint64_t send_back_failed = 0;   // SendBacks that failed (then redelivered in place)
};

class PushConsumer {
 public:
  // Validates the options and starts the connection; fetching starts with start().
  // Errors: InvalidArgument (no group, no listener, zero threads or limits, auto_commit false).
  static Result<std::unique_ptr<PushConsumer>> create(PushConsumerOptions options, MessageListener listener);
  ~PushConsumer();  // shutdown()

  // As Consumer::subscribe; may be called before or after start().
  Status subscribe(const std::string& topic, const std::string& expression = "*");

  // Starts the threads; the member joins in the background (join failures are retried and logged).
  // Errors: InvalidArgument (nothing subscribed), ShuttingDown after shutdown(), or already started.
  Status start();

  // Stops fetching, drops what is buffered, waits for running listeners, commits what they
  // finished, leaves the group and closes. Returns the final commit's first error. Idempotent.
  Status shutdown();

  // Partitions owned now, sorted.
  std::vector<TopicPartition> assignment() const;
  // Counters since create(); buffered_* as of now.
  PushConsumerStats stats() const;

 private:
  struct Impl;
  explicit PushConsumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tidemq
