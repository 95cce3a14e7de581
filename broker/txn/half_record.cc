#include "broker/txn/half_record.h"

#include <fmt/format.h>

#include "common/coding.h"
#include "common/record_batch.h"

namespace tidemq::broker::txn {

namespace {

constexpr uint8_t kHalfVersion = 1;
constexpr uint8_t kOutcomeVersion = 1;

// Bounds-checked big-endian reads; any short read marks the reader failed.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return ok_ && in_.empty(); }
  uint8_t u8() { return take(1) ? static_cast<uint8_t>(last_[0]) : 0; }
  uint16_t u16() { return take(2) ? coding::get_u16(last_) : 0; }
  uint32_t u32() { return take(4) ? coding::get_u32(last_) : 0; }
  uint64_t u64() { return take(8) ? coding::get_u64(last_) : 0; }
  std::string_view bytes(size_t n) { return take(n) ? std::string_view(last_, n) : std::string_view(); }

 private:
  bool take(size_t n) {
    if (!ok_ || in_.size() < n) {
      ok_ = false;
      return false;
    }
    last_ = in_.data();
    in_.remove_prefix(n);
    return true;
  }
  std::string_view in_;
  const char* last_ = nullptr;
  bool ok_ = true;
};

void append_str16(std::string& out, std::string_view s) {
  TIDEMQ_CHECK(s.size() <= 0xffff, "producer group longer than a u16 length prefix");
  coding::append_u16(out, static_cast<uint16_t>(s.size()));
  out.append(s);
}

Status corrupt(std::string_view what, uint64_t txn_id, std::string_view why) {
  return Status::storage(fmt::format("corrupt {} record of transaction {:016x}: {}", what, txn_id, why));
}

// Checks that `batch` is one record whose id is the txn id.
Status check_batch(uint64_t txn_id, std::string_view batch) {
  auto id = txn_id_of(batch);
  if (!id.is_ok()) return corrupt("half-message", txn_id, id.status().message());
  if (*id != txn_id) {
    return corrupt("half-message", txn_id, fmt::format("its record's id is {:016x}", *id));
  }
  return Status::ok();
}

}  // namespace

std::string encode_logged_half(uint64_t txn_id, const HalfRecord& rec) {
  std::string v;
  coding::append_u64(v, txn_id);
  v.append(rec.encode());
  return v;
}

Result<LoggedHalf> decode_logged_half(std::string_view payload) {
  if (payload.size() < 8) {
    return Status::storage(fmt::format("a half log record of {} bytes is shorter than a txn id", payload.size()));
  }
  LoggedHalf out;
  out.txn_id = coding::get_u64(payload.data());
  TIDEMQ_ASSIGN_OR_RETURN(out.rec, HalfRecord::decode(out.txn_id, payload.substr(8)));
  return out;
}

std::string HalfRecord::encode() const {
  std::string v;
  v.reserve(1 + 2 + producer_group.size() + 4 + 4 + 8 + 8 + 4 + 8 + 1 + 4 + 4 + batch.size());
  v.push_back(static_cast<char>(kHalfVersion));
  append_str16(v, producer_group);
  coding::append_u32(v, topic_id);
  coding::append_u32(v, partition);
  coding::append_u64(v, static_cast<uint64_t>(received_unix_ms));
  coding::append_u64(v, static_cast<uint64_t>(age_base_unix_ms));
  coding::append_u32(v, check_count);
  coding::append_u64(v, static_cast<uint64_t>(next_check_unix_ms));
  v.push_back(parked ? 1 : 0);
  coding::append_u32(v, immunity_ms);
  TIDEMQ_CHECK(batch.size() <= UINT32_MAX, "half-message batch larger than 4 GiB");
  coding::append_u32(v, static_cast<uint32_t>(batch.size()));
  v.append(batch);
  return v;
}

