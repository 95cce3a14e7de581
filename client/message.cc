#include "tidemq/message.h"

#include "common/delay_levels.h"
#include "common/snowflake.h"

namespace tidemq {

std::string format_message_id(uint64_t id) { return SnowflakeGenerator::to_hex(id); }

static_assert(kMaxDeliverAheadMs == kMaxDelayMs && kMaxDelayLevel == kDelayLevelsMs.size());

int64_t delay_level_ms(uint32_t level) { return delay_of_level(level); }

}  // namespace tidemq
