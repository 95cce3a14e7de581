#pragma once
// Transaction requests over a RawClient that says Hello as a producer of a producer group, for
// tests of the broker's transaction handlers and check-backs without the client library. A
// CheckTransactionRequest that arrives while waiting for a response is kept for next_check().
#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "common/record_batch.h"
#include "tests/integration/raw_client.h"

namespace tidemq::test {

class TxnWire {
 public:
  TxnWire(uint16_t port, const std::string& producer_group, const std::string& client_id = "txn-test")
      : client_(port) {
    flatbuffers::FlatBufferBuilder fbb;
    auto h = wire::CreateHelloRequest(fbb, fbb.CreateString(client_id), wire::ClientKind::PRODUCER, 1,
                                      fbb.CreateString(producer_group));
    auto frame = call(fbb, wire::Body::HelloRequest, h);
    REQUIRE(envelope_of(frame).body_type() == wire::Body::HelloResponse);
  }

  // Sends `body` and returns the response frame with the same correlation id.
  template <typename T>
  std::string call(flatbuffers::FlatBufferBuilder& fbb, wire::Body type, flatbuffers::Offset<T> body) {
    return request(client_, ++next_id_, fbb, type, body, [this](std::string frame) {
      if (envelope_of(frame).body_type() == wire::Body::CheckTransactionRequest) checks_.push_back(std::move(frame));
    });
  }

  struct Reply {
    wire::ErrorCode error = wire::ErrorCode::NONE;
    std::string message;
    uint64_t txn_id = 0;
    wire::TxnState state = wire::TxnState::PENDING;
    uint64_t offset = 0;
    uint32_t check_count = 0;
    int64_t next_check_in_ms = 0;
    uint64_t store_ms = 0;  // SendHalf
    std::string topic;      // EndTransaction, COMMITTED
    uint32_t partition = 0;
  };

  // A batch request's answer: an envelope error (and no items), or one Reply per item, in order.
  struct BatchReply {
    wire::ErrorCode error = wire::ErrorCode::NONE;
    std::string message;
    std::vector<Reply> items;
  };

  // One record with id `txn_id` as a half-message.
  Reply send_half(const std::string& topic, uint64_t txn_id, const std::string& body = "order",
                  uint32_t immunity_ms = 0, uint32_t partition = 0) {
    flatbuffers::FlatBufferBuilder fbb;
    auto req = half_request(fbb, {topic, txn_id, partition, body, immunity_ms});
    auto frame = call(fbb, wire::Body::SendHalfRequest, req);
    Reply out = error_of(frame);
    if (const auto* ack = envelope_of(frame).body_as_SendHalfResponse()) {
      out.txn_id = ack->txn_id();
      out.store_ms = ack->store_ms();
    }
    return out;
  }

  // One item of a SendHalf batch.
  struct Half {
    std::string topic;
    uint64_t txn_id = 0;
    uint32_t partition = 0;
    std::string body = "order";
    uint32_t immunity_ms = 0;
  };
  BatchReply send_half_batch(const std::vector<Half>& halves) {
    flatbuffers::FlatBufferBuilder fbb;
    std::vector<flatbuffers::Offset<wire::SendHalfRequest>> items;
    for (const auto& h : halves) items.push_back(half_request(fbb, h));
    auto req = wire::CreateSendHalfBatchRequest(fbb, fbb.CreateVector(items));
    auto frame = call(fbb, wire::Body::SendHalfBatchRequest, req);
    BatchReply out = batch_error_of(frame);
    if (const auto* r = envelope_of(frame).body_as_SendHalfBatchResponse(); r && r->results()) {
      for (const auto* item : *r->results()) {
        Reply one;
        one.error = item->error();
        if (item->error_message()) one.message = item->error_message()->str();
        one.txn_id = item->txn_id();
        one.store_ms = item->store_ms();
        out.items.push_back(std::move(one));
      }
    }
    return out;
  }
  // One half per id, all to partition 0 of `topic`.
  BatchReply send_half_batch(const std::string& topic, const std::vector<uint64_t>& ids) {
    std::vector<Half> halves;
    for (uint64_t id : ids) halves.push_back({topic, id});
    return send_half_batch(halves);
  }

  Reply end(uint64_t txn_id, wire::TxnAction action) {
    flatbuffers::FlatBufferBuilder fbb;
    auto frame = call(fbb, wire::Body::EndTransactionRequest, wire::CreateEndTransactionRequest(fbb, txn_id, action));
    Reply out = error_of(frame);
    if (const auto* r = envelope_of(frame).body_as_EndTransactionResponse()) {
      out.txn_id = txn_id;
      out.state = r->state();
      out.offset = r->offset();
    }
    return out;
  }

  BatchReply end_batch(const std::vector<std::pair<uint64_t, wire::TxnAction>>& ends) {
    flatbuffers::FlatBufferBuilder fbb;
    std::vector<flatbuffers::Offset<wire::EndTransactionRequest>> items;
    for (const auto& [txn_id, action] : ends) items.push_back(wire::CreateEndTransactionRequest(fbb, txn_id, action));
    auto req = wire::CreateEndTransactionBatchRequest(fbb, fbb.CreateVector(items));
    auto frame = call(fbb, wire::Body::EndTransactionBatchRequest, req);
    BatchReply out = batch_error_of(frame);
    if (const auto* r = envelope_of(frame).body_as_EndTransactionBatchResponse(); r && r->results()) {
      for (size_t i = 0; i < r->results()->size(); ++i) {
        const auto* item = r->results()->Get(i);
        Reply one;
        one.error = item->error();
        if (item->error_message()) one.message = item->error_message()->str();
        one.txn_id = i < ends.size() ? ends[i].first : 0;
        one.state = item->state();
        if (item->topic()) one.topic = item->topic()->str();
        one.partition = item->partition();
        one.offset = item->offset();
        out.items.push_back(std::move(one));
      }
    }
    return out;
  }

