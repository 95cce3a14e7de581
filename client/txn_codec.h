#pragma once
// Transactions: public types (tidemq/txn_types.h, tidemq/admin.h) <-> wire tables
// (schemas/txn.fbs). Pure conversions, no I/O; used by txn_admin.cc and unit-tested on their own.
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "schemas/envelope_generated.h"
#include "tidemq/admin.h"
#include "tidemq/txn_types.h"

namespace tidemq::client {

wire::TxnAction txn_action_to_wire(TxnAction action);
// A value this client does not know (a newer broker) reads as kUnknown (changes nothing).
TxnAction txn_action_from_wire(wire::TxnAction action);

wire::TxnState txn_state_to_wire(TxnState state);
// A value this client does not know (a newer broker) reads as kPending (not resolved).
TxnState txn_state_from_wire(wire::TxnState state);

// Absent fields read as their defaults (no groups, empty histogram, zero counters).
HalfStatus half_status_from_wire(const wire::HalfStatusResponse& response);
// The message is set only when the wire table carries one.
HalfInfo half_info_from_wire(const wire::HalfInfo& half);
std::vector<ProducerConnection> producer_connections_from_wire(const wire::ProducerConnectionResponse& response);

}  // namespace tidemq::client
