#pragma once
// One stored message as a wire::MessageView (admin queries, check-backs, half-message queries):
// off the hot path, so the record is decoded and copied into the builder.
#include <cstdint>
#include <string_view>

#include <flatbuffers/flatbuffers.h>

#include "broker/store/topic_registry.h"
#include "schemas/envelope_generated.h"

namespace tidemq::broker {

// The record at `offset` of `batch` (a validated record batch), or a null offset if the batch
// does not hold it.
flatbuffers::Offset<wire::MessageView> message_view(flatbuffers::FlatBufferBuilder& fbb, std::string_view topic,
                                                    uint32_t partition, std::string_view batch, uint64_t offset);

// A half-message (a one-record batch, in no partition yet) with its topic named from `topics`
// (empty if the topic was deleted meanwhile); a null offset if the batch does not parse.
flatbuffers::Offset<wire::MessageView> half_message_view(flatbuffers::FlatBufferBuilder& fbb, const TopicRegistry& topics,
                                                         uint32_t topic_id, uint32_t partition, std::string_view batch);

}  // namespace tidemq::broker
