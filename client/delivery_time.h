#pragma once
// Scheduled messages (SPEC §7): when a message a producer accepts is due. Checked once, when
// send / send_async accepts the message, so a delay level becomes a fixed time that retries keep.
#include <cstdint>

#include "common/status.h"
#include "tidemq/message.h"

namespace tidemq::client {

// 0 when the message is due now (neither deliver_at_ms nor delay_level set, or a deliver_at_ms
// not after `now_ms`), else the unix ms at which it is due. InvalidArgument when both are set,
// for a delay level above kMaxDelayLevel, or for a due time more than kMaxDeliverAheadMs after
// `now_ms`.
Result<int64_t> due_time(const Message& msg, int64_t now_ms);

}  // namespace tidemq::client
