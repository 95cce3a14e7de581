#pragma once
// The transaction core's settings, from BrokerConfig's transaction flags (broker/config.h, where
// they are documented and validated).
#include <cstdint>

#include "broker/config.h"

namespace tidemq::broker::txn {

// A SendHalf's check immunity (first check after this long instead of the timeout) is clamped
// to this (RocketMQ's CHECK_IMMUNITY_TIME_IN_SECONDS up to 1 h).
inline constexpr int64_t kMaxImmunityMs = 3'600'000;

struct TxnOptions {
  int64_t transaction_timeout_ms = 6'000;
  int64_t check_interval_ms = 30'000;
  uint32_t check_max = 15;
  int64_t max_half_age_ms = 72ll * 3'600'000;
  uint64_t max_half_messages = 1'000'000;
  uint64_t max_half_per_group = 0;  // 0: no per-group limit
  uint32_t max_checks_per_sec = 1'000;
  int64_t check_reply_timeout_ms = 3'000;
  int64_t outcome_retention_ms = 24ll * 3'600'000;
  // Outcomes deleted per scheduler round at most (bounded work per round).
  uint32_t expire_batch = 4096;
  // The half log (broker/txn/half_log.h, `<data>/halflog`): segment size, and the age after
  // which a segment's live records are moved to the head so it can go. It must stay well below
  // outcome_retention: a resolved transaction's record must be gone before its outcome is.
  uint32_t half_log_segment_bytes = 64u << 20;
  // Bodies of halves not yet checked kept in memory for their commit, at most this many bytes
  // (bodies and their map entries).
  size_t young_body_bytes = 64u << 20;
  int64_t half_log_compact_ms = 3'600'000;
};

inline TxnOptions txn_options(const BrokerConfig& c) {
  TxnOptions o;
  o.transaction_timeout_ms = c.transaction_timeout_ms;
  o.check_interval_ms = c.check_interval_ms;
  o.check_max = c.check_max;
  o.max_half_age_ms = c.max_half_age_ms;
  o.max_half_messages = c.max_half_messages;
  o.max_half_per_group = c.max_half_per_group;
  o.max_checks_per_sec = c.max_checks_per_sec;
  o.check_reply_timeout_ms = c.check_reply_timeout_ms;
  o.outcome_retention_ms = c.outcome_retention_ms;
  return o;
}

}  // namespace tidemq::broker::txn
