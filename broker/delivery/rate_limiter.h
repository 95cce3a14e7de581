#pragma once
// Peak shaving (SPEC §5.3): token buckets that pace a group's deliveries. A bucket holds at most
// rate × burst_ms / 1000 tokens (SPEC: burst at most rate × 100 ms), refills continuously, and is
// charged for what a fetch actually delivers. Time comes from the injected Clock (monotonic).
//
// Threads: thread-safe (a mutex per registry and per bucket); no I/O.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "broker/store/group_types.h"
#include "common/clock.h"
#include "common/thread_annotations.h"

namespace tidemq::broker {

class TokenBucket {
 public:
  // rate <= 0 means unlimited for that dimension.
  TokenBucket(double msgs_per_sec, double bytes_per_sec, uint32_t burst_ms, int64_t now_ms);

  // Changes the rates; takes effect at once. Tokens above the new bucket size are dropped.
  void set_rates(double msgs_per_sec, double bytes_per_sec, uint32_t burst_ms, int64_t now_ms);

  // How many messages may be delivered now (whole tokens; at most `want`). 0 when the bucket is
  // empty, or when the byte budget is in debt. Does not charge.
  uint64_t available(uint64_t want, int64_t now_ms);
  // Charges what was delivered (messages and bytes). The byte budget may go into debt (a
  // message is never split); the message budget never goes below zero beyond what available()
  // granted.
  void charge(uint64_t msgs, uint64_t bytes, int64_t now_ms);
  // Bytes that may be delivered now, for capping a fetch's read size: UINT64_MAX without a byte
  // limit, 0 when the byte budget is empty or in debt or when available(1) is 0, else the whole
  // byte tokens. Does not charge.
  uint64_t available_bytes(int64_t now_ms);
  // Milliseconds until available() would return at least 1 (0 if it already would; at least 1
  // otherwise).
  int64_t wait_ms(int64_t now_ms);

 private:
  void refill(int64_t now_ms) REQUIRES(mu_);
  bool msgs_ready() const REQUIRES(mu_);
  std::mutex mu_;
  // Token counts are kept in thousandths (milli-tokens): refilling `rate` × elapsed ms is then
  // exact for integer rates, so long runs do not drift.
  double msg_rate_ GUARDED_BY(mu_) = 0, byte_rate_ GUARDED_BY(mu_) = 0;
  double msg_cap_ GUARDED_BY(mu_) = 0, byte_cap_ GUARDED_BY(mu_) = 0;
  double msg_tokens_ GUARDED_BY(mu_) = 0, byte_tokens_ GUARDED_BY(mu_) = 0;
  int64_t last_ms_ GUARDED_BY(mu_) = 0;
};

// The buckets of every rate-limited (group, topic). configure() is called when a group config is
// loaded or updated; find() on every group fetch.
class RateLimiters {
 public:
  explicit RateLimiters(const Clock& clock);

  // Installs/updates the buckets for `config` (group-wide bucket, per-topic buckets); removes
  // them when the config sets no limit. Existing buckets keep their tokens (rate change within a
  // second, no burst).
  void configure(const GroupConfig& config);
  void remove(const std::string& group);
  // The bucket governing (group, topic): the topic's own if the group lists it, else the group's;
  // nullptr when unlimited.
  std::shared_ptr<TokenBucket> find(const std::string& group, const std::string& topic) const;

 private:
  using Rates = std::map<std::string, std::pair<double, double>>;  // topic -> (msgs/s, bytes/s)
  // Drops the group's buckets whose topic `keep` does not list (every one if `keep` is null).
  void remove_locked(const std::string& group, const Rates* keep) REQUIRES(mu_);

  const Clock& clock_;
  mutable std::mutex mu_;
  // topic "" = the group-wide bucket.
  std::map<std::pair<std::string, std::string>, std::shared_ptr<TokenBucket>> buckets_ GUARDED_BY(mu_);
};

}  // namespace tidemq::broker
