#pragma once
// One SendHalf or EndTransaction, validated and handed to the TxnService: the part a request of
// its own (txn_handlers.cc) and each item of a batch (txn_batch_handlers.cc) share, so an item is
// handled exactly like a request of its own.
#include <functional>
#include <string>

#include "broker/dispatch/services.h"
#include "broker/txn/txn_types.h"
#include "common/status.h"
#include "schemas/txn_generated.h"

namespace tidemq::broker::handlers {

using SendHalfDone = std::function<void(Result<txn::SendHalfAck>)>;
using EndDone = std::function<void(Result<txn::Outcome>)>;

// Checks `req` (producer group, topic and records present, sticky storage error, disk low, topic
// and partition exist, one valid record) and stores it as a half-message. `done` gets the ack or
// the error exactly once: at once, on the calling thread, when a check here refuses it (a disk-low
// refusal also counts in metrics.disk_full_rejections), else later from a TxnService thread (see
// TxnService's threads) — build no response in it. `req` is read only during the call.
// Call on the session's strand (`producer_group` is the session's).
void send_half_item(Services& s, const wire::SendHalfRequest* req, const std::string& producer_group,
                    SendHalfDone done);

// Ends the transaction `req` names (txn::Source::kProducer). `done` as for send_half_item: an
// action this broker does not know is refused at once (InvalidArgument).
void end_transaction_item(Services& s, const wire::EndTransactionRequest* req, EndDone done);

}  // namespace tidemq::broker::handlers
