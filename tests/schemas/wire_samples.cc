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

fb::Offset<HalfInfo> half_info(fb::FlatBufferBuilder& fbb) {
  return CreateHalfInfo(fbb, 0x1234, fbb.CreateString("order-pg"), TxnState::PARKED, 15, 90'000, -5,
                        message_view(fbb, 0), 0);
}

fb::Offset<fb::Vector<fb::Offset<TopicAssignment>>> assignment(fb::FlatBufferBuilder& fbb) {
  std::vector<uint32_t> parts = {0, 2};
  std::vector<fb::Offset<TopicAssignment>> a = {CreateTopicAssignmentDirect(fbb, "orders", &parts)};
  return fbb.CreateVector(a);
}

fb::Offset<fb::Vector<fb::Offset<PartitionOffset>>> partition_offsets(fb::FlatBufferBuilder& fbb) {
  std::vector<fb::Offset<PartitionOffset>> o = {
      CreatePartitionOffsetDirect(fbb, "orders", 0, 42, ErrorCode::NONE, nullptr, true),
      CreatePartitionOffsetDirect(fbb, "orders", 2, 7, ErrorCode::ILLEGAL_GENERATION, "fenced")};
  return fbb.CreateVector(o);
}

fb::Offset<GroupConfig> group_config(fb::FlatBufferBuilder& fbb) {
  std::vector<fb::Offset<TopicRate>> rates = {CreateTopicRateDirect(fbb, "orders", 500, 0)};
  return CreateGroupConfigDirect(fbb, "billing", AssignStrategy::STICKY, ConsumeMode::CLUSTERING, "earliest", 2000,
                                 0, 100, &rates, "exponential", 5);
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
          CreatePartitionBatch(fbb, 2, bytes(fbb, sample_record_batch(1))),
          CreatePartitionBatch(fbb, 3, bytes(fbb, sample_record_batch(1)), 1'767'225'660'000)};  // scheduled
      return CreateProduceRequestDirect(fbb, "orders", &batches).Union();
    }
    case Body::ProduceResponse: {
      std::vector<fb::Offset<PartitionAck>> acks = {
          CreatePartitionAckDirect(fbb, 0, ErrorCode::NONE, nullptr, 100, 3, 1'767'225'600'000),
          CreatePartitionAckDirect(fbb, 2, ErrorCode::MESSAGE_TOO_LARGE, "too big", 0, 0, 0,
                                   true),
          CreatePartitionAckDirect(fbb, 3, ErrorCode::NONE, nullptr, 0, 1, 1'767'225'600'000, false,
                                   /*scheduled=*/true)};
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
    case Body::JoinGroupRequest: {
      std::vector<fb::Offset<Subscription>> subs = {CreateSubscriptionDirect(fbb, "orders", "TagA || TagB")};
      return CreateJoinGroupRequestDirect(fbb, "billing", "", &subs, 10000).Union();
    }
    case Body::JoinGroupResponse:
      return CreateJoinGroupResponse(fbb, fbb.CreateString("m-1"), 3, assignment(fbb), 10000, 3000).Union();
    case Body::HeartbeatRequest:
      return CreateHeartbeatRequestDirect(fbb, "billing", "m-1", 3).Union();
    case Body::HeartbeatResponse:
      return CreateHeartbeatResponse(fbb, 4, assignment(fbb)).Union();
    case Body::LeaveGroupRequest:
      return CreateLeaveGroupRequestDirect(fbb, "billing", "m-1").Union();
    case Body::LeaveGroupResponse:
      return CreateLeaveGroupResponse(fbb).Union();
    case Body::CommitOffsetsRequest:
      return CreateCommitOffsetsRequest(fbb, fbb.CreateString("billing"), fbb.CreateString("m-1"), 3,
                                        partition_offsets(fbb)).Union();
    case Body::CommitOffsetsResponse:
      return CreateCommitOffsetsResponse(fbb, partition_offsets(fbb)).Union();
    case Body::FetchOffsetsRequest:
      return CreateFetchOffsetsRequest(fbb, fbb.CreateString("billing"), fbb.CreateString("m-1"), assignment(fbb))
          .Union();
    case Body::FetchOffsetsResponse:
      return CreateFetchOffsetsResponse(fbb, partition_offsets(fbb)).Union();
    case Body::UpdateGroupRequest:
      return CreateUpdateGroupRequest(fbb, group_config(fbb)).Union();
    case Body::UpdateGroupResponse:
      return CreateUpdateGroupResponse(fbb, group_config(fbb), true).Union();
    case Body::DeleteGroupRequest:
      return CreateDeleteGroupRequestDirect(fbb, "billing").Union();
    case Body::DeleteGroupResponse:
      return CreateDeleteGroupResponse(fbb).Union();
    case Body::ListGroupsRequest:
      return CreateListGroupsRequest(fbb).Union();
    case Body::ListGroupsResponse: {
      std::vector<fb::Offset<GroupConfig>> groups = {group_config(fbb)};
      return CreateListGroupsResponseDirect(fbb, &groups).Union();
    }
    case Body::DescribeGroupRequest:
      return CreateDescribeGroupRequestDirect(fbb, "billing").Union();
    case Body::DescribeGroupResponse: {
      std::vector<fb::Offset<Subscription>> subs = {CreateSubscriptionDirect(fbb, "orders", "*")};
      std::vector<fb::Offset<GroupMember>> members = {
          CreateGroupMember(fbb, fbb.CreateString("m-1"), fbb.CreateString("client-1"),
                            fbb.CreateString("127.0.0.1:5000"), fbb.CreateVector(subs), assignment(fbb), 120)};
      return CreateDescribeGroupResponseDirect(fbb, group_config(fbb), 3, &members).Union();
    }
    case Body::ConsumerProgressRequest:
      return CreateConsumerProgressRequestDirect(fbb, "billing").Union();
    case Body::ConsumerProgressResponse: {
      std::vector<fb::Offset<PartitionProgress>> parts = {
          CreatePartitionProgressDirect(fbb, "orders", 0, 0, 100, 40, 60, "m-1", "client-1", 1'767'225'600'000),
          CreatePartitionProgressDirect(fbb, "orders", 1, 0, 7, -1, 7, "", "", 0)};
      return CreateConsumerProgressResponseDirect(fbb, "billing", &parts, /*retry_scheduled=*/12, /*dlq_messages=*/3)
          .Union();
    }
    case Body::ResetOffsetsRequest:
      return CreateResetOffsetsRequestDirect(fbb, "billing", "orders", "earliest").Union();
    case Body::ResetOffsetsResponse:
      return CreateResetOffsetsResponse(fbb, partition_offsets(fbb)).Union();
    case Body::SendHalfRequest:
      return CreateSendHalfRequest(fbb, fbb.CreateString("orders"), 1, bytes(fbb, sample_record_batch(1, 0)), 60'000)
          .Union();
    case Body::SendHalfResponse:
      return CreateSendHalfResponse(fbb, 0x1234, 1'767'225'600'000).Union();
    case Body::EndTransactionRequest:
      return CreateEndTransactionRequest(fbb, 0x1234, TxnAction::COMMIT).Union();
    case Body::EndTransactionResponse:
      return CreateEndTransactionResponseDirect(fbb, TxnState::COMMITTED, "orders", 1, 42).Union();
    case Body::CheckTransactionRequest:
      return CreateCheckTransactionRequest(fbb, 0x1234, fbb.CreateString("order-pg"), message_view(fbb, 0), 2).Union();
    case Body::CheckTransactionResponse:
      return CreateCheckTransactionResponse(fbb, 0x1234, TxnAction::ROLLBACK).Union();
    case Body::HalfStatusRequest:
      return CreateHalfStatusRequestDirect(fbb, "order-pg").Union();
    case Body::HalfStatusResponse: {
      std::vector<fb::Offset<HalfGroupStatus>> groups = {CreateHalfGroupStatusDirect(fbb, "order-pg", 3, 1, 7000, 2)};
      std::vector<uint64_t> histogram = {1, 2, 0, 1};
      return CreateHalfStatusResponseDirect(fbb, 3, 1, 7000, &groups, &histogram, 9, 5, 2).Union();
    }
    case Body::QueryHalfRequest:
      return CreateQueryHalfRequest(fbb, 0x1234).Union();
    case Body::QueryHalfResponse:
      return CreateQueryHalfResponse(fbb, half_info(fbb)).Union();
    case Body::ResumeHalfRequest:
      return CreateResumeHalfRequest(fbb, 0x1234).Union();
    case Body::ResumeHalfResponse:
      return CreateResumeHalfResponse(fbb, half_info(fbb)).Union();
    case Body::EndHalfRequest:
      return CreateEndHalfRequest(fbb, 0x1234, TxnAction::ROLLBACK).Union();
    case Body::EndHalfResponse:
      return CreateEndHalfResponse(fbb, half_info(fbb)).Union();
    case Body::ProducerConnectionRequest:
      return CreateProducerConnectionRequestDirect(fbb, "order-pg").Union();
    case Body::ProducerConnectionResponse: {
      std::vector<fb::Offset<ProducerInfo>> producers = {
          CreateProducerInfoDirect(fbb, "order-service-1", "127.0.0.1:5000", 1'767'225'600'000, 7)};
      return CreateProducerConnectionResponseDirect(fbb, &producers).Union();
    }
    case Body::SendHalfBatchRequest: {
      std::vector<fb::Offset<SendHalfRequest>> halves = {
          CreateSendHalfRequest(fbb, fbb.CreateString("orders"), 1, bytes(fbb, sample_record_batch(1, 0)), 0, true),
          CreateSendHalfRequest(fbb, fbb.CreateString("orders"), 0, bytes(fbb, sample_record_batch(1, 0)), 60'000)};
      return CreateSendHalfBatchRequestDirect(fbb, &halves).Union();
    }
    case Body::SendHalfBatchResponse: {
      std::vector<fb::Offset<SendHalfResult>> results = {
          CreateSendHalfResultDirect(fbb, ErrorCode::NONE, nullptr, 0x1234, 1'767'225'600'000),
          CreateSendHalfResultDirect(fbb, ErrorCode::TOPIC_NOT_FOUND, "topic 'x' does not exist")};
      return CreateSendHalfBatchResponseDirect(fbb, &results).Union();
    }
    case Body::EndTransactionBatchRequest: {
      std::vector<fb::Offset<EndTransactionRequest>> ends = {CreateEndTransactionRequest(fbb, 0x1234, TxnAction::COMMIT),
                                                             CreateEndTransactionRequest(fbb, 0x1235, TxnAction::ROLLBACK)};
      return CreateEndTransactionBatchRequestDirect(fbb, &ends).Union();
    }
    case Body::EndTransactionBatchResponse: {
      std::vector<fb::Offset<EndTransactionResult>> results = {
          CreateEndTransactionResultDirect(fbb, ErrorCode::NONE, nullptr, TxnState::COMMITTED, "orders", 1, 42),
          CreateEndTransactionResultDirect(fbb, ErrorCode::NOT_FOUND, "no transaction 0000000000001235")};
      return CreateEndTransactionBatchResponseDirect(fbb, &results).Union();
    }
    case Body::SendBackRequest:
      return CreateSendBackRequest(fbb, fbb.CreateString("billing"), fbb.CreateString("%RETRY%billing"),
                                   bytes(fbb, sample_record_batch(1)), false)
          .Union();
    case Body::SendBackResponse:
      return CreateSendBackResponseDirect(fbb, "%RETRY%billing", 3, 1'767'225'630'000).Union();
    case Body::ResendDlqRequest:
      return CreateResendDlqRequestDirect(fbb, "billing", 0x1234).Union();
    case Body::ResendDlqResponse:
      return CreateResendDlqResponse(fbb, 7).Union();
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
