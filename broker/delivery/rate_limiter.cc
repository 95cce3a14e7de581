#include "broker/delivery/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tidemq::broker {
namespace {

constexpr double kMilli = 1000.0;  // milli-tokens per token
// A new bucket starts with at most this much of its rate (the SPEC's default burst).
constexpr double kInitialFillMs = 100.0;
constexpr double kMaxWaitMs = 86'400'000.0;

// Bucket size in milli-tokens: rate × burst, but at least one whole token (a 1 msg/s limit with a
// 100 ms burst must still deliver).
double capacity(double rate, uint32_t burst_ms) { return std::max(kMilli, rate * burst_ms); }

// Whole tokens in `milli_tokens`, at most `cap`: a huge or infinite rate (a group config may set
// one) gives more tokens than a uint64_t holds, and converting such a double is undefined.
uint64_t whole_tokens(double milli_tokens, uint64_t cap) {
  const double n = milli_tokens / kMilli;
  if (n <= 0) return 0;
  return n >= static_cast<double>(cap) ? cap : static_cast<uint64_t>(n);
}

}  // namespace

TokenBucket::TokenBucket(double msgs_per_sec, double bytes_per_sec, uint32_t burst_ms, int64_t now_ms) {
  std::lock_guard lock(mu_);
  last_ms_ = now_ms;
  msg_rate_ = std::max(0.0, msgs_per_sec);
  byte_rate_ = std::max(0.0, bytes_per_sec);
  msg_cap_ = capacity(msg_rate_, burst_ms);
  byte_cap_ = capacity(byte_rate_, burst_ms);
  // Full for the default 100 ms burst; a longer burst_ms fills up over time instead of starting
  // with a large burst.
  msg_tokens_ = std::min(msg_cap_, std::max(kMilli, msg_rate_ * kInitialFillMs));
  byte_tokens_ = std::min(byte_cap_, std::max(kMilli, byte_rate_ * kInitialFillMs));
}

void TokenBucket::refill(int64_t now_ms) {
  if (now_ms <= last_ms_) return;  // time never goes back for a bucket
  const double elapsed = static_cast<double>(now_ms - last_ms_);
  last_ms_ = now_ms;
  // rate tokens/s = rate milli-tokens/ms.
  if (msg_rate_ > 0) msg_tokens_ = std::min(msg_cap_, msg_tokens_ + msg_rate_ * elapsed);
  if (byte_rate_ > 0) byte_tokens_ = std::min(byte_cap_, byte_tokens_ + byte_rate_ * elapsed);
}

void TokenBucket::set_rates(double msgs_per_sec, double bytes_per_sec, uint32_t burst_ms, int64_t now_ms) {
  std::lock_guard lock(mu_);
  refill(now_ms);  // what accrued so far accrued at the old rates
  const double msg_rate = std::max(0.0, msgs_per_sec);
  const double byte_rate = std::max(0.0, bytes_per_sec);
  msg_cap_ = capacity(msg_rate, burst_ms);
  byte_cap_ = capacity(byte_rate, burst_ms);
  // A dimension that was unlimited starts like a new bucket; a limited one keeps its tokens (and
  // its debt), capped by the new size.
  if (msg_rate_ <= 0) msg_tokens_ = std::max(kMilli, msg_rate * kInitialFillMs);
  if (byte_rate_ <= 0) byte_tokens_ = std::max(kMilli, byte_rate * kInitialFillMs);
  msg_tokens_ = std::min(msg_tokens_, msg_cap_);
  byte_tokens_ = std::min(byte_tokens_, byte_cap_);
  msg_rate_ = msg_rate;
  byte_rate_ = byte_rate;
}

bool TokenBucket::msgs_ready() const {
  return (msg_rate_ <= 0 || msg_tokens_ >= kMilli) && (byte_rate_ <= 0 || byte_tokens_ >= kMilli);
}

uint64_t TokenBucket::available(uint64_t want, int64_t now_ms) {
  std::lock_guard lock(mu_);
  refill(now_ms);
  if (!msgs_ready()) return 0;
  if (msg_rate_ <= 0) return want;
  return whole_tokens(msg_tokens_, want);
}

