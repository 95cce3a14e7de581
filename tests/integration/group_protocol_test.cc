// The broker's consumer-group handlers over the wire (RawClient, no client library consumer):
// assignment and rebalance on join / connection close / expiry (ManualClock), commit fencing,
// committed offsets across a restart, reset policies, tag filtering, the rate limit's token
// bucket, a rebalance waking a waiting fetch, and an admin offset reset fencing the owner.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <set>
#include <thread>

#include "common/clock.h"
#include "common/record_batch.h"
#include "tests/integration/group_wire.h"
#include "tests/integration/in_process_broker.h"
#include "tidemq/admin.h"
#include "tidemq/producer.h"

using namespace tidemq;
using namespace std::chrono_literals;
using test::GroupWire;
using W = wire::ErrorCode;

namespace {

void create_topic(const test::InProcessBroker& b, const std::string& name, uint32_t partitions) {
  auto admin = Admin::create(b.client_options());
  REQUIRE(admin.is_ok());
  auto created = (*admin)->update_topic({name, partitions, -1, -1});
  REQUIRE_MESSAGE(created.is_ok(), created.status().to_string());
}

// Sends `n` messages to one partition; tags cycle through `tags`.
void produce(const test::InProcessBroker& b, const std::string& topic, uint32_t partition, int n,
             const std::vector<std::string>& tags = {""}) {
  ProducerOptions o;
  o.client = b.client_options();
  auto p = Producer::create(o);
  REQUIRE(p.is_ok());
  for (int i = 0; i < n; ++i) {
    Message m;
    m.topic = topic;
    m.partition = static_cast<int32_t>(partition);
    m.tags = tags[static_cast<size_t>(i) % tags.size()];
    m.body = "m" + std::to_string(i);
    auto r = (*p)->send(m);
    REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  }
}

std::vector<std::pair<uint64_t, std::string>> decode(const std::string& batches) {
  std::vector<std::pair<uint64_t, std::string>> out;
  auto st = record::for_each_record_in_batches(batches, [&](const record::RecordView& r) {
    out.emplace_back(r.offset, std::string(r.tags));
  });
  REQUIRE_MESSAGE(st.is_ok(), st.to_string());
  return out;
}

// Every partition of `topic` (0..n-1) appears exactly once across the assignments.
void check_partitioned(const std::vector<GroupWire::Joined>& members, uint32_t n) {
  std::multiset<uint32_t> seen;
  for (const auto& m : members) {
    for (const auto& [t, p] : m.assignment) seen.insert(p);
  }
  CHECK(seen.size() == n);
  for (uint32_t p = 0; p < n; ++p) CHECK(seen.count(p) == 1);
}

}  // namespace

