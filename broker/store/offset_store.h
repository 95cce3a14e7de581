#pragma once
// Committed consumer-group offsets (SPEC §5.2), durable in LevelDB with the broker's flush mode
// and cached in memory. Key: kOffset | group | topic_id | partition (broker/store/key_layout.h).
// Keyed by topic id, so a deleted and re-created topic starts without old offsets.
//
// Threads: reads (get/list) are in-memory and may run on any thread; writes block on LevelDB
// (fsync in sync mode) and must not run on an Asio thread.
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "broker/store/db.h"
#include "common/clock.h"
#include "common/status.h"
#include "common/thread_annotations.h"

namespace tidemq::broker {

struct CommittedOffset {
  uint64_t offset = 0;     // the next offset to read
  int64_t commit_ms = 0;   // wall clock of the commit
};

struct OffsetUpdate {
  uint32_t topic_id = 0;
  uint32_t partition = 0;
  uint64_t offset = 0;
};

class OffsetStore {
 public:
  OffsetStore(Db& db, const Clock& clock);

  // Loads every committed offset into memory.
  Status load();

  // Member commits: one WriteBatch for all updates (flush mode). An update below the stored
  // offset is skipped (committed offsets never go backwards). Returns the offset stored after the
  // call for each update, in order. StorageError (sticky) on a failed write: nothing changes.
  // `admit(i)`, if given, is asked for each update before anything is written, inside the section
  // get_settled() waits for: an update it refuses is skipped (its answer is the offset stored now,
  // 0 if none). The group handler checks partition ownership there, so a commit admitted before
  // a rebalance is visible to a new owner's get_settled() after it.
  Result<std::vector<uint64_t>> commit(const std::string& group, const std::vector<OffsetUpdate>& updates,
                                       const std::function<bool(size_t)>& admit = {});
  // Admin reset: sets the offsets as given, also backwards. One WriteBatch.
  Status reset(const std::string& group, const std::vector<OffsetUpdate>& updates);

  std::optional<CommittedOffset> get(const std::string& group, uint32_t topic_id, uint32_t partition) const;
  // get() after the commit in progress, if any, has finished: what a member starting on a
  // partition reads. Blocks for an fsync: never on an Asio thread.
  std::optional<CommittedOffset> get_settled(const std::string& group, uint32_t topic_id, uint32_t partition) const;
  // Every committed offset of a group: (topic_id, partition) -> offset.
  std::map<std::pair<uint32_t, uint32_t>, CommittedOffset> list(const std::string& group) const;
  // Groups that have committed offsets (sorted).
  std::vector<std::string> groups() const;

  // Deletes a group's offsets / every group's offsets of a topic. One WriteBatch each.
  Status remove_group(const std::string& group);
  Status remove_topic(uint32_t topic_id);

 private:
  using Key = std::tuple<std::string, uint32_t, uint32_t>;  // group, topic id, partition
  // Deletes every offset whose key matches, in one WriteBatch. Caller holds write_mu_.
  Status remove_where(const std::function<bool(const Key&)>& doomed_if, const std::string& what);

  Db& db_;
  const Clock& clock_;
  // Writers hold write_mu_ across their LevelDB write (so the order of writes to a key equals
  // the order of their memory updates); mu_ guards only the map, so reads never wait for an fsync.
  mutable std::mutex write_mu_;
  mutable std::mutex mu_;
  std::map<Key, CommittedOffset> offsets_ GUARDED_BY(mu_);
};

}  // namespace tidemq::broker
