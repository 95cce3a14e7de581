#pragma once
// Transaction conversions between broker/txn's plain data and schemas/txn.fbs, shared by the
// transaction handlers and the check-back sender.
#include <flatbuffers/flatbuffers.h>

#include "broker/store/topic_registry.h"
#include "broker/txn/txn_service.h"
#include "schemas/txn_generated.h"

namespace tidemq::broker::handlers {

wire::TxnState state_to_wire(txn::TxnState state);
// InvalidArgument for a value this broker does not know.
Result<txn::Action> action_from_wire(wire::TxnAction action);

// A half-message's view (the message, when it still has one, with its topic's name).
flatbuffers::Offset<wire::HalfInfo> half_info_to_wire(flatbuffers::FlatBufferBuilder& fbb, const txn::HalfView& h,
                                                      const TopicRegistry& topics);

}  // namespace tidemq::broker::handlers
