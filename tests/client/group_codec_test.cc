// Consumer-group admin types <-> wire (client/group_codec) and the client-side checks of
// tidemq/admin.h, without a broker.
#include "client/group_codec.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "tests/support/wire_root.h"

namespace tidemq::client {
namespace {

using test::finish;

TEST_CASE("GroupSettings survive the trip through the wire GroupConfig, every field") {
  for (AssignStrategy strategy : {AssignStrategy::kAvg, AssignStrategy::kAvgByCircle, AssignStrategy::kConsistentHash,
                                  AssignStrategy::kSticky}) {
    GroupSettings in;
    in.name = "billing";
    in.strategy = strategy;
    in.broadcast = strategy == AssignStrategy::kSticky;
    in.reset_policy = "timestamp:1700000000000";
    in.max_msgs_per_sec = 2000;
    in.max_bytes_per_sec = 1.5e6;
    in.burst_ms = 250;
    in.topic_rates = {{"orders", 500, 0}, {"refunds", 0, 4096}};
    in.retry_policy = "500ms,1s,5s,1m";
    in.max_reconsume_times = strategy == AssignStrategy::kAvg ? 16 : 3;  // 16 is the schema default
    flatbuffers::FlatBufferBuilder fbb;
    const GroupSettings out = group_settings_from_wire(finish(fbb, build_group_config(fbb, in)));
    INFO("strategy " << assign_strategy_name(strategy));
    CHECK(out.name == "billing");
    CHECK(out.strategy == strategy);
    CHECK(out.broadcast == in.broadcast);
    CHECK(out.reset_policy == "timestamp:1700000000000");
    CHECK(out.max_msgs_per_sec == 2000);
    CHECK(out.max_bytes_per_sec == 1.5e6);
    CHECK(out.burst_ms == 250);
    REQUIRE(out.topic_rates.size() == 2);
    CHECK(out.topic_rates[0].topic == "orders");
    CHECK(out.topic_rates[0].max_msgs_per_sec == 500);
    CHECK(out.topic_rates[1].topic == "refunds");
    CHECK(out.topic_rates[1].max_bytes_per_sec == 4096);
    CHECK(out.retry_policy == "500ms,1s,5s,1m");
    CHECK(out.max_reconsume_times == in.max_reconsume_times);
  }
}

TEST_CASE("an empty reset policy goes out as latest; absent wire fields read as the defaults") {
  GroupSettings in;
  in.name = "g";
  in.reset_policy = "";
  flatbuffers::FlatBufferBuilder fbb;
  const auto* wire_config = finish(fbb, build_group_config(fbb, in));
  REQUIRE(wire_config->reset_policy() != nullptr);
  CHECK(wire_config->reset_policy()->str() == "latest");

  flatbuffers::FlatBufferBuilder bare;
  const GroupSettings d = group_settings_from_wire(finish(bare, wire::CreateGroupConfigDirect(bare, "only-name")));
  CHECK(d.name == "only-name");
  CHECK(d.strategy == AssignStrategy::kAvg);
  CHECK(!d.broadcast);
  CHECK(d.reset_policy == "latest");
  CHECK(d.burst_ms == 100);
  CHECK(d.max_msgs_per_sec == 0);
  CHECK(d.topic_rates.empty());
  CHECK(d.retry_policy.empty());  // "default"
  CHECK(d.max_reconsume_times == 16);
  CHECK(group_settings_from_wire(nullptr).burst_ms == 100);
  CHECK(group_settings_from_wire(nullptr).max_reconsume_times == 16);
}

TEST_CASE("DescribeGroupResponse becomes a GroupDescription with members, subscriptions and assignment") {
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<wire::Subscription>> subs = {wire::CreateSubscriptionDirect(fbb, "orders", "TagA || TagB")};
  std::vector<uint32_t> parts = {0, 2};
  std::vector<flatbuffers::Offset<wire::TopicAssignment>> assign = {wire::CreateTopicAssignmentDirect(fbb, "orders", &parts)};
  std::vector<flatbuffers::Offset<wire::GroupMember>> members = {
      wire::CreateGroupMemberDirect(fbb, "m-1", "svc-a", "127.0.0.1:5000", &subs, &assign, 1234),
      wire::CreateGroupMemberDirect(fbb, "m-2", "svc-b", "127.0.0.1:5001")};
  GroupSettings settings;
  settings.name = "billing";
  settings.strategy = AssignStrategy::kConsistentHash;
  auto config = build_group_config(fbb, settings);
  const auto* resp = finish(fbb, wire::CreateDescribeGroupResponseDirect(fbb, config, 7, &members));

  const GroupDescription d = group_description_from_wire(*resp);
  CHECK(d.settings.name == "billing");
  CHECK(d.settings.strategy == AssignStrategy::kConsistentHash);
  CHECK(d.generation == 7);
  REQUIRE(d.members.size() == 2);
  const auto& m = d.members[0];
  CHECK(m.member_id == "m-1");
  CHECK(m.client_id == "svc-a");
  CHECK(m.remote == "127.0.0.1:5000");
  CHECK(m.last_heartbeat_age_ms == 1234);
  REQUIRE(m.subscriptions.size() == 1);
  CHECK(m.subscriptions[0].topic == "orders");
  CHECK(m.subscriptions[0].expression == "TagA || TagB");
  REQUIRE(m.assignment.size() == 1);
  CHECK(m.assignment[0].topic == "orders");
  CHECK(m.assignment[0].partitions == std::vector<uint32_t>{0, 2});
  CHECK(d.members[1].assignment.empty());
  CHECK(d.members[1].subscriptions.empty());
}

TEST_CASE("ConsumerProgressResponse keeps -1 for nothing committed, the owner and the commit time") {
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<wire::PartitionProgress>> parts = {
      wire::CreatePartitionProgressDirect(fbb, "orders", 0, 10, 110, 60, 50, "m-1", "svc-a", 1700000000123),
      wire::CreatePartitionProgressDirect(fbb, "orders", 1, 0, 40)};  // committed_offset default -1
  const auto* resp = finish(fbb, wire::CreateConsumerProgressResponseDirect(fbb, "billing", &parts, 12, 3));
  const ConsumerProgress p = consumer_progress_from_wire(*resp);
  CHECK(p.group == "billing");
  CHECK(p.retry_scheduled == 12);
  CHECK(p.dlq_messages == 3);
  REQUIRE(p.partitions.size() == 2);
  CHECK(p.partitions[0].start_offset == 10);
  CHECK(p.partitions[0].end_offset == 110);
  CHECK(p.partitions[0].committed_offset == 60);
  CHECK(p.partitions[0].lag == 50);
  CHECK(p.partitions[0].owner == "m-1");
  CHECK(p.partitions[0].owner_client_id == "svc-a");
  CHECK(p.partitions[0].last_commit_ms == 1700000000123);
  CHECK(p.partitions[1].committed_offset == -1);
  CHECK(p.partitions[1].owner.empty());
  CHECK(p.partitions[1].last_commit_ms == 0);
}

TEST_CASE("partition offsets: the list, or the first entry's error naming its partition") {
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<wire::PartitionOffset>> ok = {wire::CreatePartitionOffsetDirect(fbb, "orders", 0, 5),
                                                                wire::CreatePartitionOffsetDirect(fbb, "orders", 1, 9)};
  auto ok_vec = fbb.CreateVector(ok);
  fbb.Finish(ok_vec);
  auto got = partition_offsets_from_wire(
      flatbuffers::GetRoot<flatbuffers::Vector<flatbuffers::Offset<wire::PartitionOffset>>>(fbb.GetBufferPointer()));
  REQUIRE(got.is_ok());
  REQUIRE(got->size() == 2);
  CHECK((*got)[1].topic == "orders");
  CHECK((*got)[1].partition == 1);
  CHECK((*got)[1].offset == 9);

  flatbuffers::FlatBufferBuilder bad;
  std::vector<flatbuffers::Offset<wire::PartitionOffset>> err = {
      wire::CreatePartitionOffsetDirect(bad, "orders", 0, 5),
      wire::CreatePartitionOffsetDirect(bad, "orders", 3, 0, wire::ErrorCode::NOT_ASSIGNED, "moved")};
  bad.Finish(bad.CreateVector(err));
  auto failed = partition_offsets_from_wire(
      flatbuffers::GetRoot<flatbuffers::Vector<flatbuffers::Offset<wire::PartitionOffset>>>(bad.GetBufferPointer()));
  REQUIRE(!failed.is_ok());
  CHECK(failed.status().code() == StatusCode::kNotAssigned);
  CHECK(failed.status().message() == "orders/3: moved");
  CHECK(partition_offsets_from_wire(nullptr)->empty());
}

TEST_CASE("validate_group_settings refuses what the broker would, naming the field") {
  GroupSettings s;
  s.name = "g";
  CHECK(validate_group_settings(s).is_ok());
  for (const char* ok : {"", "latest", "earliest", "timestamp:0", "timestamp:1700000000000"}) {
    s.reset_policy = ok;
    CHECK_MESSAGE(validate_group_settings(s).is_ok(), ok);
  }
  for (const char* bad : {"Latest", "timestamp:", "timestamp:-5", "timestamp:12x", "oldest"}) {
    s.reset_policy = bad;
    Status st = validate_group_settings(s);
    CHECK_MESSAGE(st.code() == StatusCode::kInvalidArgument, bad);
    CHECK(st.message().find("reset policy") != std::string::npos);
  }
  s.reset_policy = "latest";
  s.max_msgs_per_sec = -1;
  CHECK(validate_group_settings(s).message().find("max_msgs_per_sec") != std::string::npos);
  s.max_msgs_per_sec = std::numeric_limits<double>::quiet_NaN();
  CHECK(!validate_group_settings(s).is_ok());
  s.max_msgs_per_sec = 0;
  s.burst_ms = 0;
  CHECK(validate_group_settings(s).message().find("burst_ms") != std::string::npos);
  s.burst_ms = 100;
  s.topic_rates = {{"orders", 1, 0}, {"orders", 2, 0}};
  CHECK(validate_group_settings(s).message().find("two per-topic") != std::string::npos);
  s.topic_rates = {{"", 1, 0}};
  CHECK(!validate_group_settings(s).is_ok());
  s.topic_rates = {{"orders", 0, -3}};
  CHECK(validate_group_settings(s).message().find("orders") != std::string::npos);
  s.topic_rates.clear();
  s.name.clear();
  CHECK(!validate_group_settings(s).is_ok());
}

TEST_CASE("reset targets and strategy names") {
  for (const char* ok : {"earliest", "latest", "now", "0", "1700000000000"}) CHECK_MESSAGE(validate_reset_target(ok).is_ok(), ok);
  for (const char* bad : {"", "-1", "yesterday", "12.5", "NOW", "99999999999999999999"}) {
    CHECK_MESSAGE(validate_reset_target(bad).code() == StatusCode::kInvalidArgument, bad);
  }
  for (AssignStrategy s : {AssignStrategy::kAvg, AssignStrategy::kAvgByCircle, AssignStrategy::kConsistentHash,
                           AssignStrategy::kSticky}) {
    auto parsed = parse_assign_strategy(assign_strategy_name(s));
    REQUIRE(parsed.is_ok());
    CHECK(*parsed == s);
    CHECK(strategy_from_wire(strategy_to_wire(s)) == s);
  }
  CHECK(assign_strategy_name(AssignStrategy::kAvgByCircle) == "avg_by_circle");
  CHECK(parse_assign_strategy("round_robin").status().code() == StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tidemq::client
