#pragma once
// Durable topic configs (keyspace kTopic) with an in-memory copy for lookups from any thread.
// Mutations write LevelDB synchronously: call them from a blocking-work thread, never from Asio.
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
  Result<Change> create_or_update(TopicConfig config);
  // Removes the config. The caller (LogStore::drop_topic) deletes the data.
  Result<TopicConfig> remove(const std::string& name);

  std::optional<TopicConfig> find(const std::string& name) const;
  std::optional<TopicConfig> find_by_id(uint32_t topic_id) const;
  std::vector<TopicConfig> list() const;

 private:
  Db& db_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, TopicConfig> by_name_ GUARDED_BY(mu_);
  uint32_t next_topic_id_ GUARDED_BY(mu_) = 1;
};

}  // namespace tidemq::broker
