#pragma once
// Idempotent-producer state of one (topic, partition, producer_id): the last kMaxEntries batches
// the producer stored there, and the Kafka-style sequence check against them. The persisted value
// layout lives here (written in the same WriteBatch as the batch it describes).
// Owned and touched only by the LogStore writer thread.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/record_batch.h"
#include "common/status.h"

namespace tidemq::broker {

struct ProducerBatch {
  uint32_t base_sequence = 0;
  uint32_t record_count = 0;
  uint64_t base_offset = 0;
  int64_t store_ms = 0;
  uint32_t last_sequence() const { return base_sequence + record_count - 1; }
};

class ProducerState {
 public:
  static constexpr size_t kMaxEntries = record::kIdempotentWindow;

  enum class Verdict {
    kAccept,           // the next expected batch (or the first one seen): store it
    kDuplicate,        // exactly a remembered batch: acknowledge it again, store nothing
    kDuplicateUnknown, // already stored, but too old to know its offset: DuplicateSequence
    kOutOfOrder,       // a gap: an earlier batch is missing (retriable)
  };
  struct Check {
    Verdict verdict;
    ProducerBatch original;  // valid for kDuplicate
  };

  // Checks a batch (base_sequence, record_count >= 1) against the remembered ones.
  Check check(uint32_t base_sequence, uint32_t record_count) const;
  // Remembers a stored batch, forgetting the oldest past kMaxEntries.
  void add(const ProducerBatch& b);

  bool empty() const { return entries_.empty(); }
  // The newest batch; requires !empty().
  const ProducerBatch& newest() const { return entries_.back(); }

  // Value layout: u8 version (1) | u8 n | n x (u32 base_sequence | u32 record_count |
  //   u64 base_offset | i64 store_ms), oldest first.
  std::string encode() const;
  static Result<ProducerState> decode(std::string_view value);

 private:
  std::vector<ProducerBatch> entries_;  // oldest first, at most kMaxEntries
};

// A Status for a rejected check (kDuplicateUnknown / kOutOfOrder).
Status sequence_error(const ProducerState::Check& c, uint64_t producer_id, uint32_t base_sequence,
                      uint32_t expected);

}  // namespace tidemq::broker
