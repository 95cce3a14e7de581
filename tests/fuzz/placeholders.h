#pragma once
// Placeholders for the ids a fuzz input cannot know — a consumer-group member id (random per
// coordinator) and the txn id of a transaction the broker holds — and their substitution, so
// fuzz_handlers reaches the success paths of the requests that need one. Seeds use them
// (fuzz_seeds.cc); HandlerBroker::exchange() replaces them with live ids before sending:
//   member_id "m0", "m1"         -> the id of a live member in member slot 0 or 1 (HandlerBroker
//                                   says which group and subscriptions), in JoinGroup (a rejoin),
//                                   Heartbeat, LeaveGroup, CommitOffsets, FetchOffsets and Fetch;
//   generation kGenerationPlaceholder, in a request whose member_id was replaced
//                                -> that group's current generation;
//   txn_id 1 .. kTxnSlots        -> a pending transaction's id (slot txn_id - 1), in
//                                   EndTransaction, each EndTransactionBatch item, QueryHalf,
//                                   ResumeHalf, EndHalf and CheckTransactionResponse.
// The rewrite changes only those fields: a scalar in place, a string by appending the new one to
// the buffer and pointing the field's offset at it. Every other byte of the input stays as it came
// (odd layouts, unknown fields, shared strings), and an input without placeholders is sent
// unchanged.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace tidemq::fuzz {

inline constexpr size_t kMemberSlots = 2;
inline constexpr size_t kTxnSlots = 3;
inline constexpr uint32_t kGenerationPlaceholder = 0x7FFFFFFF;

// The placeholder member id of `slot` ("m0", "m1").
inline std::string member_placeholder(size_t slot) { return "m" + std::to_string(slot); }
// The placeholder txn id of `slot` (slot + 1).
constexpr uint64_t txn_placeholder(size_t slot) { return slot + 1; }

// Live ids, made on demand: each call may send requests to the broker to create one.
struct LiveIds {
  std::function<std::string(size_t slot)> member;   // a live member's id
  std::function<uint32_t(size_t slot)> generation;  // the current generation of that member's group
  std::function<uint64_t(size_t slot)> txn;         // a pending transaction's id
};

// `envelope` (which verifies as an Envelope) with its placeholders replaced by live ids; nullopt
// when it has none, or when in a mutated layout whose fields share bytes the rewrite would not
// verify or would change the envelope's correlation id or body type: then the input is sent as
// it came.
std::optional<std::string> substitute_placeholders(std::string_view envelope, const LiveIds& live);

}  // namespace tidemq::fuzz
