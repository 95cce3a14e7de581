#pragma once
// Record batch layout, its one home. A producer encodes its messages for one partition into one
// batch; the broker validates it, stamps base_offset and store_ms into the header in place, and
// stores the bytes as one LevelDB value; a fetch response carries the stored bytes unchanged
// (Kafka's idea: no decode/re-encode on the hot path). All integers are big-endian.
//
// Batch header (kHeaderBytes = 40):
//   u32 magic 'TMQ1' | u32 batch_len (header + records) | u64 base_offset | u64 store_ms |
//   u64 producer_id (0 = not idempotent) | u32 base_sequence | u32 record_count
// Record, repeated record_count times:
//   u32 record_len (bytes after this field) | u64 id | u64 born_ms | u32 reconsume_times |
//   u16 key_len, key | u16 tags_len, tags | u16 prop_count, (u16 k_len, k, u32 v_len, v)* |
//   u32 body_len, body
// Offsets inside a batch are implicit: record i has offset base_offset + i.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace tidemq::record {

inline constexpr uint32_t kMagic = 0x544D5131;  // "TMQ1"
inline constexpr size_t kHeaderBytes = 40;
inline constexpr size_t kMaxKeyBytes = 0xffff;
// Idempotence window: the broker remembers the last kIdempotentWindow batches of each
// (producer_id, partition) with their offsets, so an idempotent producer keeps at most this many
// batches of one partition unacknowledged (Kafka: max.in.flight.requests.per.connection <= 5).
// A retry of any of them is then answered with its original offset, never DUPLICATE_SEQUENCE.
inline constexpr size_t kIdempotentWindow = 5;

struct BatchHeader {
  uint32_t batch_len = 0;
  uint64_t base_offset = 0;
  uint64_t store_ms = 0;
  uint64_t producer_id = 0;
  uint32_t base_sequence = 0;
  uint32_t record_count = 0;
};

// A parsed record; string_views point into the batch bytes and live as long as they do.
struct RecordView {
  uint64_t offset = 0;  // base_offset + index
  uint64_t id = 0;
  uint64_t born_ms = 0;
  uint64_t store_ms = 0;
  uint32_t reconsume_times = 0;
  std::string_view key;
  std::string_view tags;
  std::vector<std::pair<std::string_view, std::string_view>> properties;
  std::string_view body;
};

// Input for encoding one record.
struct RecordInput {
  uint64_t id = 0;
  uint64_t born_ms = 0;
  uint32_t reconsume_times = 0;
  std::string_view key;
  std::string_view tags;
  const std::vector<std::pair<std::string, std::string>>* properties = nullptr;
  std::string_view body;
};

// Encodes records into a batch. Not thread-safe.
class BatchBuilder {
 public:
  BatchBuilder();
  // Encoded size of `r` as a record (without the batch header).
  static size_t record_size(const RecordInput& r);
  void add(const RecordInput& r);
  uint32_t count() const { return count_; }
  size_t size_bytes() const { return buf_.size(); }
  bool empty() const { return count_ == 0; }
  // Finishes the header and returns the batch; the builder is reset.
  std::string finish(uint64_t producer_id, uint32_t base_sequence);

 private:
  std::string buf_;
  uint32_t count_ = 0;
};

// Reads and checks the header of the batch at the start of `bytes` (not its records).
Result<BatchHeader> parse_header(std::string_view bytes);

// Fully validates one batch: header, every record's bounds, count and total length exactly
// matching, and each body within `max_message_bytes`. Returns the header.
Result<BatchHeader> validate(std::string_view batch, uint32_t max_message_bytes);

// Broker side: stamps the offset and store time into a validated batch in place.
void stamp(std::string& batch, uint64_t base_offset, uint64_t store_ms);

// Broker side: sets producer_id and base_sequence to 0 in a validated batch in place (a committed
// transactional message is appended without idempotent-sequence checks).
void clear_producer(std::string& batch);

// Returns a valid batch holding records [first_index, first_index + count) of the validated
// `batch`: header base_offset + first_index, base_sequence + first_index, record_count = count,
// batch_len adjusted; magic, store_ms and producer_id kept. The records are copied as bytes
// (one memcpy, no re-encoding). InvalidArgument if count is 0 or the range is past the batch's
// records; Corruption if the header or the record lengths do not hold together.
Result<std::string> slice_batch(std::string_view batch, uint32_t first_index, uint32_t count);

// The same for a caller that has already walked the records (broker/delivery/group_filter.cc):
// appends to `out` the header of `batch` adjusted as slice_batch does, then `records`, which must
// be exactly the bytes of records [first_index, first_index + count) of `batch`. Not checked.
void append_batch_slice(std::string& out, std::string_view batch, uint32_t first_index, uint32_t count,
                        std::string_view records);

// Decodes the records of one validated batch. Calls `fn(const RecordView&)` for each.
// Returns a Corruption status if the bytes do not parse (never reads out of bounds).
template <typename Fn>
Status for_each_record(std::string_view batch, Fn&& fn);

// Splits a concatenation of batches (a fetch response) and decodes every record.
template <typename Fn>
Status for_each_record_in_batches(std::string_view batches, Fn&& fn);

namespace detail {
// Parses one record starting at `p` (bounded by `end`); advances `p`.
Status parse_record(const char*& p, const char* end, RecordView& out);
}  // namespace detail

template <typename Fn>
Status for_each_record(std::string_view batch, Fn&& fn) {
  auto h = parse_header(batch);
  if (!h.is_ok()) return h.status();
  if (h->batch_len > batch.size()) return Status::corruption("batch shorter than its header says");
  const char* p = batch.data() + kHeaderBytes;
  const char* end = batch.data() + h->batch_len;
  RecordView r;
  for (uint32_t i = 0; i < h->record_count; ++i) {
    TIDEMQ_RETURN_IF_ERROR(detail::parse_record(p, end, r));
    r.offset = h->base_offset + i;
    r.store_ms = h->store_ms;
    fn(static_cast<const RecordView&>(r));
  }
  if (p != end) return Status::corruption("trailing bytes after the last record");
  return Status::ok();
}

template <typename Fn>
Status for_each_record_in_batches(std::string_view batches, Fn&& fn) {
  while (!batches.empty()) {
    auto h = parse_header(batches);
    if (!h.is_ok()) return h.status();
    if (h->batch_len > batches.size()) return Status::corruption("truncated batch");
    TIDEMQ_RETURN_IF_ERROR(for_each_record(batches.substr(0, h->batch_len), fn));
    batches.remove_prefix(h->batch_len);
  }
  return Status::ok();
}

}  // namespace tidemq::record
