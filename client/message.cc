#include "tidemq/message.h"

#include "common/snowflake.h"

namespace tidemq {

std::string format_message_id(uint64_t id) { return SnowflakeGenerator::to_hex(id); }

}  // namespace tidemq
