#pragma once
// The kinds of mqperf worker thread: one Producer connection, one PartitionReader connection,
// or one group Consumer (its own connection and membership). Each reports into its WorkerStats; neither decides when the run ends beyond its own
// quota / target (the mode runner sets the stop flags).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>

#include "perf/mqperf/options.h"
#include "perf/mqperf/stats.h"

namespace tidemq::perf {

struct ProducerPlan {
  uint32_t index = 0;
  uint64_t quota = 0;          // messages to send; 0 = until stop
  double rate = 0;             // this worker's messages per second; 0 = as fast as possible
  bool stamp_send_time = false;  // e2e: first 8 bytes of the body = steady_now_us() at send
};

// Sends with send_async until the quota is sent or `stop`, then flushes and closes. Latency is
// send->ack in µs, recorded on the producer's callback thread.
void run_producer(const PerfOptions& options, const ProducerPlan& plan, const std::atomic<bool>& stop,
                  StatsSet& stats);

struct ReaderPlan {
  uint32_t index = 0;
  std::map<uint32_t, uint64_t> start;  // partition -> first offset to read
  uint64_t target = 0;                 // stop when `received_total` reaches it; 0 = until stop
  bool e2e = false;  // latency = now - the send time in the body; else the poll round trip
};

// Polls its partitions until `stop` or the shared target is reached. When this reader's batch
// takes `received_total` to the target it stores the time in `target_reached_us`.
void run_reader(const PerfOptions& options, const ReaderPlan& plan, const std::atomic<bool>& stop,
                std::atomic<uint64_t>& received_total, std::atomic<int64_t>& target_reached_us, StatsSet& stats);

// A group consumer commits what it received this often (the broker's lag, which the consume
// timeline shows, trails the deliveries by about this much) and once more when it stops.
inline constexpr std::chrono::milliseconds kGroupCommitInterval{1000};

// One member of consumer group --group subscribed to --topic: polls until `stop` or the shared
// target is reached, then commits and leaves. Increments `joined` once, when it has joined the
// group (or has given up). plan.start is not used: the group decides where it reads.
void run_group_reader(const PerfOptions& options, const ReaderPlan& plan, const std::atomic<bool>& stop,
                      std::atomic<uint64_t>& received_total, std::atomic<int64_t>& target_reached_us,
                      std::atomic<uint32_t>& joined, StatsSet& stats);

}  // namespace tidemq::perf
