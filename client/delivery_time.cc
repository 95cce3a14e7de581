#include "client/delivery_time.h"

#include <string>

namespace tidemq::client {

Result<int64_t> due_time(const Message& msg, int64_t now_ms) {
  if (msg.deliver_at_ms != 0 && msg.delay_level != 0) {
    return Status::invalid_argument("set deliver_at_ms or delay_level, not both");
  }
  int64_t due = msg.deliver_at_ms;
  if (msg.delay_level != 0) {
    if (msg.delay_level > kMaxDelayLevel) {
      return Status::invalid_argument("delay_level " + std::to_string(msg.delay_level) + " is above " +
                                      std::to_string(kMaxDelayLevel));
    }
    due = now_ms + delay_level_ms(msg.delay_level);
  }
  if (due <= now_ms) return int64_t{0};
  if (due - now_ms > kMaxDeliverAheadMs) {
    return Status::invalid_argument("deliver_at_ms " + std::to_string(due) + " is more than 3 days ahead");
  }
  return due;
}

}  // namespace tidemq::client
