#include "tests/schemas/wire_samples.h"

#include "common/record_batch.h"

namespace tidemq::test {

namespace fb = flatbuffers;
using namespace tidemq::wire;

std::string sample_record_batch(int count, uint64_t base_offset) {
  record::BatchBuilder b;
  std::vector<std::pair<std::string, std::string>> props = {{"trace", "abc"}, {"k", ""}};
  for (int i = 0; i < count; ++i) {
    std::string key = "key-" + std::to_string(i);
    std::string body(static_cast<size_t>(i * 7 + 1), static_cast<char>('a' + i % 26));
    record::RecordInput r;
    r.id = 1000 + static_cast<uint64_t>(i);
    r.born_ms = 1'767'225'600'000 + static_cast<uint64_t>(i);
    r.key = key;
    r.tags = (i % 2) ? "TagA" : "";
    r.properties = (i % 3 == 0) ? &props : nullptr;
    r.body = body;
    b.add(r);
  }
  std::string out = b.finish(/*producer_id=*/7, /*base_sequence=*/3);
  record::stamp(out, base_offset, 1'767'225'601'000);
  return out;
}

namespace {

fb::Offset<fb::Vector<uint8_t>> bytes(fb::FlatBufferBuilder& fbb, const std::string& s) {
  return fbb.CreateVector(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

fb::Offset<TopicConfig> topic_config(fb::FlatBufferBuilder& fbb) {
  return CreateTopicConfigDirect(fbb, "orders", 4, 3'600'000, 1 << 30);
}

fb::Offset<fb::Vector<fb::Offset<KeyValue>>> key_values(fb::FlatBufferBuilder& fbb) {
  std::vector<fb::Offset<KeyValue>> kvs = {CreateKeyValueDirect(fbb, "connections", "3"),
                                           CreateKeyValueDirect(fbb, "messages_in", "12345")};
  return fbb.CreateVector(kvs);
}

fb::Offset<MessageView> message_view(fb::FlatBufferBuilder& fbb, uint64_t offset) {
  std::vector<fb::Offset<KeyValue>> props = {CreateKeyValueDirect(fbb, "a", "b")};
  std::vector<uint8_t> body = {'h', 'e', 'l', 'l', 'o', 0, 1, 2};
  return CreateMessageViewDirect(fbb, "orders", 1, offset, 0x1234, "o-1", "TagA", &props, &body,
                                 1'767'225'600'000, 1'767'225'600'005, 2);
}

fb::Offset<void> body_of(fb::FlatBufferBuilder& fbb, Body kind) {
  switch (kind) {
    case Body::NONE:
      return 0;
    case Body::HelloRequest:
      return CreateHelloRequestDirect(fbb, "client-1", ClientKind::PRODUCER, 1, "pg", "token")
          .Union();
    case Body::HelloResponse:
      return CreateHelloResponseDirect(fbb, "0.1.0", 1, 17, 16u << 20, 4u << 20, "sync").Union();
    case Body::ProduceRequest: {
      std::vector<fb::Offset<PartitionBatch>> batches = {
          CreatePartitionBatch(fbb, 0, bytes(fbb, sample_record_batch(3))),
          CreatePartitionBatch(fbb, 2, bytes(fbb, sample_record_batch(1)))};
      return CreateProduceRequestDirect(fbb, "orders", &batches).Union();
    }
    case Body::ProduceResponse: {
      std::vector<fb::Offset<PartitionAck>> acks = {
          CreatePartitionAckDirect(fbb, 0, ErrorCode::NONE, nullptr, 100, 3, 1'767'225'600'000),
          CreatePartitionAckDirect(fbb, 2, ErrorCode::MESSAGE_TOO_LARGE, "too big", 0, 0, 0,
                                   true)};
      return CreateProduceResponseDirect(fbb, "orders", &acks).Union();
    }
    case Body::FetchRequest: {
      std::vector<fb::Offset<FetchPartition>> parts = {CreateFetchPartition(fbb, 0, 10, 1 << 20),
                                                       CreateFetchPartition(fbb, 3, 0, 4096)};
      return CreateFetchRequestDirect(fbb, "orders", &parts, 500, 1 << 20).Union();
    }
    case Body::FetchResponse: {
      std::string records = sample_record_batch(2, 10) + sample_record_batch(3, 12);
      std::vector<fb::Offset<FetchPartitionResult>> parts = {
          CreateFetchPartitionResult(fbb, 0, ErrorCode::NONE, 0, 0, 15, bytes(fbb, records)),
          CreateFetchPartitionResultDirect(fbb, 3, ErrorCode::OFFSET_OUT_OF_RANGE, "out of range",
                                           5, 9, nullptr)};
      return CreateFetchResponseDirect(fbb, "orders", &parts).Union();
    }
    case Body::CreateTopicRequest:
      return CreateCreateTopicRequest(fbb, topic_config(fbb)).Union();
    case Body::CreateTopicResponse:
      return CreateCreateTopicResponse(fbb, topic_config(fbb), true).Union();
    case Body::DeleteTopicRequest:
      return CreateDeleteTopicRequestDirect(fbb, "orders").Union();
    case Body::DeleteTopicResponse:
      return CreateDeleteTopicResponse(fbb).Union();
    case Body::ListTopicsRequest:
      return CreateListTopicsRequest(fbb).Union();
    case Body::ListTopicsResponse: {
      std::vector<fb::Offset<TopicConfig>> topics = {topic_config(fbb),
                                                     CreateTopicConfigDirect(fbb, "audit", 1)};
      return CreateListTopicsResponseDirect(fbb, &topics).Union();
    }
    case Body::TopicStatusRequest:
      return CreateTopicStatusRequestDirect(fbb, "orders").Union();
    case Body::TopicStatusResponse: {
      std::vector<fb::Offset<PartitionStatus>> parts = {
          CreatePartitionStatus(fbb, 0, 0, 100, 1'767'225'600'000),
          CreatePartitionStatus(fbb, 1, 5, 7, 0)};
      return CreateTopicStatusResponseDirect(fbb, topic_config(fbb), &parts).Union();
    }
    case Body::BrokerStatusRequest:
      return CreateBrokerStatusRequest(fbb).Union();
    case Body::BrokerStatusResponse: {
      auto stats = key_values(fbb);
      return CreateBrokerStatusResponse(fbb, fbb.CreateString("0.1.0"), fbb.CreateString("sync"),
                                        fbb.CreateString("./data"),
                                        fbb.CreateString("127.0.0.1:7911"), 12345,
                                        fbb.CreateString(""), stats)
          .Union();
    }
    case Body::QueryMessageRequest:
      return CreateQueryMessageRequestDirect(fbb, "orders", 1, 10, 0x1234).Union();
    case Body::QueryMessageResponse: {
      std::vector<fb::Offset<MessageView>> msgs = {message_view(fbb, 10), message_view(fbb, 11)};
      return CreateQueryMessageResponseDirect(fbb, &msgs).Union();
    }
  }
  return 0;
}

}  // namespace

std::string sample_envelope(Body kind, uint64_t correlation_id, const std::string& error_message) {
  fb::FlatBufferBuilder fbb;
  auto body = body_of(fbb, kind);
  auto msg = fbb.CreateString(error_message);
  ErrorCode err = kind == Body::NONE ? ErrorCode::PROTOCOL_ERROR : ErrorCode::NONE;
  fbb.Finish(CreateEnvelope(fbb, correlation_id, kind, body, err, msg));
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

std::vector<Body> all_body_kinds() {
  std::vector<Body> out;
  for (int i = static_cast<int>(Body::MIN); i <= static_cast<int>(Body::MAX); ++i) {
    out.push_back(static_cast<Body>(i));
  }
  return out;
}

}  // namespace tidemq::test
