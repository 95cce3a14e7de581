#pragma once
// What every producer checks and encodes about a message it sends (Producer, TransactionalProducer):
// the record format's limits and the broker's body limit, and the record built from it.
#include <cstdint>

#include "common/record_batch.h"
#include "common/status.h"
#include "tidemq/message.h"

namespace tidemq::client {

// Ok, or InvalidArgument (key, tags, a property key longer than 65535 bytes; more than 65535
// properties) or MessageTooLarge (body over `max_message_bytes`).
Status validate_outgoing(const Message& msg, uint32_t max_message_bytes);

// The record of `msg` under `id`, born at `born_ms`. It points into `msg`: keep `msg` alive and
// unchanged while the record is used.
record::RecordInput record_input(const Message& msg, uint64_t id, uint64_t born_ms);

}  // namespace tidemq::client
