// decode_group_fetch: records below the asked offset are skipped, next_offset covers what the
// broker filtered out, per-partition errors and unparsable records become statuses.
#include "client/group_requests.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "common/record_batch.h"

namespace tidemq::client {
namespace {

// A stored batch of `n` records with bodies "r<offset>", starting at `base`.
std::string stored_batch(uint64_t base, int n) {
  record::BatchBuilder b;
  std::vector<std::string> bodies;
  for (int i = 0; i < n; ++i) bodies.push_back(fmt::format("r{}", base + i));
  for (int i = 0; i < n; ++i) {
    record::RecordInput in;
    in.id = base + i + 1;
    in.body = bodies[i];
    in.tags = "T";
    b.add(in);
  }
  std::string batch = b.finish(0, 0);
  record::stamp(batch, base, 1000);
  return batch;
}

Frame response(const std::vector<std::tuple<uint32_t, wire::ErrorCode, std::string, uint64_t>>& parts,
               uint32_t generation) {
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<wire::FetchPartitionResult>> results;
  for (const auto& [p, err, records, next] : parts) {
    auto bytes = fbb.CreateVector(reinterpret_cast<const uint8_t*>(records.data()), records.size());
    results.push_back(wire::CreateFetchPartitionResult(fbb, p, err, 0, 0, 100, bytes, next));
  }
  auto resp = wire::CreateFetchResponse(fbb, fbb.CreateString("t"), fbb.CreateVector(results), generation);
  OutFrame out = finish_envelope(fbb, 1, wire::Body::FetchResponse, resp.Union());
  return Frame{std::string(reinterpret_cast<const char*>(out.payload.data()), out.payload.size())};
}

FetchPlan plan_of(std::vector<std::pair<uint32_t, uint64_t>> parts) {
  FetchPlan plan;
  plan.topic.assign(1, 't');  // not = "t": GCC 12 false -Wrestrict in Release
  plan.generation = 4;
  for (auto [p, off] : parts) plan.items.push_back(FetchItem{p, off, 1});
  return plan;
}

TEST_CASE("records below the asked offset are skipped; next_offset moves past filtered records") {
  const std::string records = stored_batch(10, 5) + stored_batch(15, 3);  // offsets 10..17
  auto r = decode_group_fetch(response({{0, wire::ErrorCode::NONE, records, 25}}, 7), plan_of({{0, 12}}));
  REQUIRE(r.is_ok());
  CHECK(r->generation == 7);
  REQUIRE(r->partitions.size() == 1);
  const auto& p = r->partitions[0];
  CHECK(p.status.is_ok());
  REQUIRE(p.messages.size() == 6);
  CHECK(p.messages.front().offset == 12);
  CHECK(p.messages.front().body == "r12");
  CHECK(p.messages.front().topic == "t");
  CHECK(p.messages.front().partition == 0);
  CHECK(p.messages.back().offset == 17);
  CHECK(p.next_offset == 25);  // 18..24 were filtered out by the broker
}

TEST_CASE("next_offset never goes below the records received or the asked offset") {
  auto r = decode_group_fetch(
      response({{0, wire::ErrorCode::NONE, stored_batch(0, 4), 0}, {1, wire::ErrorCode::NONE, std::string(), 0}}, 1),
      plan_of({{0, 0}, {1, 9}}));
  REQUIRE(r.is_ok());
  REQUIRE(r->partitions.size() == 2);
  CHECK(r->partitions[0].next_offset == 4);
  CHECK(r->partitions[1].messages.empty());
  CHECK(r->partitions[1].next_offset == 9);
}

TEST_CASE("per-partition errors, corrupt records and partitions not asked for") {
  std::string corrupt = stored_batch(0, 3);
  corrupt.resize(corrupt.size() - 2);
  auto r = decode_group_fetch(response({{0, wire::ErrorCode::NOT_ASSIGNED, std::string(), 0},
                                        {1, wire::ErrorCode::NONE, corrupt, 3},
                                        {7, wire::ErrorCode::NONE, stored_batch(0, 1), 1}},
                                       2),
                              plan_of({{0, 0}, {1, 0}}));
  REQUIRE(r.is_ok());
  REQUIRE(r->partitions.size() == 2);  // partition 7 was not asked for
  CHECK(r->partitions[0].status.code() == StatusCode::kNotAssigned);
  CHECK(r->partitions[1].status.code() == StatusCode::kCorruptMessage);
  CHECK(r->partitions[1].messages.empty());
  CHECK(r->partitions[1].next_offset == 0);
}

TEST_CASE("a frame that is not a FetchResponse is a protocol error") {
  flatbuffers::FlatBufferBuilder fbb;
  auto resp = wire::CreateLeaveGroupResponse(fbb);
  OutFrame out = finish_envelope(fbb, 1, wire::Body::LeaveGroupResponse, resp.Union());
  Frame f{std::string(reinterpret_cast<const char*>(out.payload.data()), out.payload.size())};
  CHECK(decode_group_fetch(f, plan_of({{0, 0}})).status().code() == StatusCode::kProtocolError);
}

}  // namespace
}  // namespace tidemq::client
