#pragma once
// ProducerSession: what a producer connection's Hello gave it (SPEC §3, §4.3) — the snowflake
// generator for the worker id the broker leased, and the broker's size limits. A reconnect says
// Hello again and may lease another worker id; ids made after it use the new one. Shared by
// Producer and TransactionalProducer, which also share how their connection is opened.
//
// Threads: on_hello() runs on the connection's I/O thread (the session listener); the rest may be
// called from any thread.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "client/connection.h"
#include "common/clock.h"
#include "common/snowflake.h"
#include "common/status.h"
#include "common/thread_annotations.h"
#include "tidemq/options.h"

namespace tidemq::client {

class ProducerSession {
 public:
  // `clock` (ids' time bits) must outlive the session.
  explicit ProducerSession(const Clock& clock = Clock::system()) : clock_(clock) {}

  // Takes the Hello's limits and worker id. Returns false (and logs) when the broker leased no
  // valid worker id; the previous generator, if any, stays in use.
  bool on_hello(const HelloInfo& hello);

  // A new message id, greater than every id this session made under the same worker id.
  // Errors: Unavailable (no worker id leased yet), the generator's (clock went back too far).
  Result<uint64_t> next_id();

  // The broker's limits from the last Hello (defaults before the first one).
  uint32_t max_message_bytes() const { return max_message_bytes_.load(std::memory_order_relaxed); }
  uint32_t max_frame_bytes() const { return max_frame_bytes_.load(std::memory_order_relaxed); }

 private:
  const Clock& clock_;
  std::mutex mu_;
  SnowflakeGenerator* current_ GUARDED_BY(mu_) = nullptr;
  // Every generator made so far: another thread may still be inside next() of an old one.
  std::vector<std::unique_ptr<SnowflakeGenerator>> generators_ GUARDED_BY(mu_);
  std::atomic<uint32_t> max_message_bytes_{4u << 20};
  std::atomic<uint32_t> max_frame_bytes_{16u << 20};
};

// The connection settings of a producer: kind PRODUCER, the producer group (sent in every Hello,
// also after a reconnect), the client options.
ConnectionOptions producer_connection_options(const ProducerOptions& options);

// Connects `conn` (whose session listener feeds `session`) and checks that the broker leased a
// worker id. Errors: connect()'s, ProtocolError when no worker id was leased.
Status connect_producer(Connection& conn);

}  // namespace tidemq::client
