#include "broker/dispatch/handlers/txn_wire.h"

#include "broker/dispatch/message_view.h"

namespace tidemq::broker::handlers {

wire::TxnState state_to_wire(txn::TxnState state) {
  switch (state) {
    case txn::TxnState::kPending: return wire::TxnState::PENDING;
    case txn::TxnState::kParked: return wire::TxnState::PARKED;
    case txn::TxnState::kCommitted: return wire::TxnState::COMMITTED;
    case txn::TxnState::kRolledBack: return wire::TxnState::ROLLED_BACK;
  }
  return wire::TxnState::PENDING;
}

Result<txn::Action> action_from_wire(wire::TxnAction action) {
  switch (action) {
    case wire::TxnAction::COMMIT: return txn::Action::kCommit;
    case wire::TxnAction::ROLLBACK: return txn::Action::kRollback;
    case wire::TxnAction::UNKNOWN: return txn::Action::kUnknown;
  }
  return Status::invalid_argument("unknown transaction action " + std::to_string(static_cast<int>(action)));
}

flatbuffers::Offset<wire::HalfInfo> half_info_to_wire(flatbuffers::FlatBufferBuilder& fbb, const txn::HalfView& h,
                                                      const TopicRegistry& topics) {
  flatbuffers::Offset<wire::MessageView> message;
  if (!h.batch.empty()) message = half_message_view(fbb, topics, h.topic_id, h.partition, h.batch);
  auto group = fbb.CreateString(h.producer_group);
  return wire::CreateHalfInfo(fbb, h.txn_id, group, state_to_wire(h.state), h.check_count, h.age_ms,
                              h.next_check_in_ms, message, h.offset);
}

}  // namespace tidemq::broker::handlers
