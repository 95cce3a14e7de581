#pragma once
// Retry policies as data (SPEC §7): the delay before each redelivery of a message a consumer
// gave back. A group's config names one (`GroupConfig::retry_policy`); the send-back path asks it
// for the delay of attempt n. Pure: no I/O, no clock.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/delay_levels.h"
#include "common/status.h"

namespace tidemq {

struct RetryPolicy {
  // delays_ms[i] is the delay before redelivery i + 1; past the end the last one repeats.
  std::vector<int64_t> delays_ms;

  // The delay before the delivery with reconsume_times == `attempt` (1 = the first retry).
  int64_t delay_ms(uint32_t attempt) const;

  // "default" (also ""): RocketMQ's 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h;
  // "exponential": 5 s × 2^n up to 2 h; "notify": 15s 15s 30s 3m 10m 20m 30m 30m 30m 60m 3h 3h 3h
  // 6h 6h (the payment-callback schedule); or a comma list of 1..64 delays, each a number with
  // unit ms, s, m or h, from 1 ms to 3 days ("500ms,2s,1m"). InvalidArgument otherwise.
  static Result<RetryPolicy> parse(std::string_view text);
};

// RocketMQ's default number of redeliveries before the dead-letter queue.
inline constexpr uint32_t kDefaultMaxReconsumeTimes = 16;

}  // namespace tidemq
