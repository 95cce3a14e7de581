#pragma once
// Durable topic configs (keyspace kTopic) with an in-memory copy for lookups from any thread.
// Mutations write LevelDB synchronously: call them from a blocking-work thread, never from Asio.
// Lookups (find, find_by_id, list, partition_count) take a short mutex and may run anywhere.
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "broker/store/db.h"
#include "broker/store/types.h"
#include "common/clock.h"
#include "common/status.h"
#include "common/thread_annotations.h"

namespace tidemq::broker {

// Checks `[A-Za-z0-9_.%-]{1,127}`; names starting with '%' or "RMQ_SYS_" are reserved unless
// `allow_reserved`.
Status validate_topic_name(const std::string& name, bool allow_reserved = false);

class TopicRegistry {
 public:
  struct Change {
    TopicConfig config;
    bool created = false;  // false: existed (maybe updated)
  };

  TopicRegistry(Db& db, const Clock& clock);
  // Loads every topic from LevelDB.
  Status load();

  // Creates the topic, or updates an existing one: partitions may only grow (InvalidArgument
  // otherwise), retention may change. Same settings again is a no-op (created = false).
  // Validates the name (reserved names refused), partitions in 1..kMaxPartitions, retention_ms
  // > 0 or -1 (keep forever), retention_bytes > 0 or -1 (unlimited). `topic_id` and `created_ms`
  // of the argument are ignored: the registry assigns them. A new topic's config and the advanced
  // id counter are one synced WriteBatch; ids are never reused, also after remove().
  Result<Change> create_or_update(TopicConfig config);
  // Same, for the broker's own topics (%RETRY%group, %DLQ%group): `allow_reserved` = true lets
  // reserved names through.
  Result<Change> create_or_update(TopicConfig config, bool allow_reserved);
  // Removes the config. The caller (LogStore::drop_topic) deletes the data.
  // TopicNotFound if absent.
  Result<TopicConfig> remove(const std::string& name);

  std::optional<TopicConfig> find(const std::string& name) const;
  std::optional<TopicConfig> find_by_id(uint32_t topic_id) const;
  std::vector<TopicConfig> list() const;  // sorted by name
  // The partition count of a live topic (no string copies: the log writer asks per append).
  std::optional<uint32_t> partition_count(uint32_t topic_id) const;

 private:
  Db& db_;
  const Clock& clock_;
  // Mutations hold write_mu_ across their synced write; mu_ guards only the maps, so lookups
  // (also the log writer's, per append) never wait for an fsync.
  std::mutex write_mu_;
  mutable std::mutex mu_;
  std::map<std::string, TopicConfig> by_name_ GUARDED_BY(mu_);
  std::map<uint32_t, const TopicConfig*> by_id_ GUARDED_BY(mu_);  // points into by_name_
  uint32_t next_topic_id_ GUARDED_BY(mu_) = 1;
};

}  // namespace tidemq::broker
