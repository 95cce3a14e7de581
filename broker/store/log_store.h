#pragma once
// The partition logs: one LevelDB value per produced batch, keyed (topic_id, partition,
// base_offset). All writes go through ONE writer thread that group-commits: it drains every
// pending append into one WriteBatch per round, assigns offsets in order, writes (fsync in sync
// mode), then publishes the new end offsets and runs the completions. Reads are plain LevelDB
// reads of data below the published end offset and may run on any non-network thread.
//
// Idempotence: a batch with producer_id != 0 is checked against the last sequences of
// (producer_id, topic_id, partition); the producer state record is written in the same WriteBatch
// as the data, so a retry after a restart is still recognised.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "broker/store/db.h"
#include "broker/store/types.h"
#include "common/clock.h"
#include "common/status.h"
#include "common/thread_annotations.h"

namespace tidemq::broker {

class TopicRegistry;

class LogStore {
 public:
  // Called on the writer thread; must not block.
  using AppendCallback = std::function<void(Result<AppendResult>)>;
  // Called on the writer thread when an append is accepted (its offset is known), to add more
  // mutations to the round's WriteBatch: they are written atomically with the batch (a
  // transaction commit deletes its half-message and records the outcome this way). Must not
  // block and must not touch the keys of the log. Not called for a rejected append or an
  // idempotent duplicate.
  using SideWrites = std::function<void(leveldb::WriteBatch&, const AppendResult&)>;
  // Called on the writer thread once a write() is durable or failed; must not block.
  using WriteCallback = std::function<void(Status)>;
  // Called on the writer thread after new data became visible; must not block.
  using AppendListener = std::function<void(uint32_t topic_id, uint32_t partition, uint64_t end_offset)>;
  // Called on the writer thread after each round's bytes left pending_bytes() (written or failed),
  // before the round's callbacks run, with the round's bytes and how long its LevelDB write (and
  // fsync) took; must not block. Drives producer back-pressure, ingest and latency pacing.
  using DrainListener = std::function<void(size_t drained_bytes, int64_t write_us)>;

  // `round_quantum_bytes`: a partition's share of one group-commit round (fair rounds: an append
  // to a quiet partition is not written behind a busy one's backlog); 0 = a round takes
  // everything queued.
  static constexpr size_t kDefaultRoundQuantumBytes = 1u << 20;
  LogStore(Db& db, TopicRegistry& topics, const Clock& clock, size_t round_quantum_bytes = kDefaultRoundQuantumBytes);
  ~LogStore();  // stops the writer after draining the queue

  // Rebuilds next offsets, start offsets, last store times and producer states from LevelDB,
  // then starts the writer thread.
  Status open();
  // Completes everything queued, then stops the writer. Idempotent.
  void stop();

  void set_append_listener(AppendListener listener);
  void set_drain_listener(DrainListener listener);

  // Queues a batch that passed record::validate(). `cb` runs on the writer thread once the batch
  // is durable (per flush mode) or failed. Errors: TopicNotFound (topic deleted meanwhile),
  // InvalidPartition, OutOfOrderSequence, DuplicateSequence, StorageError (sticky),
  // ShuttingDown. Before open() or after stop(), `cb` runs at once on the calling thread with
  // ShuttingDown. Cheap and non-blocking: no LevelDB I/O; any thread.
  //
  // `side` (optional) adds mutations to the same WriteBatch once the append is accepted; if the
  // round's write fails, `cb` gets the error and none of them happened. A plain append (empty
  // `side`) costs nothing more than before.
  void append(uint32_t topic_id, uint32_t partition, std::string batch, AppendCallback cb,
              SideWrites side = {});

  // Queues a write with no append (a half-message, a rollback, check-state updates). It is
  // group-committed in the round it lands in, in queue order with appends (a later mutation of
  // the same key wins), with the same flush mode, and its ApproximateSize() counts in
  // pending_bytes(). `cb` runs on the writer thread once it is durable, or with the round's
  // StorageError (then nothing of it was applied). Before open() or after stop(), `cb` runs at
  // once on the calling thread with ShuttingDown. Non-blocking, any thread.
  void write(leveldb::WriteBatch wb, WriteCallback cb);

