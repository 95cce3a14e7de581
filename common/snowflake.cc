#include "common/snowflake.h"

#include <cstdio>
#include <thread>

namespace tidemq {

SnowflakeGenerator::SnowflakeGenerator(uint32_t worker_id, const Clock& clock,
                                       int64_t max_backwards_ms, std::function<void()> wait)
    : worker_id_(worker_id), clock_(clock), max_backwards_ms_(max_backwards_ms), wait_(std::move(wait)) {
  TIDEMQ_CHECK(worker_id <= kMaxWorkerId, "worker id must fit in 10 bits");
  if (!wait_) wait_ = [] { std::this_thread::sleep_for(std::chrono::microseconds(100)); };
}

Result<uint64_t> SnowflakeGenerator::next() {
  std::lock_guard lock(mu_);
  for (;;) {
    int64_t now = clock_.now_ms() - kSnowflakeEpochMs;
    if (now < 0) return Status::internal("clock is before the snowflake epoch 2026-01-01");
    if (now < last_ms_) {
      if (last_ms_ - now > max_backwards_ms_) {
        return Status(StatusCode::kUnavailable, "clock moved backwards by " +
                                                    std::to_string(last_ms_ - now) +
                                                    " ms; refusing to generate ids");
      }
      wait_();
      continue;
    }
    if (now == last_ms_) {
      if (sequence_ >= kMaxSequence) {  // 4096 ids used in this millisecond
        wait_();
        continue;
      }
      ++sequence_;
    } else {
      last_ms_ = now;
      sequence_ = 0;
    }
    return (static_cast<uint64_t>(last_ms_) << (kWorkerBits + kSequenceBits)) |
           (uint64_t{worker_id_} << kSequenceBits) | sequence_;
  }
}

SnowflakeParts SnowflakeGenerator::decode(uint64_t id) {
  SnowflakeParts p;
  p.unix_ms = static_cast<int64_t>(id >> (kWorkerBits + kSequenceBits)) + kSnowflakeEpochMs;
  p.worker_id = static_cast<uint32_t>((id >> kSequenceBits) & kMaxWorkerId);
  p.sequence = static_cast<uint32_t>(id & kMaxSequence);
  return p;
}

std::string SnowflakeGenerator::to_hex(uint64_t id) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
  return buf;
}

Result<uint64_t> SnowflakeGenerator::from_hex(std::string_view hex) {
  if (hex.empty() || hex.size() > 16) return Status::invalid_argument("message id must be 1-16 hex digits");
  uint64_t v = 0;
  for (char c : hex) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return Status::invalid_argument("message id must be hex: '" + std::string(hex) + "'");
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

}  // namespace tidemq
