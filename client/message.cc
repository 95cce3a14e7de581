#include "tidemq/message.h"

#include "common/snowflake.h"

namespace tidemq {

std::string format_message_id(uint64_t id) { return SnowflakeGenerator::to_hex(id); }

int64_t delay_level_ms(uint32_t level) {
  static constexpr int64_t kS = 1000, kM = 60 * kS, kH = 60 * kM;
  static constexpr int64_t kLevels[kMaxDelayLevel] = {1 * kS, 5 * kS, 10 * kS, 30 * kS, 1 * kM,  2 * kM,
                                                      3 * kM, 4 * kM, 5 * kM,  6 * kM,  7 * kM,  8 * kM,
                                                      9 * kM, 10 * kM, 20 * kM, 30 * kM, 1 * kH, 2 * kH};
  if (level == 0 || level > kMaxDelayLevel) return 0;
  return kLevels[level - 1];
}

}  // namespace tidemq
