#include "broker/store/producer_state.h"

#include "common/coding.h"

namespace tidemq::broker {

namespace {
constexpr uint8_t kVersion = 1;
constexpr size_t kEntryBytes = 4 + 4 + 8 + 8;
}  // namespace

ProducerState::Check ProducerState::check(uint32_t base_sequence, uint32_t record_count) const {
  if (entries_.empty()) return {Verdict::kAccept, {}};
  for (const ProducerBatch& b : entries_) {
    if (b.base_sequence == base_sequence && b.record_count == record_count) {
      return {Verdict::kDuplicate, b};
    }
  }
  const uint32_t last = entries_.back().last_sequence();
  if (base_sequence == last + 1) return {Verdict::kAccept, {}};
  if (base_sequence <= last) return {Verdict::kDuplicateUnknown, {}};
  return {Verdict::kOutOfOrder, {}};
}

void ProducerState::add(const ProducerBatch& b) {
  if (entries_.size() == kMaxEntries) entries_.erase(entries_.begin());
  entries_.push_back(b);
}

std::string ProducerState::encode() const {
  std::string v;
  v.reserve(2 + entries_.size() * kEntryBytes);
  v.push_back(static_cast<char>(kVersion));
  v.push_back(static_cast<char>(entries_.size()));
  for (const ProducerBatch& b : entries_) {
    coding::append_u32(v, b.base_sequence);
    coding::append_u32(v, b.record_count);
    coding::append_u64(v, b.base_offset);
    coding::append_u64(v, static_cast<uint64_t>(b.store_ms));
  }
  return v;
}

Result<ProducerState> ProducerState::decode(std::string_view value) {
  if (value.size() < 2 || static_cast<uint8_t>(value[0]) != kVersion) {
    return Status::storage("unreadable producer state");
  }
  size_t n = static_cast<uint8_t>(value[1]);
  if (n > kMaxEntries || value.size() != 2 + n * kEntryBytes) {
    return Status::storage("producer state of the wrong length");
  }
  ProducerState out;
  const char* p = value.data() + 2;
  for (size_t i = 0; i < n; ++i, p += kEntryBytes) {
    ProducerBatch b;
    b.base_sequence = coding::get_u32(p);
    b.record_count = coding::get_u32(p + 4);
    b.base_offset = coding::get_u64(p + 8);
    b.store_ms = static_cast<int64_t>(coding::get_u64(p + 16));
    if (b.record_count == 0) return Status::storage("producer state with an empty batch");
    out.entries_.push_back(b);
  }
  return out;
}

Status sequence_error(const ProducerState::Check& c, uint64_t producer_id, uint32_t base_sequence,
                      uint32_t expected) {
  std::string who = "producer " + std::to_string(producer_id) + ": base sequence " +
                    std::to_string(base_sequence);
  if (c.verdict == ProducerState::Verdict::kOutOfOrder) {
    return Status(StatusCode::kOutOfOrderSequence,
                  who + " is ahead of the expected " + std::to_string(expected));
  }
  return Status(StatusCode::kDuplicateSequence,
                who + " was already stored (expected " + std::to_string(expected) + ")");
}

}  // namespace tidemq::broker
