// OwnedPartitions: assignment changes, positions tied to the generation they were established
// under (fencing), incarnations that make late answers harmless, fetch and commit planning.
#include "client/owned_partitions.h"

#include <doctest/doctest.h>

#include "client/group_membership.h"

namespace tidemq::client {
namespace {

TopicPartition tp(const char* topic, uint32_t p) { return TopicPartition{topic, p}; }

TEST_CASE("adopt: assigned, kept and revoked partitions; a new member id revokes everything") {
  OwnedPartitions o;
  auto c = o.adopt("m1", 1, 1, {tp("a", 0), tp("a", 1), tp("b", 0)});
  CHECK(c.revoked.empty());
  CHECK(c.assigned == std::vector<TopicPartition>{tp("a", 0), tp("a", 1), tp("b", 0)});
  o.set_position(tp("a", 0), 40, true);
  const uint64_t inc = o.find(tp("a", 0))->incarnation;

  c = o.adopt("m1", 1, 2, {tp("a", 0), tp("b", 1)}, {{tp("a", 0), 1}, {tp("b", 1), 2}});
  CHECK(c.revoked == std::vector<TopicPartition>{tp("a", 1), tp("b", 0)});
  CHECK(c.assigned == std::vector<TopicPartition>{tp("b", 1)});
  REQUIRE(o.find(tp("a", 0)));
  CHECK(o.find(tp("a", 0))->position == 40u);  // kept across the rebalance
  CHECK(o.find(tp("a", 0))->since_generation == 1);
  CHECK(o.find(tp("a", 0))->incarnation == inc);
  CHECK(o.generation() == 2);

  c = o.adopt("m2", 1, 3, {tp("a", 0)});  // rejoined under a new id: positions are not trusted
  CHECK(c.revoked == std::vector<TopicPartition>{tp("a", 0), tp("b", 1)});
  CHECK(c.assigned == std::vector<TopicPartition>{tp("a", 0)});
  CHECK_FALSE(o.find(tp("a", 0))->position);
  CHECK(o.find(tp("a", 0))->incarnation != inc);

  o.set_position(tp("a", 0), 7, true);
  c = o.adopt("m2", 2, 1, {tp("a", 0)});  // same id handed out again (broker restart): a new membership
  CHECK(c.revoked == std::vector<TopicPartition>{tp("a", 0)});
  CHECK(c.assigned == std::vector<TopicPartition>{tp("a", 0)});
  CHECK_FALSE(o.find(tp("a", 0))->position);

  c = o.adopt("", 0, 0, {});  // membership lost
  CHECK(c.revoked == std::vector<TopicPartition>{tp("a", 0)});
  CHECK(o.partitions().empty());
}

TEST_CASE("positions carry the generation they were established under") {
  OwnedPartitions o;
  o.adopt("m", 1, 5, {tp("t", 0), tp("t", 1)});
  CHECK(o.needing_position(0).size() == 2);
  o.set_position(tp("t", 0), 7, false);
  o.set_position(tp("t", 0), 99, true);  // ignored: already has a position
  CHECK(o.find(tp("t", 0))->position == 7u);
  CHECK_FALSE(o.find(tp("t", 0))->committed);  // from the reset policy: nothing committed yet
  CHECK(o.find(tp("t", 0))->since_generation == 5);
  o.position_failed(tp("t", 1), 1000);
  CHECK(o.needing_position(999).empty());
  CHECK(o.needing_position(1000) == std::vector<TopicPartition>{tp("t", 1)});
  CHECK(o.next_retry_ms(500) == 1000);
  o.adopt("m", 1, 6, {tp("t", 0), tp("t", 1)}, {{tp("t", 0), 5}, {tp("t", 1), 5}});
  o.set_position(tp("t", 1), 3, true);
  CHECK(o.find(tp("t", 1))->since_generation == 6);
  CHECK(o.find(tp("t", 1))->committed == 3u);
}

TEST_CASE("a kept position survives only when the membership saw the partition owned without a gap") {
  OwnedPartitions o;
  o.adopt("m", 1, 3, {tp("t", 0), tp("t", 1)});
  o.set_position(tp("t", 0), 10, true);
  o.set_position(tp("t", 1), 20, true);
  const uint64_t inc0 = o.find(tp("t", 0))->incarnation;
  // Generation 5: t[0] seen continuously since 3; t[1] only since 5 (4 was skipped, or it moved).
  auto c = o.adopt("m", 1, 5, {tp("t", 0), tp("t", 1)}, {{tp("t", 0), 3}, {tp("t", 1), 5}});
  CHECK(c.empty());  // still owned: no rebalance callbacks
  CHECK(o.find(tp("t", 0))->position == 10u);
  CHECK(o.find(tp("t", 0))->incarnation == inc0);
  CHECK_FALSE(o.find(tp("t", 1))->position);  // read again from the committed offset
  CHECK(o.needing_position(0) == std::vector<TopicPartition>{tp("t", 1)});
  o.set_position(tp("t", 1), 25, true);
  CHECK(o.find(tp("t", 1))->since_generation == 5);
}

TEST_CASE("fetch plans: one per topic at the adopted generation; in-flight and paused partitions wait") {
  OwnedPartitions o;
  o.adopt("m", 1, 1, {tp("a", 0), tp("a", 1)});
  o.set_position(tp("a", 0), 10, true);
  o.adopt("m", 1, 2, {tp("a", 0), tp("a", 1), tp("a", 2), tp("b", 0)}, {{tp("a", 0), 1}, {tp("a", 1), 1}});
  o.set_position(tp("a", 1), 20, true);
  o.set_position(tp("a", 2), 30, true);
  o.set_position(tp("b", 0), 40, true);
  auto plans = o.plan_fetches(0, [](const TopicPartition& p) { return p.topic == "a" && p.partition == 2; });
  REQUIRE(plans.size() == 2);
  CHECK(plans[0].topic == "a");
  CHECK(plans[0].generation == 2);
  REQUIRE(plans[0].items.size() == 2);  // a[2] is paused
  CHECK(plans[0].items[0].partition == 0);
  CHECK(plans[0].items[0].offset == 10);
  CHECK(plans[0].items[1].partition == 1);
  CHECK(plans[1].topic == "b");
  CHECK(plans[1].generation == 2);
  CHECK(o.plan_fetches(0, {}).size() == 1);  // only a[2]: the rest are in flight
  CHECK(o.plan_fetches(0, {}).empty());

  // a[0] comes back with records up to 14.
  CHECK(o.fetch_returned(tp("a", 0), plans[0].items[0].incarnation));
  o.advance(tp("a", 0), 15);
  o.advance(tp("a", 0), 12);  // never backwards
  CHECK(o.find(tp("a", 0))->position == 15u);
  auto again = o.plan_fetches(0, {});
  REQUIRE(again.size() == 1);
  CHECK(again[0].items[0].offset == 15);
}

TEST_CASE("a fenced fetch drops the position until a later generation; late answers are ignored") {
  OwnedPartitions o;
  o.adopt("m", 1, 3, {tp("t", 0)});
  o.set_position(tp("t", 0), 50, true);
  auto plans = o.plan_fetches(0, {});
  const uint64_t inc = plans[0].items[0].incarnation;
  REQUIRE(o.fetch_returned(tp("t", 0), inc));
  CHECK(o.fetch_failed(tp("t", 0), Status(StatusCode::kIllegalGeneration, "moved"), plans[0].generation, 100,
                       600));  // heartbeat now
  CHECK_FALSE(o.find(tp("t", 0))->position);
  CHECK(o.needing_position(100).empty());          // not at generation 3 again
  CHECK_FALSE(o.fetch_returned(tp("t", 0), inc));  // an answer of the old position is stale

  o.adopt("m", 1, 4, {tp("t", 0)});  // the heartbeat brought generation 4, still ours
  CHECK(o.needing_position(100) == std::vector<TopicPartition>{tp("t", 0)});
  o.set_position(tp("t", 0), 60, true);
  CHECK(o.find(tp("t", 0))->since_generation == 4);

  // NotAssigned behaves the same; OffsetOutOfRange re-reads the offset at once; others back off.
  plans = o.plan_fetches(0, {});
  REQUIRE(o.fetch_returned(tp("t", 0), plans[0].items[0].incarnation));
  CHECK_FALSE(o.fetch_failed(tp("t", 0), Status(StatusCode::kOffsetOutOfRange, "gone"), 4, 100, 600));
  CHECK(o.needing_position(100) == std::vector<TopicPartition>{tp("t", 0)});
  o.set_position(tp("t", 0), 70, true);
  plans = o.plan_fetches(0, {});
  REQUIRE(o.fetch_returned(tp("t", 0), plans[0].items[0].incarnation));
  CHECK_FALSE(o.fetch_failed(tp("t", 0), Status::unavailable("down"), 4, 100, 600));
  CHECK(o.find(tp("t", 0))->position == 70u);
  CHECK(o.plan_fetches(599, {}).empty());
  CHECK(o.next_retry_ms(100) == 600);
  CHECK(o.plan_fetches(600, {}).size() == 1);
}

TEST_CASE("commit plans: grouped by since-generation, only owned partitions of the given incarnation") {
  OwnedPartitions o;
  o.adopt("m", 1, 1, {tp("t", 0)});
  o.set_position(tp("t", 0), 5, false);
  o.adopt("m", 1, 2, {tp("t", 0), tp("t", 1)}, {{tp("t", 0), 1}, {tp("t", 1), 2}});
  o.set_position(tp("t", 1), 8, true);
  const uint64_t inc1 = o.find(tp("t", 1))->incarnation;

  auto unc = o.uncommitted_positions();
  REQUIRE(unc.size() == 1);  // t[1] is at its committed offset already
  CHECK(unc[0].tp == tp("t", 0));
  CHECK(unc[0].offset == 5);

  auto plans = o.plan_commits({CommitItem{tp("t", 0), 9, 0}, CommitItem{tp("t", 1), 11, inc1},
                               CommitItem{tp("t", 2), 1, 0}, CommitItem{tp("t", 1), 12, inc1 + 100}});
  REQUIRE(plans.size() == 2);
  CHECK(plans[0].generation == 1);
  REQUIRE(plans[0].items.size() == 1);
  CHECK(plans[0].items[0].offset == 9);
  CHECK(plans[1].generation == 2);
  REQUIRE(plans[1].items.size() == 1);  // t[2] not owned, the stale incarnation left out
  CHECK(plans[1].items[0].offset == 11);

  o.set_committed(tp("t", 0), plans[0].items[0].incarnation, 9);
  o.set_committed(tp("t", 1), inc1 + 100, 999);  // stale: ignored
  CHECK(o.find(tp("t", 0))->committed == 9u);
  CHECK(o.find(tp("t", 1))->committed == 8u);
}

TEST_CASE("membership continuity: consecutive generations keep 'since', a skipped one restarts it") {
  MembershipSnapshot snap;
  MemberAssignment a{"m", 1, {tp("t", 0), tp("t", 1)}, 0, 0};
  snap.since = continued_since(snap, a);  // first join: everything since 1
  snap.member_id.assign(1, 'm');  // not = "m": GCC 12 false -Wrestrict in Release
  snap.generation = 1;
  CHECK(snap.since == std::map<TopicPartition, uint32_t>{{tp("t", 0), 1}, {tp("t", 1), 1}});

  a = {"m", 2, {tp("t", 0), tp("t", 2)}, 0, 0};  // the next generation: t[0] kept, t[2] new
  snap.since = continued_since(snap, a);
  snap.generation = 2;
  CHECK(snap.since == std::map<TopicPartition, uint32_t>{{tp("t", 0), 1}, {tp("t", 2), 2}});

  a = {"m", 2, {tp("t", 0), tp("t", 2)}, 0, 0};  // the same generation again
  CHECK(continued_since(snap, a) == snap.since);

  a = {"m", 4, {tp("t", 0), tp("t", 2)}, 0, 0};  // generation 3 never seen: t[0] may have moved
  CHECK(continued_since(snap, a) == std::map<TopicPartition, uint32_t>{{tp("t", 0), 4}, {tp("t", 2), 4}});

  a = {"m2", 3, {tp("t", 0)}, 0, 0};  // another member id (rejoined)
  CHECK(continued_since(snap, a) == std::map<TopicPartition, uint32_t>{{tp("t", 0), 3}});
}

}  // namespace
}  // namespace tidemq::client
