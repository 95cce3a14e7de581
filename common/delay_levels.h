#pragma once
// RocketMQ's 18 message delay levels (SPEC §7), one home for the client and the broker.
#include <array>
#include <cstdint>

namespace tidemq {

inline constexpr std::array<int64_t, 18> kDelayLevelsMs{
    1'000,   5'000,   10'000,  30'000,  60'000,    120'000,   180'000,   240'000,   300'000,
    360'000, 420'000, 480'000, 540'000, 600'000, 1'200'000, 1'800'000, 3'600'000, 7'200'000};

// The delay of level 1..18 (1 s ... 2 h); 0 for any other level.
constexpr int64_t delay_of_level(uint32_t level) {
  return level >= 1 && level <= kDelayLevelsMs.size() ? kDelayLevelsMs[level - 1] : 0;
}

// The most a message may be scheduled ahead: 3 days.
inline constexpr int64_t kMaxDelayMs = 3LL * 24 * 3600 * 1000;

}  // namespace tidemq
