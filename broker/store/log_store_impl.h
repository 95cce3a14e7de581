#pragma once
// Private to the LogStore's .cc files: the state behind LogStore::Impl.
//
// Threads: `parts` (the map) is guarded by state_mu; a PartitionState's atomics are published by
// the writer and read by anyone; its plain fields, `producers` and `worker_counter` belong to the
// writer thread (and to open(), before the writer starts).
#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <leveldb/iterator.h>
#include <spdlog/logger.h>

#include "broker/store/log_store.h"
#include "broker/store/producer_state.h"
#include "broker/store/topic_registry.h"
#include "common/round_queue.h"

namespace tidemq::broker {

// The value of a partition-start key (the u64 retention stores; log_maintenance.cc), or
// StorageError if it is malformed.
Result<uint64_t> decode_partition_start(std::string_view value);

struct PartitionState {
  // Published after the write that made them true; read from any thread.
  std::atomic<uint64_t> start_offset{0};
  std::atomic<uint64_t> end_offset{0};
  std::atomic<int64_t> last_store_ms{0};

  // Writer thread only.
  uint64_t next_offset = 0;   // == end_offset between rounds; ahead of it inside a round
  int64_t writer_last_ms = 0;
  uint64_t bytes = 0;         // size estimate for retention_bytes (see README)
  uint64_t round = 0;         // the last round that touched this partition
};

struct ProducerId {
  uint32_t topic_id;
  uint32_t partition;
  uint64_t producer_id;
  friend bool operator==(const ProducerId&, const ProducerId&) = default;
};
struct ProducerIdHash {
  size_t operator()(const ProducerId& k) const {
    uint64_t h = k.producer_id * 0x9E3779B97F4A7C15ULL;
    h ^= (uint64_t{k.topic_id} << 32 | k.partition) + 0x7F4A7C159E3779B9ULL + (h << 6) + (h >> 2);
    return static_cast<size_t>(h);
  }
};

struct LogStore::Impl {
  Impl(LogStore& owner, Db& db, TopicRegistry& topics, const Clock& clock, size_t round_quantum_bytes);

  // A write() with no append; rides in the round's queue like an append.
  struct Write {
    leveldb::WriteBatch wb;
    WriteCallback cb;
  };
  struct Append {
    uint32_t topic_id;
    uint32_t partition;
    std::string batch;
    AppendCallback cb;
    size_t bytes;
    SideWrites side;               // empty for a plain append
    std::unique_ptr<Write> write;  // set for a write(): the other fields are unused
  };
  // --- shared state lookups (any thread) ---
  // The state of a partition, or TopicNotFound / InvalidPartition. A partition the registry knows
  // but the writer has not touched yet is returned as a fresh empty state.
  Result<std::shared_ptr<PartitionState>> lookup(uint32_t topic_id, uint32_t partition) const;
  // Writer: the state to append to, created (empty) when the registry grew; nullptr if dropped.
  PartitionState* writer_partition(uint32_t topic_id, uint32_t partition, uint32_t partitions);

  // --- open (log_store.cc) ---
  Status load_partition(leveldb::Iterator& it, uint32_t topic_id, uint32_t partition, PartitionState& ps);
  Status load_producers();
  Status load_worker_counter();

  // --- writer (log_store.cc) ---
  // Queues an append or a write (moved from `a`) and counts its bytes as pending. False, with
  // `a` untouched, when the store is not running.
  bool enqueue(Append& a);
  void writer_loop();
  void commit(std::vector<Append>& appends);
  // Runs `fn` on the writer thread between rounds and waits for it. ShuttingDown if not running.
  template <typename R>
  R run_on_writer(std::function<R()> fn);

  // --- maintenance jobs, writer thread (log_maintenance.cc) ---
  using Range = std::pair<std::string, std::string>;
  Result<uint64_t> retain_partition(const TopicConfig& c, uint32_t partition, PartitionState& ps,
                                    int64_t now_ms, std::vector<Range>& compact);
  Status expire_producers(int64_t now_ms);
  Status drop_data(uint32_t topic_id);

  // --- open: data of topic ids the registry no longer has (a crash between
  // TopicRegistry::remove and drop_topic). One seek per distinct topic id.
  std::vector<uint32_t> find_orphans() const;

  LogStore& owner;
  Db& db;
  TopicRegistry& topics;
  const Clock& clock;
  const size_t round_quantum_bytes;  // 0: rounds take everything queued
  std::shared_ptr<spdlog::logger> log;

  mutable std::mutex state_mu;
  std::unordered_map<uint32_t, std::vector<std::shared_ptr<PartitionState>>> parts GUARDED_BY(state_mu);
  std::unordered_set<uint32_t> dropped GUARDED_BY(state_mu);

  // Writer thread only.
  std::unordered_map<ProducerId, ProducerState, ProducerIdHash> producers;
  uint64_t worker_counter = 0;
  uint64_t round = 0;
  // The round's WriteBatch, cleared and reused so its buffer is not grown again by doubling
  // (copying the round's bytes) every round; replaced when a huge round left it oversized.
  leveldb::WriteBatch round_batch;

  RoundQueue<Append> queue;  // appends, writes and jobs for the writer
  std::thread writer;
  std::atomic<std::thread::id> writer_id{};
  std::mutex stop_mu;  // serialises stop() callers around join()

  std::mutex listener_mu;
  std::shared_ptr<const AppendListener> listener GUARDED_BY(listener_mu);
  std::shared_ptr<const DrainListener> drain_listener GUARDED_BY(listener_mu);
};

template <typename R>
R LogStore::Impl::run_on_writer(std::function<R()> fn) {
  TIDEMQ_CHECK(std::this_thread::get_id() != writer_id.load(),
               "a LogStore job was started from the writer thread (a callback): it would deadlock");
  std::promise<R> done;
  std::future<R> result = done.get_future();
  if (!queue.post([&fn, &done] { done.set_value(fn()); })) {
    return Status(StatusCode::kShuttingDown, "log store is not running");
  }
  return result.get();
}

}  // namespace tidemq::broker
