#pragma once
// Client options: documented structs with defaults. Validated when a client is created.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tidemq/message.h"

namespace tidemq {

struct ClientOptions {
  std::string broker = "127.0.0.1:7911";  // host:port
  std::string client_id;                   // empty: "<hostname>-<pid>"
  std::chrono::milliseconds connect_timeout{3000};
  // A request without a response after this long fails with Timeout.
  // Kafka's request.timeout.ms default: long enough to ride out a storage stall of a few seconds.
  std::chrono::milliseconds request_timeout{30000};
};

// SPEC §5.1 partition selectors.
enum class SelectorKind {
  kRoundRobin,          // default
  kWeightedRoundRobin,  // smooth weighted round robin over ProducerOptions::weights
  kLeastLoaded,         // fewest unacknowledged requests
  kFastest,             // lowest EWMA of ack latency
  kHash,                // by message key: same key -> same partition (per-key order)
  kCustom,              // ProducerOptions::custom_selector
};

// What a selector may look at for each partition.
struct PartitionLoad {
  uint32_t partition = 0;
  uint32_t inflight = 0;          // unacknowledged requests
  double ewma_latency_us = 0.0;   // 0 until the first ack
};

// Returns the partition for `msg`, in [0, loads.size()).
using CustomSelector = std::function<uint32_t(const Message& msg, const std::vector<PartitionLoad>& loads)>;

struct ProducerOptions {
  ClientOptions client;
  std::string producer_group;  // optional (transactions use it)

  // Batching: a partition's batch is sent when it reaches max_batch_bytes or after linger.
  std::chrono::microseconds linger{2000};
  size_t max_batch_bytes = 256 * 1024;
  // At most this many produce requests unacknowledged on the connection; send_async blocks
  // (back-pressure) while the limit is reached.
  uint32_t max_inflight_requests = 64;
  // Bytes of accepted messages not yet sent (all partitions); send_async blocks beyond this.
  size_t max_buffered_bytes = 64 * 1024 * 1024;
  // A message not acknowledged within this time (all retries included) fails with Timeout.
  // Kafka's delivery.timeout.ms default; at least request_timeout so a timed-out attempt is retried.
  std::chrono::milliseconds delivery_timeout{120000};
  uint32_t retries = 10;  // attempts after the first, for retriable errors; ids are kept
  std::chrono::milliseconds retry_backoff{100};
  bool idempotent = true;

  SelectorKind selector = SelectorKind::kRoundRobin;
  std::vector<uint32_t> weights;  // kWeightedRoundRobin: one weight per partition
  CustomSelector custom_selector;  // kCustom
};

}  // namespace tidemq
