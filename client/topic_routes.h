#pragma once
// Where a producer's messages go: per topic, the partition count learned from the broker
// (TopicStatus, cached, asked again once marked stale), the partition selector (SPEC §5.1) and
// the per-partition load it looks at. Shared by Producer and TransactionalProducer.
//
// Not thread-safe: the owner guards its routes with its own lock (selectors run under it).
#include <concepts>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "client/connection.h"
#include "client/selectors.h"
#include "client/topic_metadata.h"
#include "common/status.h"
#include "tidemq/options.h"

namespace tidemq::client {

struct TopicRoute {
  std::string name;
  std::vector<PartitionLoad> loads;  // one per known partition; loads[i].partition == i
  std::unique_ptr<PartitionSelector> selector;
  bool stale = false;  // ask the broker for the partition count before the next pick

  uint32_t partition_count() const { return static_cast<uint32_t>(loads.size()); }
  // Grows to `n` partitions (a topic never shrinks).
  void grow(uint32_t n);
  // `msg.partition` when it is set (InvalidPartition, and the route marked stale, when it is
  // beyond the known count), else the selector's choice.
  Result<uint32_t> pick(const Message& msg);
  // An acknowledgement of `partition` after `us` microseconds: feeds the EWMA `fastest` uses.
  void record_ack_latency(uint32_t partition, double us);
  // After an answer naming the topic or partition unknown: refresh before the next pick.
  void note_failure(const Status& st);
};

// The route of `topic` in `routes`, asking the broker for its partition count (with `lock`
// released meanwhile) when it is unknown or stale. A failed refresh keeps a known route usable
// unless the broker says the topic is gone. Errors: TopicNotFound, Timeout, Unavailable.
template <typename Route>
  requires std::derived_from<Route, TopicRoute>
Result<Route*> find_route(std::unordered_map<std::string, std::unique_ptr<Route>>& routes,
                          std::unique_lock<std::mutex>& lock, Connection& conn, const ProducerOptions& options,
                          const std::string& topic) {
  auto it = routes.find(topic);
  if (it != routes.end() && !it->second->stale) return it->second.get();
  const bool known = it != routes.end();
  lock.unlock();
  auto status = request_topic_status(conn, topic);
  lock.lock();
  if (!status.is_ok()) {
    if (known && status.status().code() != StatusCode::kTopicNotFound) return routes.find(topic)->second.get();
    return status.status();
  }
  auto& slot = routes[topic];
  if (!slot) {
    slot = std::make_unique<Route>();
    slot->name = topic;
    slot->selector = make_selector(options);
  }
  slot->stale = false;
  slot->grow(status->settings.partitions);
  return slot.get();
}

}  // namespace tidemq::client
