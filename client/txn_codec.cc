#include "client/txn_codec.h"

#include "client/decode.h"
#include "common/check.h"

namespace tidemq::client {
namespace {

std::string str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

}  // namespace

wire::TxnAction txn_action_to_wire(TxnAction action) {
  switch (action) {
    case TxnAction::kCommit: return wire::TxnAction::COMMIT;
    case TxnAction::kRollback: return wire::TxnAction::ROLLBACK;
    case TxnAction::kUnknown: return wire::TxnAction::UNKNOWN;
  }
  TIDEMQ_CHECK(false, "TxnAction out of range");
  return wire::TxnAction::UNKNOWN;
}

TxnAction txn_action_from_wire(wire::TxnAction action) {
  switch (action) {
    case wire::TxnAction::COMMIT: return TxnAction::kCommit;
    case wire::TxnAction::ROLLBACK: return TxnAction::kRollback;
    case wire::TxnAction::UNKNOWN: return TxnAction::kUnknown;
  }
  return TxnAction::kUnknown;  // an action from a newer peer
}

wire::TxnState txn_state_to_wire(TxnState state) {
  switch (state) {
    case TxnState::kPending: return wire::TxnState::PENDING;
    case TxnState::kParked: return wire::TxnState::PARKED;
    case TxnState::kCommitted: return wire::TxnState::COMMITTED;
    case TxnState::kRolledBack: return wire::TxnState::ROLLED_BACK;
  }
  TIDEMQ_CHECK(false, "TxnState out of range");
  return wire::TxnState::PENDING;
}

TxnState txn_state_from_wire(wire::TxnState state) {
  switch (state) {
    case wire::TxnState::PENDING: return TxnState::kPending;
    case wire::TxnState::PARKED: return TxnState::kParked;
    case wire::TxnState::COMMITTED: return TxnState::kCommitted;
    case wire::TxnState::ROLLED_BACK: return TxnState::kRolledBack;
  }
  return TxnState::kPending;  // a state from a newer broker: not known to be resolved
}

HalfStatus half_status_from_wire(const wire::HalfStatusResponse& r) {
  HalfStatus out;
  out.pending = r.pending();
  out.parked = r.parked();
  out.oldest_age_ms = r.oldest_age_ms();
  if (r.groups()) {
    out.groups.reserve(r.groups()->size());
    for (const auto* g : *r.groups()) {
      out.groups.push_back({str(g->producer_group()), g->pending(), g->parked(), g->oldest_age_ms(),
                            g->live_producers()});
    }
  }
  if (r.checks_histogram()) out.checks_histogram.assign(r.checks_histogram()->begin(), r.checks_histogram()->end());
  out.checks_sent = r.checks_sent();
  out.outcomes_committed = r.outcomes_committed();
  out.outcomes_rolled_back = r.outcomes_rolled_back();
  return out;
}

HalfInfo half_info_from_wire(const wire::HalfInfo& h) {
  HalfInfo out;
  out.txn_id = h.txn_id();
  out.producer_group = str(h.producer_group());
  out.state = txn_state_from_wire(h.state());
  out.check_count = h.check_count();
  out.age_ms = h.age_ms();
  out.next_check_in_ms = h.next_check_in_ms();
  if (h.message()) out.message = message_from_view(*h.message());
  out.offset = h.offset();
  return out;
}

std::vector<ProducerConnection> producer_connections_from_wire(const wire::ProducerConnectionResponse& r) {
  std::vector<ProducerConnection> out;
  if (!r.producers()) return out;
  out.reserve(r.producers()->size());
  for (const auto* p : *r.producers()) {
    out.push_back({str(p->client_id()), str(p->address()), static_cast<int64_t>(p->connected_ms()), p->session_id()});
  }
  return out;
}

}  // namespace tidemq::client
