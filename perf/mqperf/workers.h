#pragma once
// The kinds of mqperf worker thread: one Producer connection, one PartitionReader connection,
// or one group Consumer (its own connection and membership). Each reports into its WorkerStats; neither decides when the run ends beyond its own
// quota / target (the mode runner sets the stop flags).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <vector>

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

// Group consumers count each (partition, offset) once: after a rebalance the new owner reads again
// from the last commit, and those redeliveries must not count towards --count (or the run would
// stop before every message was read and committed). Per partition: one past the highest offset
// counted; 0 = none yet. Within a partition one owner delivers in offset order, so a delivery
// counts iff it raises the mark.
class DistinctOffsets {
 public:
  explicit DistinctOffsets(uint32_t partitions) : marks_(partitions) {}
  // True if (partition, offset) was not counted before.
  bool add(uint32_t partition, uint64_t offset) {
    if (partition >= marks_.size()) return true;
    auto& mark = marks_[partition];
    uint64_t seen = mark.load(std::memory_order_relaxed);
    while (seen <= offset) {
      if (mark.compare_exchange_weak(seen, offset + 1, std::memory_order_relaxed)) return true;
    }
    return false;
  }

 private:
  std::vector<std::atomic<uint64_t>> marks_;
};

struct ReaderPlan {
  uint32_t index = 0;
  DistinctOffsets* distinct = nullptr;  // group consumers: count redeliveries once
  // Group consumers: each commits, counts itself here, and leaves only when all `members` have
  // committed (or after a few seconds): a member's leave moves partitions at once, and a member
  // whose partition moved can no longer commit it.
  std::atomic<uint32_t>* committed_members = nullptr;
  uint32_t members = 0;
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
