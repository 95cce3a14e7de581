#pragma once
// Wire -> public types for responses shared by Admin, PartitionReader and Producer.
#include <string_view>
#include <vector>

#include "common/record_batch.h"
#include "schemas/envelope_generated.h"
#include "tidemq/admin.h"
#include "tidemq/message.h"

namespace tidemq::client {

Message message_from_view(const wire::MessageView& m);
// One stored record as a Message of `topic`/`partition`.
Message message_from_record(const record::RecordView& r, std::string_view topic, uint32_t partition);
TopicStatus topic_status_from_wire(const wire::TopicStatusResponse& r);

}  // namespace tidemq::client
