#include "tests/fuzz/placeholders.h"

#include <cstring>

#include "schemas/envelope_generated.h"

namespace tidemq::fuzz {

namespace {

namespace fb = flatbuffers;
using namespace tidemq::wire;

// Edits a copy of a verified buffer below the generated code, which has neither the object API
// nor mutators (schemas/CMakeLists.txt runs flatc --cpp only). Fields are found as the generated
// accessors find them (flatbuffers::Table::GetAddressOf; a generated table is a Table) in the
// original, and written at the same position in the copy.
class Rewriter {
 public:
  explicit Rewriter(std::string_view original) : original_(original), out_(original) {}

  bool changed() const { return changed_; }
  std::string take() { return std::move(out_); }

  // Where `field` of `table` is stored; nullptr when absent (its default applies).
  template <typename T>
  static const uint8_t* field(const T* table, fb::voffset_t field) {
    return reinterpret_cast<const fb::Table*>(table)->GetAddressOf(field);
  }

  // Overwrites the scalar stored at `at` (a present field).
  template <typename T>
  void set_scalar(const uint8_t* at, T value) {
    const T le = fb::EndianScalar(value);
    std::memcpy(out_.data() + position(at), &le, sizeof le);
    changed_ = true;
  }

  // Points the string offset stored at `at` (a present field) at `value`, appended to the buffer
  // (4-byte aligned length, bytes, NUL). The string it pointed at stays, unreferenced.
  void set_string(const uint8_t* at, std::string_view value) {
    const size_t field_pos = position(at);
    out_.resize((out_.size() + 3) & ~size_t{3}, '\0');
    const size_t string_pos = out_.size();
    const uint32_t length = fb::EndianScalar(static_cast<uint32_t>(value.size()));
    out_.append(reinterpret_cast<const char*>(&length), sizeof length);
    out_.append(value);
    out_.push_back('\0');
    const auto offset = fb::EndianScalar(static_cast<fb::uoffset_t>(string_pos - field_pos));
    std::memcpy(out_.data() + field_pos, &offset, sizeof offset);
    changed_ = true;
  }

 private:
  size_t position(const uint8_t* at) const {
    return static_cast<size_t>(at - reinterpret_cast<const uint8_t*>(original_.data()));
  }

  std::string_view original_;
  std::string out_;
  bool changed_ = false;
};

std::optional<size_t> member_slot(const fb::String* member_id) {
  if (member_id == nullptr) return std::nullopt;
  for (size_t slot = 0; slot < kMemberSlots; ++slot) {
    if (member_id->string_view() == member_placeholder(slot)) return slot;
  }
  return std::nullopt;
}

// A member_id placeholder, and with it a generation placeholder (tables without a generation
// pass kNoGeneration).
constexpr fb::voffset_t kNoGeneration = 0;

template <typename T>
void substitute_member(Rewriter& w, const T* req, const LiveIds& live,
                       fb::voffset_t generation_field = kNoGeneration) {
  if (req == nullptr) return;
  auto slot = member_slot(req->member_id());
  if (!slot) return;
  w.set_string(Rewriter::field(req, T::VT_MEMBER_ID), live.member(*slot));
  if (generation_field == kNoGeneration) return;
  // Non-zero, so stored (not a default) when it is the placeholder.
  const uint8_t* at = Rewriter::field(req, generation_field);
  if (at != nullptr && fb::ReadScalar<uint32_t>(at) == kGenerationPlaceholder) {
    w.set_scalar<uint32_t>(at, live.generation(*slot));
  }
}

// A txn_id placeholder (non-zero, so stored in the buffer).
template <typename T>
void substitute_txn(Rewriter& w, const T* req, const LiveIds& live) {
  if (req == nullptr || req->txn_id() < 1 || req->txn_id() > kTxnSlots) return;
  w.set_scalar<uint64_t>(Rewriter::field(req, T::VT_TXN_ID),
                         live.txn(static_cast<size_t>(req->txn_id() - 1)));
}

}  // namespace

std::optional<std::string> substitute_placeholders(std::string_view envelope, const LiveIds& live) {
  const Envelope* env = GetEnvelope(envelope.data());
  Rewriter w(envelope);
  switch (env->body_type()) {
    case Body::JoinGroupRequest:
      substitute_member(w, env->body_as_JoinGroupRequest(), live);
      break;
    case Body::HeartbeatRequest:
      substitute_member(w, env->body_as_HeartbeatRequest(), live, HeartbeatRequest::VT_GENERATION);
      break;
    case Body::LeaveGroupRequest:
      substitute_member(w, env->body_as_LeaveGroupRequest(), live);
      break;
    case Body::CommitOffsetsRequest:
      substitute_member(w, env->body_as_CommitOffsetsRequest(), live,
                        CommitOffsetsRequest::VT_GENERATION);
      break;
    case Body::FetchOffsetsRequest:
      substitute_member(w, env->body_as_FetchOffsetsRequest(), live);
      break;
    case Body::FetchRequest:
      substitute_member(w, env->body_as_FetchRequest(), live, FetchRequest::VT_GENERATION);
      break;
    case Body::EndTransactionRequest:
      substitute_txn(w, env->body_as_EndTransactionRequest(), live);
      break;
    case Body::EndTransactionBatchRequest:
      if (const auto* batch = env->body_as_EndTransactionBatchRequest(); batch && batch->ends()) {
        for (const auto* end : *batch->ends()) substitute_txn(w, end, live);
      }
      break;
    case Body::QueryHalfRequest:
      substitute_txn(w, env->body_as_QueryHalfRequest(), live);
      break;
    case Body::ResumeHalfRequest:
      substitute_txn(w, env->body_as_ResumeHalfRequest(), live);
      break;
    case Body::EndHalfRequest:
      substitute_txn(w, env->body_as_EndHalfRequest(), live);
      break;
    case Body::CheckTransactionResponse:
      substitute_txn(w, env->body_as_CheckTransactionResponse(), live);
      break;
    default:
      break;
  }
  if (!w.changed()) return std::nullopt;
  std::string out = w.take();
  // A mutated layout may store two fields in the same bytes, so a write can change another
  // field too. Other fields changing is more fuzzing, but the rewrite must verify, and keep what
  // the harness reads from the request: its correlation id and body type (and whether a body is
  // set).
  fb::Verifier v(reinterpret_cast<const uint8_t*>(out.data()), out.size());
  if (!VerifyEnvelopeBuffer(v)) return std::nullopt;
  const Envelope* sent = GetEnvelope(out.data());
  if (sent->correlation_id() != env->correlation_id() || sent->body_type() != env->body_type() ||
      (sent->body() == nullptr) != (env->body() == nullptr)) {
    return std::nullopt;
  }
  return out;
}

}  // namespace tidemq::fuzz