  Reply query(uint64_t txn_id) {
    flatbuffers::FlatBufferBuilder fbb;
    auto frame = call(fbb, wire::Body::QueryHalfRequest, wire::CreateQueryHalfRequest(fbb, txn_id));
    Reply out = error_of(frame);
    if (const auto* r = envelope_of(frame).body_as_QueryHalfResponse(); r && r->half()) out = half_of(*r->half());
    return out;
  }

  Reply resume(uint64_t txn_id) {
    flatbuffers::FlatBufferBuilder fbb;
    auto frame = call(fbb, wire::Body::ResumeHalfRequest, wire::CreateResumeHalfRequest(fbb, txn_id));
    Reply out = error_of(frame);
    if (const auto* r = envelope_of(frame).body_as_ResumeHalfResponse(); r && r->half()) out = half_of(*r->half());
    return out;
  }

  Reply operator_end(uint64_t txn_id, wire::TxnAction action) {
    flatbuffers::FlatBufferBuilder fbb;
    auto frame = call(fbb, wire::Body::EndHalfRequest, wire::CreateEndHalfRequest(fbb, txn_id, action));
    Reply out = error_of(frame);
    if (const auto* r = envelope_of(frame).body_as_EndHalfResponse(); r && r->half()) out = half_of(*r->half());
    return out;
  }

  struct Status {
    uint64_t pending = 0, parked = 0, checks_sent = 0, committed = 0, rolled_back = 0;
  };
  Status half_status(const std::string& group = "") {
    flatbuffers::FlatBufferBuilder fbb;
    auto frame = call(fbb, wire::Body::HalfStatusRequest, wire::CreateHalfStatusRequest(fbb, fbb.CreateString(group)));
    const auto* r = envelope_of(frame).body_as_HalfStatusResponse();
    REQUIRE(r != nullptr);
    return {r->pending(), r->parked(), r->checks_sent(), r->outcomes_committed(), r->outcomes_rolled_back()};
  }

  std::vector<std::string> producers(const std::string& group) {
    flatbuffers::FlatBufferBuilder fbb;
    auto frame = call(fbb, wire::Body::ProducerConnectionRequest,
                      wire::CreateProducerConnectionRequest(fbb, fbb.CreateString(group)));
    std::vector<std::string> out;
    if (const auto* r = envelope_of(frame).body_as_ProducerConnectionResponse()) {
      for (const auto* p : *r->producers()) out.push_back(p->client_id()->str());
    }
    return out;
  }

  struct Check {
    uint64_t correlation_id = 0;
    uint64_t txn_id = 0;
    uint32_t check_count = 0;
    std::string group;
    std::string body;
  };
  // The next check-back sent to this connection (waits up to the socket's 5 s read timeout).
  std::optional<Check> next_check() {
    std::string frame;
    if (!checks_.empty()) {
      frame = std::move(checks_.front());
      checks_.pop_front();
    } else {
      auto f = client_.read_frame();
      if (!f) return std::nullopt;
      frame = std::move(*f);
    }
    const auto& env = envelope_of(frame);
    REQUIRE(env.body_type() == wire::Body::CheckTransactionRequest);
    const auto* c = env.body_as_CheckTransactionRequest();
    Check out{env.correlation_id(), c->txn_id(), c->check_count(), c->producer_group()->str(), ""};
    if (c->message() && c->message()->body()) {
      out.body.assign(reinterpret_cast<const char*>(c->message()->body()->data()), c->message()->body()->size());
    }
    return out;
  }
  // Whether a frame (a check-back) is waiting unread.
  bool has_unread() { return !checks_.empty() || client_.socket().available() > 0; }

  void answer(const Check& c, wire::TxnAction action) {
    flatbuffers::FlatBufferBuilder fbb;
    auto body = wire::CreateCheckTransactionResponse(fbb, c.txn_id, action);
    fbb.Finish(wire::CreateEnvelope(fbb, c.correlation_id, wire::Body::CheckTransactionResponse, body.Union()));
    client_.send_frame(fbb);
  }

 private:
  static flatbuffers::Offset<wire::SendHalfRequest> half_request(flatbuffers::FlatBufferBuilder& fbb, const Half& h) {
    record::BatchBuilder b;
    record::RecordInput r;
    r.id = h.txn_id;
    r.born_ms = 1;
    r.body = h.body;
    b.add(r);
    std::string batch = b.finish(0, 0);
    auto recs = fbb.CreateVector(reinterpret_cast<const uint8_t*>(batch.data()), batch.size());
    return wire::CreateSendHalfRequest(fbb, fbb.CreateString(h.topic), h.partition, recs, h.immunity_ms);
  }
  static BatchReply batch_error_of(const std::string& frame) {
    const auto& env = envelope_of(frame);
    BatchReply out;
    out.error = env.error();
    if (env.error_message()) out.message = env.error_message()->str();
    return out;
  }
  static Reply error_of(const std::string& frame) {
    const auto& env = envelope_of(frame);
    Reply out;
    out.error = env.error();
    if (env.error_message()) out.message = env.error_message()->str();
    return out;
  }
  static Reply half_of(const wire::HalfInfo& h) {
    Reply out;
    out.txn_id = h.txn_id();
    out.state = h.state();
    out.offset = h.offset();
    out.check_count = h.check_count();
    out.next_check_in_ms = h.next_check_in_ms();
    return out;
  }

  RawClient client_;
  uint64_t next_id_ = 0;
  std::deque<std::string> checks_;
};

}  // namespace tidemq::test
