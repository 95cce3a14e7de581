// Transactions, producer side, batched (schemas/txn.fbs SendHalfBatch, EndTransactionBatch): each
// item goes through the same code as a request of its own (txn_items.h), with its own outcome;
// the batch is answered once, when its last item is done, with the results in item order.
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "broker/dispatch/error_codes.h"
#include "broker/dispatch/handlers/handlers.h"
#include "broker/dispatch/handlers/txn_items.h"
#include "broker/dispatch/handlers/txn_wire.h"

namespace tidemq::broker::handlers {

namespace {

// More items than this in one batch: INVALID_ARGUMENT for the whole request.
constexpr size_t kMaxTxnBatchItems = 4096;

template <typename T>
using Results = std::vector<std::optional<Result<T>>>;  // slot i: item i's result, set once

// The items of one batch in flight. Item callbacks run on any thread, concurrently: each writes
// only its own slot of `results`, then counts itself out of `left`; the acq_rel decrement makes
// every other item's write visible to the callback that takes `left` to 0, which posts `reply`
// to the session's strand (responses are never built on a TxnService thread).
template <typename T>
struct BatchState {
  using Reply = std::function<void(const Responder&, const Results<T>&)>;
  BatchState(Responder r, size_t n, Reply fn) : responder(std::move(r)), reply(std::move(fn)), results(n), left(n) {}

  Responder responder;
  Reply reply;
  Results<T> results;
  std::atomic<size_t> left;  // items whose callback has not run yet
};

// Runs `item(i, done)` for items 0..n-1 (n > 0); once every `done` ran, `reply(responder,
// results)` runs on the session's strand with each item's result at its index.
template <typename T, typename Item, typename Reply>
void run_batch(const Responder& responder, size_t n, Item item, Reply reply) {
  auto state = std::make_shared<BatchState<T>>(responder, n, std::move(reply));
  for (size_t i = 0; i < n; ++i) {
    item(i, [state, i](Result<T> r) {
      state->results[i].emplace(std::move(r));
      if (state->left.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
      asio::post(state->responder.session().strand(), [state] { state->reply(state->responder, state->results); });
    });
  }
}

// INVALID_ARGUMENT for a batch without items or with too many; ok otherwise.
Status check_batch_size(const char* what, const char* items, size_t n) {
  if (n == 0) return Status::invalid_argument(std::string(what) + " has no " + items);
  if (n > kMaxTxnBatchItems) {
    return Status::invalid_argument(std::string(what) + " holds at most " + std::to_string(kMaxTxnBatchItems) +
                                    " " + items + ", not " + std::to_string(n));
  }
  return Status::ok();
}

// The error fields of an item's result: NONE and no message when it succeeded.
template <typename T>
std::pair<wire::ErrorCode, flatbuffers::Offset<flatbuffers::String>> item_error(flatbuffers::FlatBufferBuilder& fbb,
                                                                                const Result<T>& r) {
  if (r.is_ok()) return {wire::ErrorCode::NONE, {}};
  return {to_wire(r.status().code()), fbb.CreateString(r.status().message())};
}

}  // namespace

void send_half_batch(Services& s, Request& r) {
  const auto* req = r.envelope.body_as_SendHalfBatchRequest();
  const auto* halves = req->halves();
  if (Status size = check_batch_size("a SendHalf batch", "halves", halves ? halves->size() : 0); !size.is_ok()) {
    r.responder.fail(size);
    return;
  }
  const std::string& group = r.responder.session().client().producer_group;
  run_batch<txn::SendHalfAck>(
      r.responder, halves->size(),
      [&](size_t i, SendHalfDone done) { send_half_item(s, halves->Get(i), group, std::move(done)); },
      [](const Responder& responder, const Results<txn::SendHalfAck>& results) {
        flatbuffers::FlatBufferBuilder fbb(64 + 48 * results.size());
        std::vector<flatbuffers::Offset<wire::SendHalfResult>> items;
        items.reserve(results.size());
        for (const auto& result : results) {
          const Result<txn::SendHalfAck>& ack = *result;
          auto [error, message] = item_error(fbb, ack);
          items.push_back(ack.is_ok() ? wire::CreateSendHalfResult(fbb, error, message, ack->txn_id,
                                                                   static_cast<uint64_t>(ack->store_ms))
                                      : wire::CreateSendHalfResult(fbb, error, message));
        }
        auto body = wire::CreateSendHalfBatchResponse(fbb, fbb.CreateVector(items));
        responder.reply(fbb, wire::Body::SendHalfBatchResponse, body.Union());
      });
}

void end_transaction_batch(Services& s, Request& r) {
  const auto* req = r.envelope.body_as_EndTransactionBatchRequest();
  const auto* ends = req->ends();
  if (Status size = check_batch_size("an EndTransaction batch", "ends", ends ? ends->size() : 0); !size.is_ok()) {
    r.responder.fail(size);
    return;
  }
  run_batch<txn::Outcome>(
      r.responder, ends->size(), [&](size_t i, EndDone done) { end_transaction_item(s, ends->Get(i), std::move(done)); },
      [&s](const Responder& responder, const Results<txn::Outcome>& results) {
        flatbuffers::FlatBufferBuilder fbb(64 + 64 * results.size());
        std::vector<flatbuffers::Offset<wire::EndTransactionResult>> items;
        items.reserve(results.size());
        for (const auto& result : results) {
          const Result<txn::Outcome>& out = *result;
          auto [error, message] = item_error(fbb, out);
          if (!out.is_ok()) {
            items.push_back(wire::CreateEndTransactionResult(fbb, error, message));
            continue;
          }
          flatbuffers::Offset<flatbuffers::String> topic;
          if (out->state == txn::TxnState::kCommitted) {
            auto t = s.topics.find_by_id(out->topic_id);
            topic = fbb.CreateString(t ? t->name : std::string());
          }
          items.push_back(wire::CreateEndTransactionResult(fbb, error, message, state_to_wire(out->state), topic,
                                                           out->partition, out->offset));
        }
        auto body = wire::CreateEndTransactionBatchResponse(fbb, fbb.CreateVector(items));
        responder.reply(fbb, wire::Body::EndTransactionBatchResponse, body.Union());
      });
}

}  // namespace tidemq::broker::handlers
