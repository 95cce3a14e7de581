// LogStore reads: read(), info(), offset_for_time(), find_stored_batch(). Any non-Asio thread; info() anywhere.
#include <optional>

#include "broker/store/key_layout.h"
#include "broker/store/log_store.h"
#include "broker/store/log_store_impl.h"
#include "common/record_batch.h"

namespace tidemq::broker {

namespace {

struct BatchAt {
  uint64_t base_offset;
  uint64_t end_offset;  // base + record_count
  int64_t store_ms;
};

Status out_of_range(uint64_t offset, uint64_t start, uint64_t end) {
  return Status(StatusCode::kOffsetOutOfRange, "offset " + std::to_string(offset) + " outside [" +
                                                   std::to_string(start) + ", " + std::to_string(end) + "]");
}

// Positions `it` on the batch of (topic, partition) that contains `offset`. nullopt when there is
// none (deleted by retention meanwhile) or the iterator failed (see it.status()).
std::optional<BatchAt> seek_batch(leveldb::Iterator& it, uint32_t topic_id, uint32_t partition,
                                  uint64_t offset) {
  it.Seek(keys::log(topic_id, partition, offset));
  std::optional<keys::LogKey> lk;
  if (it.Valid()) lk = keys::parse_log(std::string_view(it.key().data(), it.key().size()));
  if (!lk || lk->topic_id != topic_id || lk->partition != partition || lk->base_offset != offset) {
    // Not a batch start: the containing batch is the previous key.
    if (it.Valid()) {
      it.Prev();
    } else {
      it.SeekToLast();
    }
    if (!it.Valid()) return std::nullopt;
    lk = keys::parse_log(std::string_view(it.key().data(), it.key().size()));
    if (!lk || lk->topic_id != topic_id || lk->partition != partition) return std::nullopt;
  }
  auto h = record::parse_header(std::string_view(it.value().data(), it.value().size()));
  if (!h.is_ok()) return std::nullopt;
  BatchAt b{lk->base_offset, lk->base_offset + h->record_count, static_cast<int64_t>(h->store_ms)};
  if (offset < b.base_offset || offset >= b.end_offset) return std::nullopt;
  return b;
}

// The start offset retention stored for the partition as `it` sees it; 0 if none.
Result<uint64_t> stored_start(leveldb::Iterator& it, uint32_t topic_id, uint32_t partition) {
  const std::string key = keys::partition_start(topic_id, partition);
  it.Seek(key);
  TIDEMQ_RETURN_IF_ERROR(Db::from_leveldb(it.status()));
  if (!it.Valid() || it.key() != leveldb::Slice(key)) return uint64_t{0};
  return decode_partition_start(std::string_view(it.value().data(), it.value().size()));
}

}  // namespace

Result<PartitionInfo> LogStore::info(uint32_t topic_id, uint32_t partition) const {
  TIDEMQ_ASSIGN_OR_RETURN(auto ps, impl_->lookup(topic_id, partition));
  PartitionInfo out;
  out.start_offset = ps->start_offset.load(std::memory_order_acquire);
  out.end_offset = ps->end_offset.load(std::memory_order_acquire);
  out.last_store_ms = ps->last_store_ms.load(std::memory_order_acquire);
  return out;
}

Result<ReadResult> LogStore::read(uint32_t topic_id, uint32_t partition, uint64_t offset,
                                  size_t max_bytes) const {
  TIDEMQ_ASSIGN_OR_RETURN(auto ps, impl_->lookup(topic_id, partition));
  // The end offset is loaded before the iterator is made, so the iterator's snapshot holds every
  // batch below it.
  ReadResult out;
  out.end_offset = ps->end_offset.load(std::memory_order_acquire);
  out.start_offset = ps->start_offset.load(std::memory_order_acquire);
  if (offset < out.start_offset || offset > out.end_offset) {
    return out_of_range(offset, out.start_offset, out.end_offset);
  }
  if (offset == out.end_offset) return out;

  auto it = impl_->db.iterator();
  auto first = seek_batch(*it, topic_id, partition, offset);
  if (!first) {
    TIDEMQ_RETURN_IF_ERROR(Db::from_leveldb(it->status()));
    // Retention deleted it after we loaded the start offset: the start it wrote with the deletes
    // is in the iterator's snapshot. Otherwise the batch is missing from a log that should hold
    // it — damaged storage (a table LevelDB lost), never skipped over.
    TIDEMQ_ASSIGN_OR_RETURN(uint64_t start, stored_start(*it, topic_id, partition));
    if (offset < start) {
      out.start_offset = std::max(start, ps->start_offset.load(std::memory_order_acquire));
      return out_of_range(offset, out.start_offset, out.end_offset);
    }
    return Status::storage("damaged log: topic id " + std::to_string(topic_id) + " partition " +
                           std::to_string(partition) + " has no batch holding offset " + std::to_string(offset) +
                           " (its log runs from " + std::to_string(start) + " to " +
                           std::to_string(out.end_offset) + ")");
  }
  // Contiguous batches only: a gap ends the answer, and the next read, starting in it, fails above.
  uint64_t next = first->base_offset;
  for (; it->Valid(); it->Next()) {
    auto lk = keys::parse_log(std::string_view(it->key().data(), it->key().size()));
    if (!lk || lk->topic_id != topic_id || lk->partition != partition) break;
    if (lk->base_offset >= out.end_offset) break;  // written but not yet published
    const leveldb::Slice v = it->value();
    auto h = record::parse_header(std::string_view(v.data(), v.size()));
    if (lk->base_offset != next || !h.is_ok()) break;
    if (!out.batches.empty() && out.batches.size() + v.size() > max_bytes) break;
    out.batches.append(v.data(), v.size());
    next = lk->base_offset + h->record_count;
    if (out.batches.size() >= max_bytes) break;
  }
  TIDEMQ_RETURN_IF_ERROR(Db::from_leveldb(it->status()));
  return out;
}

Result<uint64_t> LogStore::offset_for_time(uint32_t topic_id, uint32_t partition, int64_t unix_ms) const {
  TIDEMQ_ASSIGN_OR_RETURN(auto ps, impl_->lookup(topic_id, partition));
  const uint64_t end = ps->end_offset.load(std::memory_order_acquire);
  auto it = impl_->db.iterator(/*fill_cache=*/false);
  // Binary search over offsets; each probe is one Seek to the batch containing `mid`. Store
  // times are non-decreasing within a partition. Invariant: batches ending at or below `lo` were
  // stored before `unix_ms`; batches starting at or above `hi` were stored at or after it.
  uint64_t lo = ps->start_offset.load(std::memory_order_acquire);
  uint64_t hi = end;
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    auto b = seek_batch(*it, topic_id, partition, mid);
    if (!b) {
      TIDEMQ_RETURN_IF_ERROR(Db::from_leveldb(it->status()));
      // Deleted by retention since we looked: continue from the new start.
      const uint64_t start = ps->start_offset.load(std::memory_order_acquire);
      if (start <= mid) return Status::internal("no batch contains offset " + std::to_string(mid));
      lo = start;
      hi = std::max(hi, lo);
      continue;
    }
    if (b->store_ms >= unix_ms) {
      hi = b->base_offset;
    } else {
      lo = b->end_offset;
    }
  }
  return lo;
}

