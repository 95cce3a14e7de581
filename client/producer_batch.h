#pragma once
// A producer batch: the records of one partition sent (and retried) together, and what their
// callbacks get. Guarded by the producer's lock except where noted.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/record_batch.h"
#include "common/status.h"
#include "tidemq/producer.h"

namespace tidemq::client {

using SteadyTime = std::chrono::steady_clock::time_point;

struct PendingRecord {
  uint64_t id = 0;
  Producer::SendCallback cb;
};

struct Batch {
  uint32_t partition = 0;
  record::BatchBuilder builder;    // while open
  std::string sealed_bytes;        // after the first send: the encoded batch (read without the lock while in flight)
  std::vector<PendingRecord> records;
  size_t size_bytes = 0;           // encoded record bytes
  uint32_t builder_count = 0;      // records in the batch once sealed
  SteadyTime created{};            // first record: linger starts here
  SteadyTime deadline{};           // created + delivery_timeout
  bool sealed = false;             // takes no more records
  bool counted_full = false;       // counted in the producer's full_waiting_
  bool stamped = false;            // producer id and sequence assigned
  bool restamp = false;            // sequence changed: rewrite the header before the next send
  bool retry = false;              // resend without waiting for linger
  bool done = false;               // callbacks handed over
  uint64_t producer_id = 0;
  uint32_t base_sequence = 0;
  uint32_t attempts = 0;           // failed attempts counted against ProducerOptions::retries
  Status last_error;
  // Scheduled batch (SPEC §7): unix ms when due, sent as PartitionBatch.deliver_at_ms; 0 = now.
  // A scheduled batch holds only messages of that due time and is never idempotent.
  int64_t deliver_at_ms = 0;
};
using BatchPtr = std::shared_ptr<Batch>;

// One batch's outcome, handed to the callback thread.
struct Completion {
  std::vector<PendingRecord> records;
  Status status;
  uint32_t partition = 0;
  uint64_t base_offset = 0;
  int64_t store_ms = 0;
  bool scheduled = false;  // the ack said the batch went to the broker's delay store
};

}  // namespace tidemq::client
