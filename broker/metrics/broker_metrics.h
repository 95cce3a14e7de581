#pragma once
// The broker's counters. Hot paths bump relaxed atomics; nothing formats strings there.
#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tidemq::broker {

struct BrokerMetrics {
  std::atomic<uint64_t> produce_requests{0};
  std::atomic<uint64_t> messages_in{0};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> duplicate_batches{0};
  std::atomic<uint64_t> fetch_requests{0};
  std::atomic<uint64_t> messages_out{0};  // records in fetch responses (batches may over-deliver)
  std::atomic<uint64_t> bytes_out{0};
  std::atomic<uint64_t> request_errors{0};
  std::atomic<uint64_t> protocol_errors{0};
  std::atomic<uint64_t> busy_rejections{0};      // produces answered SYSTEM_BUSY (waited too long)
  std::atomic<uint64_t> backpressure_pauses{0};  // times producer sockets stopped being read
  std::atomic<uint64_t> disk_full_rejections{0}; // writes refused below the disk low-water mark
  std::atomic<uint64_t> scheduled_messages{0};   // produced batches stored for later (deliver_at_ms)
  std::atomic<uint64_t> retries_scheduled{0};    // messages sent back for a retry
  std::atomic<uint64_t> dlq_messages{0};         // messages sent to a dead-letter queue
  std::atomic<uint64_t> retention_runs{0};       // retention passes finished (ok or not)

  // name -> value, for brokerStatus.
  std::vector<std::pair<std::string, uint64_t>> snapshot() const;
};

}  // namespace tidemq::broker
