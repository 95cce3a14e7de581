#pragma once
// Producer: sends messages to a topic, batched per partition, idempotent by default.
//
// Thread-safety: every method may be called from any thread. Callbacks of send_async run on the
// producer's callback thread (never the I/O thread); they must not block for long.
#include <chrono>
#include <functional>
#include <memory>

#include "common/status.h"
#include "tidemq/message.h"
#include "tidemq/options.h"

namespace tidemq {

class Producer {
 public:
  using SendCallback = std::function<void(const Result<SendResult>&)>;

  // Connects, says Hello (leasing a snowflake worker id) and returns a ready producer.
  // Errors: Unavailable (cannot connect), InvalidArgument (bad options).
  static Result<std::unique_ptr<Producer>> create(ProducerOptions options);
  ~Producer();  // flushes up to delivery_timeout, then closes

  // Sends one message and waits for its acknowledgement. On success the message is durable per
  // the broker's flush mode. Errors: TopicNotFound, InvalidPartition, MessageTooLarge,
  // Timeout (after retries), StorageError, Unavailable, ShuttingDown.
  Result<SendResult> send(Message msg);

  // Queues a message; `cb` gets the outcome. Blocks while the buffer or in-flight limit is full.
  void send_async(Message msg, SendCallback cb);

  // Sends everything queued and waits until all of it is acknowledged or failed.
  Status flush(std::chrono::milliseconds timeout = std::chrono::milliseconds(30000));

  // Flushes, then stops. Later sends fail with ShuttingDown. Idempotent.
  void close();

  // Partition count of `topic` as last learned from the broker. TopicNotFound if unknown.
  Result<uint32_t> partition_count(const std::string& topic);

 private:
  struct Impl;
  explicit Producer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tidemq
