#include "client/outgoing_message.h"

#include <string>

namespace tidemq::client {

Status validate_outgoing(const Message& msg, uint32_t max_message_bytes) {
  if (msg.key.size() > record::kMaxKeyBytes) return Status::invalid_argument("key longer than 65535 bytes");
  if (msg.tags.size() > record::kMaxKeyBytes) return Status::invalid_argument("tags longer than 65535 bytes");
  if (msg.properties.size() > 0xffff) return Status::invalid_argument("too many properties");
  for (const auto& [k, v] : msg.properties) {
    if (k.size() > 0xffff) return Status::invalid_argument("property key longer than 65535 bytes");
  }
  if (msg.body.size() > max_message_bytes) {
    return Status(StatusCode::kMessageTooLarge, "body of " + std::to_string(msg.body.size()) +
                                                    " bytes exceeds the broker's max of " +
                                                    std::to_string(max_message_bytes));
  }
  return Status::ok();
}

record::RecordInput record_input(const Message& msg, uint64_t id, uint64_t born_ms) {
  record::RecordInput in;
  in.id = id;
  in.born_ms = born_ms;
  in.key = msg.key;
  in.tags = msg.tags;
  in.properties = &msg.properties;
  in.body = msg.body;
  return in;
}

}  // namespace tidemq::client