  // Bytes queued but not yet written, including the round being written (for back-pressure).
  size_t pending_bytes() const { return pending_bytes_.load(std::memory_order_relaxed); }
  // The highest pending_bytes() since open (brokerStatus: shows the back-pressure bound held).
  size_t pending_bytes_peak() const { return pending_bytes_peak_.load(std::memory_order_relaxed); }

  // Caps the bytes of the next rounds (0 = no cap; with fair rounds only): once a round holds an
  // append, another one over kSmallAppendBytes that would take it past the cap waits for a later
  // round, small ones still join (the same size as a light producer's request, ProduceMeter). Set
  // while a light producer is active (WritePressure::round_cap)
  // so its append is written behind at most about `bytes` of the others'. Any thread.
  void set_round_cap(size_t bytes) { round_cap_.store(bytes, std::memory_order_relaxed); }
  static constexpr size_t kSmallAppendBytes = 64u << 10;

  // Reads whole stored batches starting with the one that contains `offset`, until `max_bytes`
  // is reached (always at least one batch when one exists at or after `offset`). Offsets below
  // the start offset or above the end offset give OffsetOutOfRange. Blocking: not on Asio threads.
  Result<ReadResult> read(uint32_t topic_id, uint32_t partition, uint64_t offset, size_t max_bytes) const;

  // The stored batch of `producer_id` that starts at `base_sequence` with `record_count` records,
  // searched from the partition's end backwards (below the published end offset): how a retry
  // answered DuplicateSequence (older than the idempotence window the writer remembers, e.g.
  // after a restart with many batches in flight) still gets its original offset. Stops at the
  // producer's first older batch or after `max_batches` batches; NotFound then (e.g. retention
  // deleted it). Blocking: not on Asio threads.
  Result<AppendResult> find_stored_batch(uint32_t topic_id, uint32_t partition, uint64_t producer_id,
                                         uint32_t base_sequence, uint32_t record_count,
                                         size_t max_batches = 1 << 20) const;

  // Start/end offsets and last store time. TopicNotFound for an unknown or dropped topic id,
  // InvalidPartition for a partition beyond its count. Cheap, no I/O: any thread.
  Result<PartitionInfo> info(uint32_t topic_id, uint32_t partition) const;

  // The first offset whose batch was stored at or after `unix_ms` (end offset if none): the base
  // offset of that batch. O(log n) seeks. Blocking: not on Asio threads.
  Result<uint64_t> offset_for_time(uint32_t topic_id, uint32_t partition, int64_t unix_ms) const;

  // Makes room for a topic's new partition count (after TopicRegistry::create_or_update).
  void ensure_partitions(uint32_t topic_id, uint32_t partitions);
  // Deletes all data of a topic (runs on the writer thread; blocks the caller until done).
  Status drop_topic(uint32_t topic_id, uint32_t partitions);
  // Applies retention by time and size to every partition: deletes whole batches from the low
  // end, persists the new start offset, compacts the deleted range. Runs on the writer thread;
  // blocks the caller until done. Returns the number of batches deleted.
  Result<uint64_t> apply_retention();

  // Leases a snowflake worker id: the persisted counter advances (mod 1024), skipping ids in
  // `in_use` (called on the writer thread). Busy if all 1024 are in use. Runs on the writer
  // thread; blocks the caller.
  //
  // drop_topic, apply_retention and next_worker_id give ShuttingDown when the store is not
  // running, and must not be called from an append callback or the listener (aborts).
  Result<uint32_t> next_worker_id(const std::function<bool(uint32_t)>& in_use);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<size_t> pending_bytes_{0};
  std::atomic<size_t> pending_bytes_peak_{0};  // written under the writer queue's lock
  std::atomic<size_t> round_cap_{0};
};

}  // namespace tidemq::broker