uint64_t TokenBucket::available_bytes(int64_t now_ms) {
  std::lock_guard lock(mu_);
  refill(now_ms);
  if (!msgs_ready()) return 0;
  if (byte_rate_ <= 0) return std::numeric_limits<uint64_t>::max();
  return whole_tokens(byte_tokens_, std::numeric_limits<uint64_t>::max());
}

void TokenBucket::charge(uint64_t msgs, uint64_t bytes, int64_t now_ms) {
  std::lock_guard lock(mu_);
  refill(now_ms);
  // Either budget may go negative (concurrent fetches, a message larger than the byte budget):
  // the debt is paid back by refilling before anything more is granted, so the rate holds.
  if (msg_rate_ > 0) msg_tokens_ -= static_cast<double>(msgs) * kMilli;
  if (byte_rate_ > 0) byte_tokens_ -= static_cast<double>(bytes) * kMilli;
}

int64_t TokenBucket::wait_ms(int64_t now_ms) {
  std::lock_guard lock(mu_);
  refill(now_ms);
  if (msgs_ready()) return 0;
  // Each limited dimension needs one whole token; they refill at the same time, so wait for the
  // slower one. rate milli-tokens accrue per ms.
  double wait = 1;
  if (msg_rate_ > 0 && msg_tokens_ < kMilli) wait = std::max(wait, std::ceil((kMilli - msg_tokens_) / msg_rate_));
  if (byte_rate_ > 0 && byte_tokens_ < kMilli) {
    wait = std::max(wait, std::ceil((kMilli - byte_tokens_) / byte_rate_));
  }
  // A tiny rate (a group config may set 1e-300/s) would wait longer than an int64_t counts: a
  // day is as good as forever here, and the caller asks again then.
  return static_cast<int64_t>(std::min(wait, kMaxWaitMs));
}

RateLimiters::RateLimiters(const Clock& clock) : clock_(clock) {}

void RateLimiters::configure(const GroupConfig& config) {
  const int64_t now = clock_.monotonic_ms();
  auto limited = [](double msgs, double bytes) { return msgs > 0 || bytes > 0; };
  // The buckets `config` asks for; a listed topic without limits maps to nullptr (unlimited,
  // even when the group has a limit).
  Rates wanted;
  if (limited(config.max_msgs_per_sec, config.max_bytes_per_sec)) {
    wanted[""] = {config.max_msgs_per_sec, config.max_bytes_per_sec};
  }
  for (const auto& tr : config.topic_rates) {
    if (!tr.topic.empty()) wanted[tr.topic] = {tr.max_msgs_per_sec, tr.max_bytes_per_sec};
  }
  const bool any = std::any_of(wanted.begin(), wanted.end(),
                               [&](const auto& w) { return limited(w.second.first, w.second.second); });

  std::lock_guard lock(mu_);
  remove_locked(config.name, any ? &wanted : nullptr);
  if (!any) return;
  for (const auto& [topic, rates] : wanted) {
    auto& bucket = buckets_[{config.name, topic}];
    if (!limited(rates.first, rates.second)) {
      bucket = nullptr;
    } else if (bucket) {
      bucket->set_rates(rates.first, rates.second, config.burst_ms, now);
    } else {
      bucket = std::make_shared<TokenBucket>(rates.first, rates.second, config.burst_ms, now);
    }
  }
}

void RateLimiters::remove(const std::string& group) {
  std::lock_guard lock(mu_);
  remove_locked(group, nullptr);
}

void RateLimiters::remove_locked(const std::string& group, const Rates* keep) {
  for (auto it = buckets_.lower_bound({group, ""}); it != buckets_.end() && it->first.first == group;) {
    if (keep != nullptr && keep->contains(it->first.second)) {
      ++it;
    } else {
      it = buckets_.erase(it);
    }
  }
}

std::shared_ptr<TokenBucket> RateLimiters::find(const std::string& group, const std::string& topic) const {
  std::lock_guard lock(mu_);
  auto it = buckets_.find({group, topic});
  if (it == buckets_.end()) it = buckets_.find({group, ""});
  return it == buckets_.end() ? nullptr : it->second;
}

}  // namespace tidemq::broker
