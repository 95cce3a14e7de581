#pragma once
// The durable delay store (SPEC §7): scheduled messages and retries wait here, keyed by due time
// (keyspace kDelay, broker/store/key_layout.h), and are appended to their partition when due —
// the append and the delete of the delay key are ONE WriteBatch (LogStore side writes), so a
// message is moved exactly once, also across a crash or restart.
//
// Threads: schedule() is non-blocking (a queue push onto the store's writer): network threads may
// call it. move_due() reads LevelDB and waits for its appends: the blocking pool (a PeriodicJob,
// so rounds never overlap). Counters are atomics / a short mutex.
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "broker/store/db.h"
#include "broker/store/log_store.h"
#include "common/clock.h"
#include "common/status.h"
#include "common/thread_annotations.h"

namespace tidemq::broker {

struct DelayOptions {
  size_t max_per_round = 4096;  // moves per move_due() call: bounded work per tick
};

class DelayStore {
 public:
  DelayStore(Db& db, LogStore& log, const Clock& clock, DelayOptions options = {});

  // Counts what is scheduled (per target topic). Before serving.
  Status open();

  // Stores a validated, non-idempotent batch (producer id 0) for `partition` of `topic_id`, due
  // at `due_unix_ms`. The key is (due, topic, partition, id of the first record): a retried
  // send of the same batch overwrites its own key instead of adding a copy. `cb` runs on the
  // store's writer once durable (or with the round's error).
  void schedule(uint32_t topic_id, uint32_t partition, uint64_t due_unix_ms, std::string batch,
                LogStore::WriteCallback cb);

  // Appends every message due by the clock's now (at most max_per_round) to its partition,
  // deleting its key in the same WriteBatch, and waits for those writes. A message whose topic
  // or partition no longer exists is dropped (logged, counted). Returns how many were moved.
  Result<size_t> move_due();

  uint64_t backlog() const { return backlog_.load(std::memory_order_relaxed); }
  uint64_t backlog(uint32_t topic_id) const;
  uint64_t moved() const { return moved_.load(std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  void count(uint32_t topic_id, int64_t delta);

  Db& db_;
  LogStore& log_;
  const Clock& clock_;
  DelayOptions opt_;
  std::atomic<uint64_t> backlog_{0};
  std::atomic<uint64_t> moved_{0};
  std::atomic<uint64_t> dropped_{0};
  mutable std::mutex mu_;
  std::map<uint32_t, uint64_t> per_topic_ GUARDED_BY(mu_);
  // Scan start: every key not moved yet is due at or after min(watermark_, rescan_from_).
  // watermark_ (move_due only) is the due time of the last key moved; rescan_from_ is lowered by
  // each schedule() once its key is written, so a key written behind the watermark (its due time
  // read from the clock before a move round ran) is still found.
  uint64_t watermark_ = 0;
  std::atomic<uint64_t> rescan_from_{UINT64_MAX};
};

}  // namespace tidemq::broker