Result<HalfRecord> HalfRecord::decode(uint64_t txn_id, std::string_view value) {
  Reader r(value);
  const uint8_t version = r.u8();
  if (!r.ok()) return corrupt("half-message", txn_id, "empty value");
  if (version != kHalfVersion) {
    return corrupt("half-message", txn_id, fmt::format("unknown version {} (this broker knows {})", version, kHalfVersion));
  }
  HalfRecord h;
  h.producer_group = std::string(r.bytes(r.u16()));
  h.topic_id = r.u32();
  h.partition = r.u32();
  h.received_unix_ms = static_cast<int64_t>(r.u64());
  h.age_base_unix_ms = static_cast<int64_t>(r.u64());
  h.check_count = r.u32();
  h.next_check_unix_ms = static_cast<int64_t>(r.u64());
  const uint8_t parked = r.u8();
  h.immunity_ms = r.u32();
  h.batch = std::string(r.bytes(r.u32()));
  if (!r.ok()) return corrupt("half-message", txn_id, fmt::format("truncated ({} bytes)", value.size()));
  if (!r.done()) return corrupt("half-message", txn_id, "trailing bytes");
  if (parked > 1) return corrupt("half-message", txn_id, fmt::format("parked flag {}", parked));
  h.parked = parked == 1;
  if (h.producer_group.empty()) return corrupt("half-message", txn_id, "empty producer group");
  TIDEMQ_RETURN_IF_ERROR(check_batch(txn_id, h.batch));
  return h;
}

std::string OutcomeRecord::encode() const {
  std::string v;
  v.reserve(3 + 2 + producer_group.size() + 4 + 4 + 8 + 8 + 8 + 4);
  v.push_back(static_cast<char>(kOutcomeVersion));
  v.push_back(static_cast<char>(state));
  v.push_back(static_cast<char>(source));
  append_str16(v, producer_group);
  coding::append_u32(v, topic_id);
  coding::append_u32(v, partition);
  coding::append_u64(v, offset);
  coding::append_u64(v, static_cast<uint64_t>(resolved_unix_ms));
  coding::append_u64(v, static_cast<uint64_t>(received_unix_ms));
  coding::append_u32(v, check_count);
  return v;
}

Result<OutcomeRecord> OutcomeRecord::decode(uint64_t txn_id, std::string_view value) {
  Reader r(value);
  const uint8_t version = r.u8();
  if (!r.ok()) return corrupt("outcome", txn_id, "empty value");
  if (version != kOutcomeVersion) {
    return corrupt("outcome", txn_id, fmt::format("unknown version {} (this broker knows {})", version, kOutcomeVersion));
  }
  OutcomeRecord o;
  const uint8_t state = r.u8();
  const uint8_t source = r.u8();
  o.producer_group = std::string(r.bytes(r.u16()));
  o.topic_id = r.u32();
  o.partition = r.u32();
  o.offset = r.u64();
  o.resolved_unix_ms = static_cast<int64_t>(r.u64());
  o.received_unix_ms = static_cast<int64_t>(r.u64());
  o.check_count = r.u32();
  if (!r.ok()) return corrupt("outcome", txn_id, fmt::format("truncated ({} bytes)", value.size()));
  if (!r.done()) return corrupt("outcome", txn_id, "trailing bytes");
  if (state != static_cast<uint8_t>(TxnState::kCommitted) && state != static_cast<uint8_t>(TxnState::kRolledBack)) {
    return corrupt("outcome", txn_id, fmt::format("state {}", state));
  }
  if (source > static_cast<uint8_t>(Source::kOperator)) return corrupt("outcome", txn_id, fmt::format("source {}", source));
  o.state = static_cast<TxnState>(state);
  o.source = static_cast<Source>(source);
  return o;
}

Result<uint64_t> txn_id_of(std::string_view batch) {
  auto h = record::parse_header(batch);
  if (!h.is_ok()) return Status::invalid_argument("half-message batch: " + h.status().message());
  if (h->batch_len != batch.size()) return Status::invalid_argument("half-message batch length mismatch");
  if (h->record_count != 1) {
    return Status::invalid_argument(fmt::format("a half-message batch holds exactly one record, not {}", h->record_count));
  }
  uint64_t id = 0;
  Status st = record::for_each_record(batch, [&](const record::RecordView& v) { id = v.id; });
  if (!st.is_ok()) return Status::invalid_argument("half-message batch: " + st.message());
  if (id == 0) return Status::invalid_argument("a half-message needs a message id (its transaction id), not 0");
  return id;
}

}  // namespace tidemq::broker::txn