Result<AppendResult> LogStore::find_stored_batch(uint32_t topic_id, uint32_t partition, uint64_t producer_id,
                                                 uint32_t base_sequence, uint32_t record_count,
                                                 size_t max_batches) const {
  TIDEMQ_ASSIGN_OR_RETURN(auto ps, impl_->lookup(topic_id, partition));
  const uint64_t end = ps->end_offset.load(std::memory_order_acquire);
  auto it = impl_->db.iterator(/*fill_cache=*/false);
  it->Seek(keys::log(topic_id, partition, end));
  if (it->Valid()) {
    it->Prev();
  } else {
    it->SeekToLast();
  }
  for (size_t seen = 0; it->Valid() && seen < max_batches; it->Prev(), ++seen) {
    auto lk = keys::parse_log(std::string_view(it->key().data(), it->key().size()));
    if (!lk || lk->topic_id != topic_id || lk->partition != partition) break;
    if (lk->base_offset >= end) continue;  // written but not yet published
    auto h = record::parse_header(std::string_view(it->value().data(), it->value().size()));
    if (!h.is_ok()) return Status::storage("batch at offset " + std::to_string(lk->base_offset) + ": " + h.status().message());
    if (h->producer_id != producer_id) continue;
    if (h->base_sequence == base_sequence && h->record_count == record_count) {
      return AppendResult{lk->base_offset, h->record_count, static_cast<int64_t>(h->store_ms), /*duplicate=*/true};
    }
    if (h->base_sequence < base_sequence) break;  // sequences rise with offsets: it is not here
  }
  TIDEMQ_RETURN_IF_ERROR(Db::from_leveldb(it->status()));
  return Status::not_found("producer " + std::to_string(producer_id) + " has no stored batch at sequence " +
                           std::to_string(base_sequence));
}

}  // namespace tidemq::broker