TEST_CASE("join, connection close and expiry rebalance; every partition owned once") {
  ManualClock clock;
  test::InProcessBroker broker({}, nullptr, {}, clock);
  create_topic(broker, "orders", 6);
  GroupWire a(broker.port()), b(broker.port());
  auto ja = a.join("billing", {{"orders", "*"}});
  REQUIRE(ja.error == W::NONE);
  CHECK(ja.assignment.size() == 6);
  auto jb = b.join("billing", {{"orders", "*"}});
  REQUIRE(jb.error == W::NONE);
  CHECK(jb.generation == ja.generation + 1);
  ja = a.heartbeat("billing", ja.member_id);
  CHECK(ja.generation == jb.generation);
  check_partitioned({ja, jb}, 6);

  {  // a third member joins, then its connection closes: its partitions move back at once
    GroupWire c(broker.port());
    auto jc = c.join("billing", {{"orders", "*"}});
    ja = a.heartbeat("billing", ja.member_id);
    jb = b.heartbeat("billing", jb.member_id);
    check_partitioned({ja, jb, jc}, 6);
    CHECK(jc.assignment.size() == 2);
  }
  for (int i = 0; i < 500; ++i) {
    ja = a.heartbeat("billing", ja.member_id);
    if (ja.assignment.size() == 3) break;
    std::this_thread::sleep_for(5ms);  // the broker sees the close asynchronously
  }
  jb = b.heartbeat("billing", jb.member_id);
  check_partitioned({ja, jb}, 6);

  // b stops heartbeating; after its session timeout (10 s) it expires and a owns everything.
  clock.advance_ms(6'000);
  ja = a.heartbeat("billing", ja.member_id);
  clock.advance_ms(5'000);
  for (int i = 0; i < 500 && ja.assignment.size() != 6; ++i) {
    std::this_thread::sleep_for(5ms);  // the expiry timer runs every 250 ms of real time
    ja = a.heartbeat("billing", ja.member_id);
  }
  CHECK(ja.assignment.size() == 6);
  CHECK(b.heartbeat("billing", jb.member_id).error == W::UNKNOWN_MEMBER);
}

TEST_CASE("two groups each own every partition (pub-sub)") {
  test::InProcessBroker broker;
  create_topic(broker, "orders", 4);
  GroupWire a(broker.port()), b(broker.port());
  CHECK(a.join("billing", {{"orders", "*"}}).assignment.size() == 4);
  CHECK(b.join("audit", {{"orders", "*"}}).assignment.size() == 4);
}

TEST_CASE("commits are fenced by ownership and never go backwards; they survive a restart") {
  test::InProcessBroker broker;
  create_topic(broker, "orders", 2);
  produce(broker, "orders", 0, 10);
  produce(broker, "orders", 1, 10);
  GroupWire a(broker.port());
  auto ja = a.join("billing", {{"orders", "*"}});
  REQUIRE(ja.assignment.size() == 2);
  auto c = a.commit("billing", ja.member_id, ja.generation, "orders", {{0, 5}, {1, 7}});
  REQUIRE(c.size() == 2);
  CHECK(c[0] == std::make_pair(W::NONE, uint64_t{5}));
  CHECK(c[1] == std::make_pair(W::NONE, uint64_t{7}));
  // Backwards: ignored, the stored offset is answered.
  c = a.commit("billing", ja.member_id, ja.generation, "orders", {{0, 3}});
  CHECK(c[0] == std::make_pair(W::NONE, uint64_t{5}));
  // Past the end: refused.
  c = a.commit("billing", ja.member_id, ja.generation, "orders", {{0, 11}});
  CHECK(c[0].first == W::OFFSET_OUT_OF_RANGE);

  GroupWire b(broker.port());
  auto jb = b.join("billing", {{"orders", "*"}});
  REQUIRE(jb.assignment.size() == 1);
  uint32_t moved = jb.assignment[0].second;
  uint32_t kept = 1 - moved;
  // The zombie view of a (old generation) may still commit the partition it kept, not the moved one.
  c = a.commit("billing", ja.member_id, ja.generation, "orders", {{moved, 9}, {kept, 9}});
  CHECK(c[0].first == W::NOT_ASSIGNED);
  CHECK(c[1] == std::make_pair(W::NONE, uint64_t{9}));
  c = b.commit("billing", jb.member_id, jb.generation, "orders", {{moved, 8}});
  CHECK(c[0] == std::make_pair(W::NONE, uint64_t{8}));

  broker.restart();
  GroupWire d(broker.port());
  auto jd = d.join("billing", {{"orders", "*"}});
  auto offsets = d.fetch_offsets("billing", jd.member_id, "orders", {moved, kept});
  CHECK(offsets[0] == std::make_pair(uint64_t{8}, true));
  CHECK(offsets[1] == std::make_pair(uint64_t{9}, true));
}

TEST_CASE("reset policy: latest by default, earliest and timestamp by group config") {
  test::InProcessBroker broker;
  create_topic(broker, "orders", 1);
  produce(broker, "orders", 0, 5);
  GroupWire a(broker.port());
  auto ja = a.join("fresh", {{"orders", "*"}});
  CHECK(a.fetch_offsets("fresh", ja.member_id, "orders", {0})[0] == std::make_pair(uint64_t{5}, false));
  CHECK(a.update_group("replay", 0, "earliest") == W::NONE);
  auto jr = a.join("replay", {{"orders", "*"}});
  CHECK(a.fetch_offsets("replay", jr.member_id, "orders", {0})[0] == std::make_pair(uint64_t{0}, false));
  CHECK(a.update_group("future", 0, "timestamp:" + std::to_string(Clock::system().now_ms() + 3'600'000)) == W::NONE);
  auto jf = a.join("future", {{"orders", "*"}});
  CHECK(a.fetch_offsets("future", jf.member_id, "orders", {0})[0] == std::make_pair(uint64_t{5}, false));
  CHECK(a.update_group("bad", 0, "yesterday") == W::INVALID_ARGUMENT);
}

TEST_CASE("group fetch filters by tag expression and says where to fetch next") {
  test::InProcessBroker broker;
  create_topic(broker, "orders", 1);
  produce(broker, "orders", 0, 12, {"A", "B", "C"});
  GroupWire a(broker.port());
  auto ja = a.join("billing", {{"orders", "A || C"}});
  auto f = a.group_fetch("billing", ja.member_id, ja.generation, "orders", 0, 0, 0);
  REQUIRE(f.error == W::NONE);
  auto got = decode(f.records);
  REQUIRE(got.size() == 8);
  for (const auto& [off, tags] : got) {
    CHECK(tags == (off % 3 == 0 ? "A" : "C"));
    CHECK(off % 3 != 1);
  }
  CHECK(f.next_offset == 12);
  // A partition the member does not own.
  GroupWire other(broker.port());
  auto jo = other.join("audit", {{"orders", "B"}});
  auto g = a.group_fetch("billing", jo.member_id, jo.generation, "orders", 0, 0, 0);
  CHECK(g.error == W::UNKNOWN_MEMBER);  // jo is a member of audit, not billing
  auto h = other.group_fetch("audit", jo.member_id, jo.generation, "orders", 0, 0, 0);
  CHECK(decode(h.records).size() == 4);
}

TEST_CASE("rate-limited group: a fetch gets at most the bucket, refilled by the clock") {
  ManualClock clock;
  test::InProcessBroker broker({}, nullptr, {}, clock);
  create_topic(broker, "orders", 1);
  produce(broker, "orders", 0, 300);
  GroupWire a(broker.port());
  REQUIRE(a.update_group("billing", 100, "earliest", 100) == W::NONE);  // 100 msg/s, bucket 10
  auto ja = a.join("billing", {{"orders", "*"}});
  auto f = a.group_fetch("billing", ja.member_id, ja.generation, "orders", 0, 0, 0);
  CHECK(decode(f.records).size() == 10);
  CHECK(f.next_offset == 10);
  f = a.group_fetch("billing", ja.member_id, ja.generation, "orders", 0, 10, 0);
  CHECK(decode(f.records).empty());
  CHECK(f.next_offset == 10);
  clock.advance_ms(50);
  f = a.group_fetch("billing", ja.member_id, ja.generation, "orders", 0, 10, 0);
  CHECK(decode(f.records).size() == 5);
  clock.advance_ms(5'000);  // a long pause refills at most the bucket (no burst)
  f = a.group_fetch("billing", ja.member_id, ja.generation, "orders", 0, 15, 0);
  CHECK(decode(f.records).size() == 10);
  // A new rate takes effect at once.
  REQUIRE(a.update_group("billing", 1000, "earliest", 100) == W::NONE);
  clock.advance_ms(1'000);
  f = a.group_fetch("billing", ja.member_id, ja.generation, "orders", 0, 25, 0);
  CHECK(decode(f.records).size() == 100);
}

TEST_CASE("a rebalance answers a waiting group fetch at once") {
  test::InProcessBroker broker;
  create_topic(broker, "orders", 2);
  GroupWire a(broker.port());
  auto ja = a.join("billing", {{"orders", "*"}});
  auto waiting = std::async(std::launch::async, [&] {
    return a.group_fetch("billing", ja.member_id, ja.generation, "orders", 0, 0, 15'000);
  });
  CHECK(waiting.wait_for(300ms) == std::future_status::timeout);  // it is really waiting
  GroupWire b(broker.port());
  auto jb = b.join("billing", {{"orders", "*"}});
  REQUIRE(waiting.wait_for(5s) == std::future_status::ready);
  auto f = waiting.get();
  CHECK(f.error == W::NONE);
  CHECK(f.generation == jb.generation);
}

TEST_CASE("an admin offset reset moves a live group and fences the owner's older commits") {
  test::InProcessBroker broker;
  create_topic(broker, "orders", 1);
  produce(broker, "orders", 0, 20);
  GroupWire a(broker.port());
  auto ja = a.join("billing", {{"orders", "*"}});
  REQUIRE(a.commit("billing", ja.member_id, ja.generation, "orders", {{0, 15}})[0].first == W::NONE);

  flatbuffers::FlatBufferBuilder fbb;
  auto req = wire::CreateResetOffsetsRequest(fbb, fbb.CreateString("billing"), fbb.CreateString("orders"),
                                             fbb.CreateString("earliest"));
  auto frame = a.call(fbb, wire::Body::ResetOffsetsRequest, req);
  REQUIRE(test::envelope_of(frame).error() == W::NONE);
  // The owner's commit from before the reset is refused; after a heartbeat it may commit again.
  CHECK(a.commit("billing", ja.member_id, ja.generation, "orders", {{0, 18}})[0].first == W::ILLEGAL_GENERATION);
  CHECK(a.fetch_offsets("billing", ja.member_id, "orders", {0})[0] == std::make_pair(uint64_t{0}, true));
  auto hb = a.heartbeat("billing", ja.member_id);
  CHECK(hb.generation > ja.generation);
  CHECK(a.commit("billing", ja.member_id, hb.generation, "orders", {{0, 3}})[0] ==
        std::make_pair(W::NONE, uint64_t{3}));

  flatbuffers::FlatBufferBuilder pb;
  auto preq = wire::CreateConsumerProgressRequest(pb, pb.CreateString("billing"));
  auto pframe = a.call(pb, wire::Body::ConsumerProgressRequest, preq);
  const auto* progress = test::envelope_of(pframe).body_as_ConsumerProgressResponse();
  REQUIRE(progress != nullptr);
  REQUIRE(progress->partitions()->size() == 1);
  const auto* p0 = progress->partitions()->Get(0);
  CHECK(p0->committed_offset() == 3);
  CHECK(p0->end_offset() == 20);
  CHECK(p0->lag() == 17);
  CHECK(p0->owner()->str() == ja.member_id);
}
