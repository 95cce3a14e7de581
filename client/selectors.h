#pragma once
// Partition selectors (SPEC §5.1). A selector is stateful and not thread-safe: the producer calls
// it under its lock. `loads` has one entry per partition (loads[i].partition == i) and is never
// empty; the partition count may grow between calls.
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "tidemq/options.h"

namespace tidemq::client {

class PartitionSelector {
 public:
  virtual ~PartitionSelector() = default;
  // Returns a partition in [0, loads.size()).
  virtual uint32_t select(const Message& msg, const std::vector<PartitionLoad>& loads) = 0;
};

// Plain round robin.
class RoundRobinSelector final : public PartitionSelector {
 public:
  uint32_t select(const Message& msg, const std::vector<PartitionLoad>& loads) override;

 private:
  uint64_t next_ = 0;
};

// Smooth weighted round robin as nginx does it: every pick adds each weight to its partition's
// current value, picks the largest, and subtracts the total from the winner. Partitions beyond
// `weights` get weight 1; weight 0 is never picked (unless every weight is 0: plain round robin).
class WeightedRoundRobinSelector final : public PartitionSelector {
 public:
  explicit WeightedRoundRobinSelector(std::vector<uint32_t> weights) : weights_(std::move(weights)) {}
  uint32_t select(const Message& msg, const std::vector<PartitionLoad>& loads) override;

 private:
  std::vector<uint32_t> weights_;
  std::vector<int64_t> current_;
  RoundRobinSelector fallback_;
};

// Fewest unacknowledged requests; ties are broken round robin.
class LeastLoadedSelector final : public PartitionSelector {
 public:
  uint32_t select(const Message& msg, const std::vector<PartitionLoad>& loads) override;

 private:
  uint64_t cursor_ = 0;
};

// Lowest EWMA ack latency. Partitions without a sample yet are tried first (round robin), so
// every partition gets measured; ties are broken round robin.
class FastestSelector final : public PartitionSelector {
 public:
  uint32_t select(const Message& msg, const std::vector<PartitionLoad>& loads) override;

 private:
  uint64_t cursor_ = 0;
};

// FNV-1a 64 of the key, modulo the partition count: same key -> same partition while the count
// stays the same. Messages without a key go round robin.
class HashSelector final : public PartitionSelector {
 public:
  uint32_t select(const Message& msg, const std::vector<PartitionLoad>& loads) override;

 private:
  RoundRobinSelector fallback_;
};

// The user's callback; a result out of range is taken modulo the partition count.
class CustomCallbackSelector final : public PartitionSelector {
 public:
  explicit CustomCallbackSelector(CustomSelector fn) : fn_(std::move(fn)) {}
  uint32_t select(const Message& msg, const std::vector<PartitionLoad>& loads) override;

 private:
  CustomSelector fn_;
};

uint64_t fnv1a64(std::string_view data);

// Checks the selector settings of `options` (weights present, callback set).
Status validate_selector_options(const ProducerOptions& options);
// A new selector for one topic.
std::unique_ptr<PartitionSelector> make_selector(const ProducerOptions& options);

}  // namespace tidemq::client
