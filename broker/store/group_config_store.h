#pragma once
// Durable consumer-group configs (mqadmin updateSubGroup): strategy, mode, reset policy, rate
// limits. Key: kGroupConfig | group name; value: an encoding private to group_config_store.cc.
// Cached in memory.
//
// Threads: find/list any thread (in memory); upsert/remove block on LevelDB (not Asio threads).
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "broker/store/db.h"
#include "broker/store/group_types.h"
#include "common/clock.h"
#include "common/status.h"
#include "common/thread_annotations.h"

namespace tidemq::broker {

// `[A-Za-z0-9_.-]{1,127}` (no '%': reserved for the broker's own names; no '@': broadcasting
// offsets are stored under "group@client_id").
Status validate_group_name(const std::string& name);
// "latest" / "" -> latest, "earliest", "timestamp:<unix ms>"; InvalidArgument otherwise.
Result<ResetPolicy> parse_reset_policy(const std::string& text);
std::string format_reset_policy(const ResetPolicy& policy);

class GroupConfigStore {
 public:
  GroupConfigStore(Db& db, const Clock& clock);
  Status load();

  // Validates (name, rates >= 0, burst_ms in [1, 10000], topic names) and stores `config`
  // (flush mode). Returns true when the group was created (created_ms set now), false when an
  // existing config was replaced (created_ms kept).
  Result<bool> upsert(GroupConfig config);
  // GroupNotFound if absent.
  Status remove(const std::string& name);

  std::optional<GroupConfig> find(const std::string& name) const;
  // The stored config, or the defaults for `name` (a group may consume without a config).
  GroupConfig find_or_default(const std::string& name) const;
  std::vector<GroupConfig> list() const;  // by name

 private:
  Db& db_;
  const Clock& clock_;
  // Writers hold write_mu_ across their LevelDB write (created-vs-replaced is decided and written
  // atomically); mu_ guards only the map, so lookups never wait for an fsync.
  std::mutex write_mu_;
  mutable std::mutex mu_;
  std::map<std::string, GroupConfig> configs_ GUARDED_BY(mu_);
};

}  // namespace tidemq::broker
