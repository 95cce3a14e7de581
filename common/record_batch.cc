#include "common/record_batch.h"

#include <cstring>

#include "common/coding.h"

namespace tidemq::record {

using namespace tidemq::coding;

BatchBuilder::BatchBuilder() { buf_.resize(kHeaderBytes); }

size_t BatchBuilder::record_size(const RecordInput& r) {
  size_t n = 4 + 8 + 8 + 4 + 2 + r.key.size() + 2 + r.tags.size() + 2 + 4 + r.body.size();
  if (r.properties) {
    for (const auto& [k, v] : *r.properties) n += 2 + k.size() + 4 + v.size();
  }
  return n;
}

void BatchBuilder::add(const RecordInput& r) {
  TIDEMQ_CHECK(r.key.size() <= kMaxKeyBytes && r.tags.size() <= kMaxKeyBytes,
               "key/tags must be checked by the caller");
  size_t start = buf_.size();
  append_u32(buf_, 0);  // record_len, patched below
  append_u64(buf_, r.id);
  append_u64(buf_, r.born_ms);
  append_u32(buf_, r.reconsume_times);
  append_u16(buf_, static_cast<uint16_t>(r.key.size()));
  buf_.append(r.key);
  append_u16(buf_, static_cast<uint16_t>(r.tags.size()));
  buf_.append(r.tags);
  size_t nprops = r.properties ? r.properties->size() : 0;
  TIDEMQ_CHECK(nprops <= 0xffff, "too many properties");
  append_u16(buf_, static_cast<uint16_t>(nprops));
  if (r.properties) {
    for (const auto& [k, v] : *r.properties) {
      TIDEMQ_CHECK(k.size() <= 0xffff, "property key too long");
      append_u16(buf_, static_cast<uint16_t>(k.size()));
      buf_.append(k);
      append_u32(buf_, static_cast<uint32_t>(v.size()));
      buf_.append(v);
    }
  }
  append_u32(buf_, static_cast<uint32_t>(r.body.size()));
  buf_.append(r.body);
  put_u32(buf_.data() + start, static_cast<uint32_t>(buf_.size() - start - 4));
  ++count_;
}

std::string BatchBuilder::finish(uint64_t producer_id, uint32_t base_sequence) {
  char* h = buf_.data();
  put_u32(h, kMagic);
  put_u32(h + 4, static_cast<uint32_t>(buf_.size()));
  put_u64(h + 8, 0);
  put_u64(h + 16, 0);
  put_u64(h + 24, producer_id);
  put_u32(h + 32, base_sequence);
  put_u32(h + 36, count_);
  std::string out = std::move(buf_);
  buf_.assign(kHeaderBytes, '\0');
  count_ = 0;
  return out;
}

Result<BatchHeader> parse_header(std::string_view bytes) {
  if (bytes.size() < kHeaderBytes) return Status::corruption("batch shorter than its header");
  const char* h = bytes.data();
  if (get_u32(h) != kMagic) return Status::corruption("bad batch magic");
  BatchHeader out;
  out.batch_len = get_u32(h + 4);
  out.base_offset = get_u64(h + 8);
  out.store_ms = get_u64(h + 16);
  out.producer_id = get_u64(h + 24);
  out.base_sequence = get_u32(h + 32);
  out.record_count = get_u32(h + 36);
  if (out.batch_len < kHeaderBytes) return Status::corruption("batch length below header size");
  return out;
}

namespace detail {

namespace {
bool take(const char*& p, const char* end, size_t n) {
  if (static_cast<size_t>(end - p) < n) return false;
  return true;
}
}  // namespace

Status parse_record(const char*& p, const char* end, RecordView& out) {
  if (!take(p, end, 4)) return Status::corruption("truncated record length");
  uint32_t len = get_u32(p);
  p += 4;
  if (!take(p, end, len)) return Status::corruption("record longer than its batch");
  const char* rend = p + len;
  constexpr size_t kFixed = 8 + 8 + 4 + 2;
  if (!take(p, rend, kFixed)) return Status::corruption("truncated record fields");
  out.id = get_u64(p);
  out.born_ms = get_u64(p + 8);
  out.reconsume_times = get_u32(p + 16);
  uint16_t key_len = get_u16(p + 20);
  p += kFixed;
  if (!take(p, rend, key_len + 2u)) return Status::corruption("truncated key");
  out.key = std::string_view(p, key_len);
  p += key_len;
  uint16_t tags_len = get_u16(p);
  p += 2;
  if (!take(p, rend, tags_len + 2u)) return Status::corruption("truncated tags");
  out.tags = std::string_view(p, tags_len);
  p += tags_len;
  uint16_t nprops = get_u16(p);
  p += 2;
  out.properties.clear();
  for (uint16_t i = 0; i < nprops; ++i) {
    if (!take(p, rend, 2)) return Status::corruption("truncated property");
    uint16_t kl = get_u16(p);
    p += 2;
    if (!take(p, rend, kl + 4u)) return Status::corruption("truncated property key");
    std::string_view k(p, kl);
    p += kl;
    uint32_t vl = get_u32(p);
    p += 4;
    if (!take(p, rend, vl)) return Status::corruption("truncated property value");
    out.properties.emplace_back(k, std::string_view(p, vl));
    p += vl;
  }
  if (!take(p, rend, 4)) return Status::corruption("truncated body length");
  uint32_t body_len = get_u32(p);
  p += 4;
  if (static_cast<size_t>(rend - p) != body_len) return Status::corruption("record length mismatch");
  out.body = std::string_view(p, body_len);
  p = rend;
  return Status::ok();
}

}  // namespace detail

Result<BatchHeader> validate(std::string_view batch, uint32_t max_message_bytes) {
  auto h = parse_header(batch);
  if (!h.is_ok()) return h.status();
  if (h->batch_len != batch.size()) return Status::corruption("batch length does not match its bytes");
  if (h->record_count == 0) return Status::corruption("empty batch");
  Status too_large;
  Status st = for_each_record(batch, [&](const RecordView& r) {
    if (r.body.size() > max_message_bytes && too_large.is_ok()) {
      too_large = Status(StatusCode::kMessageTooLarge,
                         "message body of " + std::to_string(r.body.size()) +
                             " bytes exceeds max-message-bytes " + std::to_string(max_message_bytes));
    }
  });
  if (!st.is_ok()) return st;
  if (!too_large.is_ok()) return too_large;
  return h;
}

void stamp(std::string& batch, uint64_t base_offset, uint64_t store_ms) {
  TIDEMQ_CHECK(batch.size() >= kHeaderBytes, "stamp on an unvalidated batch");
  put_u64(batch.data() + 8, base_offset);
  put_u64(batch.data() + 16, store_ms);
}

void clear_producer(std::string& batch) {
  TIDEMQ_CHECK(batch.size() >= kHeaderBytes, "clear_producer on an unvalidated batch");
  put_u64(batch.data() + 24, 0);
  put_u32(batch.data() + 32, 0);
}

void append_batch_slice(std::string& out, std::string_view batch, uint32_t first_index, uint32_t count,
                        std::string_view records) {
  TIDEMQ_CHECK(batch.size() >= kHeaderBytes && count > 0, "append_batch_slice on an unchecked batch");
  const size_t start = out.size();
  out.append(batch.data(), kHeaderBytes);
  out.append(records);
  char* h = out.data() + start;
  put_u32(h + 4, static_cast<uint32_t>(kHeaderBytes + records.size()));
  put_u64(h + 8, get_u64(h + 8) + first_index);
  put_u32(h + 32, get_u32(h + 32) + first_index);  // sequences wrap like the producer's
  put_u32(h + 36, count);
}

Result<std::string> slice_batch(std::string_view batch, uint32_t first_index, uint32_t count) {
  auto h = parse_header(batch);
  if (!h.is_ok()) return h.status();
  if (h->batch_len != batch.size()) return Status::corruption("batch length does not match its bytes");
  if (count == 0 || uint64_t{first_index} + count > h->record_count) {
    return Status::invalid_argument("slice [" + std::to_string(first_index) + ", +" + std::to_string(count) +
                                    ") outside a batch of " + std::to_string(h->record_count) + " records");
  }
  // Skip records by their length prefixes (bounds-checked; the batch was validated at append).
  const char* p = batch.data() + kHeaderBytes;
  const char* end = batch.data() + batch.size();
  const char* begin = p;
  for (uint32_t i = 0; i < first_index + count; ++i) {
    if (i == first_index) begin = p;
    if (end - p < 4) return Status::corruption("truncated record length");
    const uint32_t len = get_u32(p);
    if (static_cast<size_t>(end - p - 4) < len) return Status::corruption("record longer than its batch");
    p += 4 + len;
  }
  std::string out;
  out.reserve(kHeaderBytes + static_cast<size_t>(p - begin));
  append_batch_slice(out, batch, first_index, count, std::string_view(begin, static_cast<size_t>(p - begin)));
  return out;
}

}  // namespace tidemq::record
