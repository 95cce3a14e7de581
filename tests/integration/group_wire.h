#pragma once
// Group requests over a RawClient, for tests of the broker's group handlers without the client
// library: each call sends one request and returns the verified response envelope's frame.
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "tests/integration/raw_client.h"

namespace tidemq::test {

class GroupWire {
 public:
  explicit GroupWire(uint16_t port) : client_(port) { hello(client_); }

  // Sends `body` and returns the response frame with the same correlation id.
  template <typename T>
  std::string call(flatbuffers::FlatBufferBuilder& fbb, wire::Body type, flatbuffers::Offset<T> body) {
    return request(client_, ++next_id_, fbb, type, body);
  }

  struct Joined {
    wire::ErrorCode error = wire::ErrorCode::NONE;
    std::string member_id;
    uint32_t generation = 0;
    std::vector<std::pair<std::string, uint32_t>> assignment;
  };

  static std::vector<std::pair<std::string, uint32_t>> assignment_of(
      const flatbuffers::Vector<flatbuffers::Offset<wire::TopicAssignment>>* a) {
    std::vector<std::pair<std::string, uint32_t>> out;
    if (a == nullptr) return out;
    for (const auto* t : *a) {
      for (uint32_t p : *t->partitions()) out.emplace_back(t->topic()->str(), p);
    }
    return out;
  }

  Joined join(const std::string& group, const std::vector<std::pair<std::string, std::string>>& subs,
              const std::string& member_id = "") {
    flatbuffers::FlatBufferBuilder fbb;
    std::vector<flatbuffers::Offset<wire::Subscription>> s;
    for (const auto& [t, e] : subs) s.push_back(wire::CreateSubscription(fbb, fbb.CreateString(t), fbb.CreateString(e)));
    auto req = wire::CreateJoinGroupRequest(fbb, fbb.CreateString(group), fbb.CreateString(member_id), fbb.CreateVector(s), 0);
    auto frame = call(fbb, wire::Body::JoinGroupRequest, req);
    const auto& env = envelope_of(frame);
    Joined j;
    j.error = env.error();
    if (const auto* r = env.body_as_JoinGroupResponse()) {
      j.member_id = r->member_id()->str();
      j.generation = r->generation();
      j.assignment = assignment_of(r->assignment());
    }
    return j;
  }

  Joined heartbeat(const std::string& group, const std::string& member_id) {
    flatbuffers::FlatBufferBuilder fbb;
    auto req = wire::CreateHeartbeatRequest(fbb, fbb.CreateString(group), fbb.CreateString(member_id), 0);
    auto frame = call(fbb, wire::Body::HeartbeatRequest, req);
    const auto& env = envelope_of(frame);
    Joined j;
    j.error = env.error();
    j.member_id = member_id;
    if (const auto* r = env.body_as_HeartbeatResponse()) {
      j.generation = r->generation();
      j.assignment = assignment_of(r->assignment());
    }
    return j;
  }

  // Per-partition outcome of a commit: (error, stored offset).
  std::vector<std::pair<wire::ErrorCode, uint64_t>> commit(const std::string& group, const std::string& member,
                                                           uint32_t generation, const std::string& topic,
                                                           const std::vector<std::pair<uint32_t, uint64_t>>& offsets,
                                                           wire::ErrorCode* envelope_error = nullptr) {
    flatbuffers::FlatBufferBuilder fbb;
    std::vector<flatbuffers::Offset<wire::PartitionOffset>> o;
    for (const auto& [p, off] : offsets) {
      o.push_back(wire::CreatePartitionOffset(fbb, fbb.CreateString(topic), p, off));
    }
    auto req = wire::CreateCommitOffsetsRequest(fbb, fbb.CreateString(group), fbb.CreateString(member), generation,
                                                fbb.CreateVector(o));
    auto frame = call(fbb, wire::Body::CommitOffsetsRequest, req);
    const auto& env = envelope_of(frame);
    if (envelope_error) *envelope_error = env.error();
    std::vector<std::pair<wire::ErrorCode, uint64_t>> out;
    if (const auto* r = env.body_as_CommitOffsetsResponse()) {
      for (const auto* x : *r->offsets()) out.emplace_back(x->error(), x->offset());
    }
    return out;
  }

  // (offset, committed) per partition.
  std::vector<std::pair<uint64_t, bool>> fetch_offsets(const std::string& group, const std::string& member,
                                                       const std::string& topic, const std::vector<uint32_t>& parts) {
    flatbuffers::FlatBufferBuilder fbb;
    std::vector<flatbuffers::Offset<wire::TopicAssignment>> a{
        wire::CreateTopicAssignment(fbb, fbb.CreateString(topic), fbb.CreateVector(parts))};
    auto req = wire::CreateFetchOffsetsRequest(fbb, fbb.CreateString(group), fbb.CreateString(member), fbb.CreateVector(a));
    auto frame = call(fbb, wire::Body::FetchOffsetsRequest, req);
    const auto& env = envelope_of(frame);
    REQUIRE(env.error() == wire::ErrorCode::NONE);
    std::vector<std::pair<uint64_t, bool>> out;
    for (const auto* x : *env.body_as_FetchOffsetsResponse()->offsets()) {
      CHECK(x->error() == wire::ErrorCode::NONE);
      out.emplace_back(x->offset(), x->committed());
    }
    return out;
  }

  struct Fetched {
    wire::ErrorCode error = wire::ErrorCode::NONE;
    wire::ErrorCode partition_error = wire::ErrorCode::NONE;
    uint32_t generation = 0;
    std::string records;  // concatenated batches
    uint64_t next_offset = 0;
  };
  Fetched group_fetch(const std::string& group, const std::string& member, uint32_t generation,
                      const std::string& topic, uint32_t partition, uint64_t offset, uint32_t max_wait_ms) {
    flatbuffers::FlatBufferBuilder fbb;
    std::vector<flatbuffers::Offset<wire::FetchPartition>> ps{wire::CreateFetchPartition(fbb, partition, offset, 0)};
    auto t = fbb.CreateString(topic);
    auto pv = fbb.CreateVector(ps);
    auto g = fbb.CreateString(group);
    auto m = fbb.CreateString(member);
    auto req = wire::CreateFetchRequest(fbb, t, pv, max_wait_ms, 0, g, m, generation);
    auto frame = call(fbb, wire::Body::FetchRequest, req);
    const auto& env = envelope_of(frame);
    Fetched f;
    f.error = env.error();
    if (const auto* r = env.body_as_FetchResponse()) {
      f.generation = r->generation();
      const auto* p = r->partitions()->Get(0);
      f.partition_error = p->error();
      if (p->records()) f.records.assign(reinterpret_cast<const char*>(p->records()->data()), p->records()->size());
      f.next_offset = p->next_offset();
    }
    return f;
  }

  wire::ErrorCode update_group(const std::string& name, double rate, const std::string& reset_policy = "",
                               uint32_t burst_ms = 100) {
    flatbuffers::FlatBufferBuilder fbb;
    auto n = fbb.CreateString(name);
    auto rp = fbb.CreateString(reset_policy);
    auto c = wire::CreateGroupConfig(fbb, n, wire::AssignStrategy::AVG, wire::ConsumeMode::CLUSTERING, rp, rate, 0,
                                     burst_ms);
    auto frame = call(fbb, wire::Body::UpdateGroupRequest, wire::CreateUpdateGroupRequest(fbb, c));
    return envelope_of(frame).error();
  }

  RawClient& raw() { return client_; }

 private:
  RawClient client_;
  uint64_t next_id_ = 100;
};

}  // namespace tidemq::test
