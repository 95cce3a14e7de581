#include "client/selectors.h"

#include <limits>

namespace tidemq::client {

uint32_t RoundRobinSelector::select(const Message&, const std::vector<PartitionLoad>& loads) {
  return static_cast<uint32_t>(next_++ % loads.size());
}

uint32_t WeightedRoundRobinSelector::select(const Message& msg, const std::vector<PartitionLoad>& loads) {
  const size_t n = loads.size();
  if (current_.size() != n) current_.resize(n, 0);
  int64_t total = 0;
  size_t best = n;
  for (size_t i = 0; i < n; ++i) {
    int64_t w = i < weights_.size() ? weights_[i] : 1;
    if (w == 0) continue;
    current_[i] += w;
    total += w;
    if (best == n || current_[i] > current_[best]) best = i;
  }
  if (best == n) return fallback_.select(msg, loads);  // every weight is 0
  current_[best] -= total;
  return static_cast<uint32_t>(best);
}

uint32_t LeastLoadedSelector::select(const Message&, const std::vector<PartitionLoad>& loads) {
  const size_t n = loads.size();
  size_t start = cursor_ % n;
  size_t best = start;
  for (size_t k = 1; k < n; ++k) {
    size_t i = (start + k) % n;
    if (loads[i].inflight < loads[best].inflight) best = i;
  }
  cursor_ = best + 1;
  return static_cast<uint32_t>(best);
}

uint32_t FastestSelector::select(const Message&, const std::vector<PartitionLoad>& loads) {
  const size_t n = loads.size();
  size_t start = cursor_ % n;
  size_t best = n;
  double best_latency = std::numeric_limits<double>::infinity();
  for (size_t k = 0; k < n; ++k) {
    size_t i = (start + k) % n;
    double latency = loads[i].ewma_latency_us;
    if (latency <= 0.0) {  // not measured yet: try it first
      best = i;
      break;
    }
    if (latency < best_latency) {
      best_latency = latency;
      best = i;
    }
  }
  cursor_ = best + 1;
  return static_cast<uint32_t>(best);
}

uint64_t fnv1a64(std::string_view data) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

uint32_t HashSelector::select(const Message& msg, const std::vector<PartitionLoad>& loads) {
  if (msg.key.empty()) return fallback_.select(msg, loads);
  return static_cast<uint32_t>(fnv1a64(msg.key) % loads.size());
}

uint32_t CustomCallbackSelector::select(const Message& msg, const std::vector<PartitionLoad>& loads) {
  return static_cast<uint32_t>(fn_(msg, loads) % loads.size());
}

Status validate_selector_options(const ProducerOptions& options) {
  switch (options.selector) {
    case SelectorKind::kWeightedRoundRobin:
      if (options.weights.empty()) {
        return Status::invalid_argument("weighted_round_robin needs ProducerOptions::weights");
      }
      return Status::ok();
    case SelectorKind::kCustom:
      if (!options.custom_selector) {
        return Status::invalid_argument("custom selector needs ProducerOptions::custom_selector");
      }
      return Status::ok();
    case SelectorKind::kRoundRobin:
    case SelectorKind::kLeastLoaded:
    case SelectorKind::kFastest:
    case SelectorKind::kHash:
      return Status::ok();
  }
  return Status::invalid_argument("unknown selector kind");
}

std::unique_ptr<PartitionSelector> make_selector(const ProducerOptions& options) {
  switch (options.selector) {
    case SelectorKind::kRoundRobin: return std::make_unique<RoundRobinSelector>();
    case SelectorKind::kWeightedRoundRobin:
      return std::make_unique<WeightedRoundRobinSelector>(options.weights);
    case SelectorKind::kLeastLoaded: return std::make_unique<LeastLoadedSelector>();
    case SelectorKind::kFastest: return std::make_unique<FastestSelector>();
    case SelectorKind::kHash: return std::make_unique<HashSelector>();
    case SelectorKind::kCustom: return std::make_unique<CustomCallbackSelector>(options.custom_selector);
  }
  return std::make_unique<RoundRobinSelector>();
}

}  // namespace tidemq::client
