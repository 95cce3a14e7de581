// GroupCoordinator: membership, generations, rebalance on join/leave/expiry for every strategy,
// pub-sub across groups, broadcasting, fencing, liveness and the change listener. ManualClock,
// no sleeps.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <map>
#include <set>

#include "broker/delivery/group_coordinator.h"

using namespace tidemq;
using namespace tidemq::broker;

namespace {

constexpr AssignStrategy kStrategies[] = {AssignStrategy::kAvg, AssignStrategy::kAvgByCircle,
                                          AssignStrategy::kConsistentHash, AssignStrategy::kSticky};

struct Fixture {
  ManualClock clock;
  std::map<std::string, uint32_t> topics = {{"orders", 8}};
  std::map<std::string, std::pair<AssignStrategy, ConsumeMode>> settings;
  std::vector<std::pair<std::string, uint32_t>> changes;  // what the listener saw
  GroupCoordinator coord{clock,
                         [this](const std::string& t) {
                           auto it = topics.find(t);
                           return it == topics.end() ? 0u : it->second;
                         },
                         [this](const std::string& g) {
                           auto it = settings.find(g);
                           return it == settings.end() ? std::pair(AssignStrategy::kAvg, ConsumeMode::kClustering)
                                                       : it->second;
                         }};

  Fixture() {
    coord.set_change_listener([this](const std::string& g, uint32_t gen) { changes.emplace_back(g, gen); });
  }

  MemberView join(const std::string& group, const std::string& client, std::vector<std::string> subs = {"orders"},
                  uint64_t session = 1, int64_t timeout_ms = 0) {
    JoinRequest r;
    r.group = group;
    r.client_id = client;
    r.remote = "127.0.0.1:5000";
    r.session_id = session;
    r.session_timeout_ms = timeout_ms;
    for (auto& t : subs) r.subscriptions.push_back({t, "*"});
    auto res = coord.join(r);
    REQUIRE(res.is_ok());
    return *res;
  }

  // Every partition of `topic` is in exactly one member's assignment; describe().owners agrees;
  // each member's heartbeat shows the same assignment as describe().
  void check_owned_once(const std::string& group, const std::string& topic) {
    auto d = coord.describe(group);
    REQUIRE(d.has_value());
    std::map<uint32_t, int> owners;
    for (const auto& m : d->members) {
      for (const auto& tp : m.assignment) {
        if (tp.topic == topic) ++owners[tp.partition];
      }
      auto hb = coord.heartbeat(group, m.member_id);
      REQUIRE(hb.is_ok());
      CHECK(hb->assignment == m.assignment);
      CHECK(hb->generation == d->generation);
    }
    const uint32_t count = topics.count(topic) ? topics.at(topic) : 0;
    CHECK(owners.size() == count);
    for (const auto& [p, n] : owners) {
      CAPTURE(p);
      CHECK(p < count);
      CHECK(n == 1);
      CHECK(d->owners.count({topic, p}) == 1);
    }
  }

  std::vector<TopicPartition> assignment(const std::string& group, const std::string& member) {
    auto hb = coord.heartbeat(group, member);
    REQUIRE(hb.is_ok());
    return hb->assignment;
  }

  size_t max_load_spread(const std::string& group) {
    auto d = coord.describe(group);
    size_t lo = SIZE_MAX, hi = 0;
    for (const auto& m : d->members) {
      lo = std::min(lo, m.assignment.size());
      hi = std::max(hi, m.assignment.size());
    }
    return hi - lo;
  }
};

std::set<uint32_t> partitions_of(const std::vector<TopicPartition>& a, const std::string& topic) {
  std::set<uint32_t> s;
  for (const auto& tp : a) {
    if (tp.topic == topic) s.insert(tp.partition);
  }
  return s;
}

}  // namespace

TEST_CASE("join, leave and expiry rebalance with every strategy; one generation per change") {
  for (AssignStrategy strategy : kStrategies) {
    CAPTURE(static_cast<int>(strategy));
    Fixture f;
    f.settings["g"] = {strategy, ConsumeMode::kClustering};
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
      ids.push_back(f.join("g", fmt::format("c{}", i), {"orders"}, 1, 3000).member_id);
      CHECK(f.coord.generation("g") == static_cast<uint32_t>(i + 1));
      f.check_owned_once("g", "orders");
      if (strategy != AssignStrategy::kConsistentHash) CHECK(f.max_load_spread("g") <= 1);
    }
    // Leave: the leaver's partitions move now.
    REQUIRE(f.coord.leave("g", ids[1]).is_ok());
    CHECK(f.coord.generation("g") == 4);
    CHECK(f.coord.describe("g")->members.size() == 2);
    f.check_owned_once("g", "orders");  // (heartbeats both survivors)
    // Expiry: ids[0] keeps heartbeating, ids[2] goes silent.
    f.clock.advance_ms(2000);
    REQUIRE(f.coord.heartbeat("g", ids[0]).is_ok());
    CHECK(f.coord.expire() == 0);
    f.clock.advance_ms(1500);  // ids[2]: 3500 ms since its last heartbeat > 3000
    CHECK(f.coord.expire() == 1);
    CHECK(f.coord.generation("g") == 5);
    CHECK(f.assignment("g", ids[0]).size() == 8);
    CHECK(f.coord.heartbeat("g", ids[2]).status().code() == StatusCode::kUnknownMember);
    f.check_owned_once("g", "orders");
    CHECK(f.changes.size() == 5);
  }
}

TEST_CASE("a rejoin with the same subscriptions is a heartbeat; with new ones a new generation") {
  Fixture f;
  f.topics["audit"] = 2;
  auto a = f.join("g", "a");
  auto again = f.join("g", "a");  // a new member: no id given
  CHECK(again.member_id != a.member_id);
  CHECK(f.coord.generation("g") == 2);

  JoinRequest r;
  r.group = "g";
  r.member_id = a.member_id;
  r.client_id = "a";
  r.subscriptions = {{"orders", "*"}};
  auto same = f.coord.join(r);
  REQUIRE(same.is_ok());
  CHECK(same->member_id == a.member_id);
  CHECK(same->generation == 2);
  CHECK(f.changes.size() == 2);

  r.subscriptions = {{"orders", "*"}, {"audit", "TagA"}};
  auto changed = f.coord.join(r);
  REQUIRE(changed.is_ok());
  CHECK(changed->generation == 3);
  CHECK(partitions_of(changed->assignment, "audit").size() == 2);  // the only member on audit
  CHECK(f.coord.expression("g", a.member_id, "audit").value() == "TagA");
  // Only an expression change is a subscription change, too.
  r.subscriptions = {{"orders", "*"}, {"audit", "TagB"}};
  CHECK(f.coord.join(r)->generation == 4);
  CHECK(f.coord.expression("g", a.member_id, "audit").value() == "TagB");
}

TEST_CASE("join errors: no group, no subscription, unknown member id") {
  Fixture f;
  JoinRequest r;
  r.subscriptions = {{"orders", "*"}};
  CHECK(f.coord.join(r).status().code() == StatusCode::kInvalidArgument);
  r.group = "g";
  r.subscriptions.clear();
  CHECK(f.coord.join(r).status().code() == StatusCode::kInvalidArgument);
  r.subscriptions = {{"orders", "*"}, {"orders", "A"}};
  CHECK(f.coord.join(r).status().code() == StatusCode::kInvalidArgument);
  r.subscriptions = {{"orders", "*"}};
  r.member_id = "ghost-1";
  CHECK(f.coord.join(r).status().code() == StatusCode::kUnknownMember);
  CHECK(f.coord.generation("g") == 0);
  CHECK(!f.coord.describe("g").has_value());
}

TEST_CASE("member ids start with the client id and are unique; timeouts are clamped") {
  Fixture f;
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    auto v = f.join("g", "svc");
    CHECK(v.member_id.rfind("svc-", 0) == 0);
    ids.insert(v.member_id);
  }
  CHECK(ids.size() == 50);
  CHECK(f.join("g", "").member_id.rfind("member-", 0) == 0);

  auto def = f.join("h", "x", {"orders"}, 1, 0);
  CHECK(def.session_timeout_ms == kDefaultSessionTimeoutMs);
  CHECK(def.heartbeat_interval_ms == kDefaultHeartbeatIntervalMs);
  auto low = f.join("h", "x", {"orders"}, 1, 10);
  CHECK(low.session_timeout_ms == kMinSessionTimeoutMs);
  CHECK(low.heartbeat_interval_ms == kMinSessionTimeoutMs / 3);
  CHECK(f.join("h", "x", {"orders"}, 1, 1'000'000'000).session_timeout_ms == kMaxSessionTimeoutMs);
}

TEST_CASE("session_closed removes the members of that connection only") {
  Fixture f;
  auto a = f.join("g", "a", {"orders"}, 7);
  auto b = f.join("g", "b", {"orders"}, 7);
  auto c = f.join("g", "c", {"orders"}, 8);
  auto d = f.join("other", "d", {"orders"}, 7);
  f.coord.session_closed(7);
  CHECK(f.coord.heartbeat("g", a.member_id).status().code() == StatusCode::kUnknownMember);
  CHECK(f.coord.heartbeat("g", b.member_id).status().code() == StatusCode::kUnknownMember);
  CHECK(f.coord.heartbeat("other", d.member_id).status().code() == StatusCode::kUnknownMember);
  CHECK(f.coord.generation("g") == 4);  // both left in one rebalance
  CHECK(f.assignment("g", c.member_id).size() == 8);
  f.check_owned_once("g", "orders");
  CHECK(!f.coord.has_members("other"));
  CHECK(f.coord.groups() == std::vector<std::string>{"g"});
}

TEST_CASE("pub-sub: two groups on the same topic each own every partition") {
  Fixture f;
  f.join("billing", "b1");
  f.join("billing", "b2");
  f.join("billing", "b3");
  auto audit = f.join("audit", "a1");
  f.check_owned_once("billing", "orders");
  f.check_owned_once("audit", "orders");
  CHECK(audit.assignment.size() == 8);
  CHECK(f.coord.generation("audit") == 1);
  CHECK(f.coord.generation("billing") == 3);
  CHECK(f.coord.groups() == std::vector<std::string>{"audit", "billing"});
}

TEST_CASE("broadcasting: every member gets every partition of its topics") {
  Fixture f;
  f.settings["bc"] = {AssignStrategy::kAvg, ConsumeMode::kBroadcasting};
  f.topics["audit"] = 3;
  auto a = f.join("bc", "a", {"orders", "audit"});
  auto b = f.join("bc", "b", {"orders"});
  CHECK(f.assignment("bc", a.member_id).size() == 11);
  CHECK(f.assignment("bc", b.member_id).size() == 8);
  auto d = f.coord.describe("bc");
  CHECK(d->mode == ConsumeMode::kBroadcasting);
  CHECK(d->owners.empty());  // documented: no single owner in broadcasting
  for (uint32_t p = 0; p < 8; ++p) {
    CHECK(f.coord.check_owner("bc", a.member_id, 2, {"orders", p}).is_ok());
    CHECK(f.coord.check_owner("bc", b.member_id, 2, {"orders", p}).is_ok());
  }
  CHECK(f.coord.check_owner("bc", b.member_id, 2, {"audit", 0}).code() == StatusCode::kNotAssigned);

  // Switching the group to clustering splits the partitions (a new generation).
  f.settings["bc"] = {AssignStrategy::kAvg, ConsumeMode::kClustering};
  f.coord.settings_changed("bc");
  CHECK(f.coord.generation("bc") == 3);
  f.check_owned_once("bc", "orders");
  f.check_owned_once("bc", "audit");
}

TEST_CASE("fencing: continuous owners pass with an old generation, zombies and moved partitions do not") {
  Fixture f;
  f.topics["orders"] = 4;
  auto a = f.join("g", "a");  // gen 1: a owns 0..3
  auto b = f.join("g", "b");  // gen 2 (avg): a {0,1}, b {2,3}
  REQUIRE(partitions_of(f.assignment("g", a.member_id), "orders") == std::set<uint32_t>{0, 1});

  // a kept 0 and 1 since generation 1: a commit carrying generation 1 is still fine.
  CHECK(f.coord.check_owner("g", a.member_id, 1, {"orders", 0}).is_ok());
  CHECK(f.coord.check_owner("g", a.member_id, 2, {"orders", 1}).is_ok());
  // a lost 2 to b: a zombie commit for it is refused, whatever generation it carries.
  CHECK(f.coord.check_owner("g", a.member_id, 1, {"orders", 2}).code() == StatusCode::kNotAssigned);
  CHECK(f.coord.check_owner("g", a.member_id, 2, {"orders", 2}).code() == StatusCode::kNotAssigned);
  // b owns 2 only since generation 2.
  CHECK(f.coord.check_owner("g", b.member_id, 1, {"orders", 2}).code() == StatusCode::kIllegalGeneration);
  CHECK(f.coord.check_owner("g", b.member_id, 2, {"orders", 2}).is_ok());
  // A generation from the future, an unknown member, an unknown group.
  CHECK(f.coord.check_owner("g", b.member_id, 3, {"orders", 2}).code() == StatusCode::kIllegalGeneration);
  CHECK(f.coord.check_owner("g", "ghost", 2, {"orders", 2}).code() == StatusCode::kUnknownMember);
  CHECK(f.coord.check_owner("nope", b.member_id, 2, {"orders", 2}).code() == StatusCode::kUnknownMember);

  SUBCASE("reset_offsets breaks continuity of that topic only") {
    f.topics["audit"] = 1;
    JoinRequest r;
    r.group = "g";
    r.member_id = a.member_id;
    r.subscriptions = {{"orders", "*"}, {"audit", "*"}};
    REQUIRE(f.coord.join(r)->generation == 3);  // a now also owns audit-0, since 3
    f.coord.reset_offsets("g", "orders");
    CHECK(f.coord.generation("g") == 4);
    CHECK(f.coord.check_owner("g", a.member_id, 3, {"orders", 0}).code() == StatusCode::kIllegalGeneration);
    CHECK(f.coord.check_owner("g", a.member_id, 4, {"orders", 0}).is_ok());
    CHECK(f.coord.check_owner("g", b.member_id, 3, {"orders", 3}).code() == StatusCode::kIllegalGeneration);
    CHECK(f.coord.check_owner("g", a.member_id, 3, {"audit", 0}).is_ok());
    CHECK(f.changes.back() == std::pair<std::string, uint32_t>("g", 4));
  }

  SUBCASE("a partition that moved away and came back is not continuously owned") {
    REQUIRE(f.coord.leave("g", b.member_id).is_ok());  // gen 3: a owns 0..3, 2 and 3 since 3
    CHECK(f.coord.check_owner("g", a.member_id, 3, {"orders", 2}).is_ok());
    auto c = f.join("g", "c");                         // gen 4: a {0,1}, c {2,3}
    REQUIRE(partitions_of(f.assignment("g", c.member_id), "orders") == std::set<uint32_t>{2, 3});
    REQUIRE(f.coord.leave("g", c.member_id).is_ok());  // gen 5: a owns 0..3 again
    CHECK(f.coord.check_owner("g", a.member_id, 3, {"orders", 2}).code() == StatusCode::kIllegalGeneration);
    CHECK(f.coord.check_owner("g", a.member_id, 5, {"orders", 2}).is_ok());
    CHECK(f.coord.check_owner("g", a.member_id, 1, {"orders", 0}).is_ok());
  }

  SUBCASE("a partition that went away with a shrinking topic and came back") {
    f.topics["orders"] = 2;
    f.coord.topic_changed("orders");  // gen 3: a {0}, b {1}
    CHECK(f.coord.generation("g") == 3);
    f.topics["orders"] = 4;
    f.coord.topic_changed("orders");  // gen 4: a {0,1}, b {2,3}
    CHECK(f.coord.generation("g") == 4);
    CHECK(f.coord.check_owner("g", a.member_id, 1, {"orders", 0}).is_ok());
    CHECK(f.coord.check_owner("g", a.member_id, 3, {"orders", 1}).code() == StatusCode::kIllegalGeneration);
    CHECK(f.coord.check_owner("g", b.member_id, 3, {"orders", 3}).code() == StatusCode::kIllegalGeneration);
    CHECK(f.coord.check_owner("g", b.member_id, 4, {"orders", 3}).is_ok());
  }
}

TEST_CASE("touch keeps a member alive; after expiry every call says UnknownMember") {
  Fixture f;
  auto a = f.join("g", "a", {"orders"}, 1, 3000);
  auto b = f.join("g", "b", {"orders"}, 1, 3000);
  f.clock.advance_ms(2000);
  REQUIRE(f.coord.touch("g", a.member_id).is_ok());
  REQUIRE(f.coord.touch("g", b.member_id).is_ok());
  f.clock.advance_ms(2000);
  REQUIRE(f.coord.touch("g", a.member_id).is_ok());
  CHECK(f.coord.expire() == 0);  // b: 2000 ms since its fetch
  f.clock.advance_ms(1001);      // b: 3001 ms
  CHECK(f.coord.expire() == 1);
  CHECK(f.coord.generation("g") == 3);
  CHECK(f.coord.describe("g")->members.at(0).last_heartbeat_age_ms == 1001);

  const auto code = StatusCode::kUnknownMember;
  CHECK(f.coord.heartbeat("g", b.member_id).status().code() == code);
  CHECK(f.coord.touch("g", b.member_id).code() == code);
  CHECK(f.coord.leave("g", b.member_id).code() == code);
  CHECK(f.coord.check_owner("g", b.member_id, 3, {"orders", 0}).code() == code);
  CHECK(f.coord.expression("g", b.member_id, "orders").status().code() == code);
  CHECK(f.coord.client_id("g", b.member_id).status().code() == code);
  JoinRequest r;
  r.group = "g";
  r.member_id = b.member_id;
  r.subscriptions = {{"orders", "*"}};
  CHECK(f.coord.join(r).status().code() == code);
  CHECK(f.coord.generation("g") == 3);
}

TEST_CASE("the change listener fires once per generation, outside the lock") {
  Fixture f;
  std::vector<uint32_t> seen_inside;
  f.coord.set_change_listener([&](const std::string& g, uint32_t gen) {
    f.changes.emplace_back(g, gen);
    // Calling back in would deadlock if the listener ran under the coordinator's lock.
    seen_inside.push_back(f.coord.generation(g));
  });
  auto a = f.join("g", "a");
  auto b = f.join("g", "b");
  REQUIRE(f.coord.heartbeat("g", a.member_id).is_ok());
  REQUIRE(f.coord.touch("g", a.member_id).is_ok());
  f.coord.topic_changed("orders");  // nothing changed: no generation
  f.coord.settings_changed("g");
  f.coord.topic_changed("unrelated");
  REQUIRE(f.coord.leave("g", b.member_id).is_ok());
  using Change = std::pair<std::string, uint32_t>;
  CHECK(f.changes == std::vector<Change>{{"g", 1}, {"g", 2}, {"g", 3}});
  CHECK(seen_inside == std::vector<uint32_t>{1, 2, 3});
}

TEST_CASE("topic_changed: new partitions are assigned, a deleted topic unassigned") {
  for (AssignStrategy strategy : kStrategies) {
    CAPTURE(static_cast<int>(strategy));
    Fixture f;
    f.settings["g"] = {strategy, ConsumeMode::kClustering};
    f.topics["orders"] = 4;
    auto a = f.join("g", "a");
    f.join("g", "b");
    f.topics["orders"] = 12;
    f.coord.topic_changed("orders");
    CHECK(f.coord.generation("g") == 3);
    f.check_owned_once("g", "orders");
    CHECK(f.changes.size() == 3);
    f.topics.erase("orders");
    f.coord.topic_changed("orders");
    CHECK(f.coord.generation("g") == 4);
    CHECK(f.assignment("g", a.member_id).empty());
    CHECK(f.coord.describe("g")->owners.empty());
  }
}

TEST_CASE("multi-topic: members subscribing to different topic sets") {
  Fixture f;
  f.topics = {{"t1", 3}, {"t2", 4}};
  auto a = f.join("g", "a", {"t1", "t2"});
  auto b = f.join("g", "b", {"t2"});
  auto c = f.join("g", "c", {"t3"});  // t3 does not exist yet
  f.check_owned_once("g", "t1");
  f.check_owned_once("g", "t2");
  CHECK(partitions_of(f.assignment("g", a.member_id), "t1").size() == 3);  // a is t1's only member
  CHECK(partitions_of(f.assignment("g", a.member_id), "t2").size() == 2);
  CHECK(partitions_of(f.assignment("g", b.member_id), "t2").size() == 2);
  CHECK(partitions_of(f.assignment("g", b.member_id), "t1").empty());
  CHECK(f.assignment("g", c.member_id).empty());

  f.topics["t3"] = 2;
  f.coord.topic_changed("t3");
  CHECK(f.coord.generation("g") == 4);
  CHECK(partitions_of(f.assignment("g", c.member_id), "t3").size() == 2);
  f.check_owned_once("g", "t3");

  // b leaves: t2 all to a; t1 and t3 unchanged.
  REQUIRE(f.coord.leave("g", b.member_id).is_ok());
  CHECK(partitions_of(f.assignment("g", a.member_id), "t2").size() == 4);
  CHECK(partitions_of(f.assignment("g", c.member_id), "t3").size() == 2);

  CHECK(f.coord.expression("g", a.member_id, "t2").value() == "*");
  CHECK(f.coord.expression("g", c.member_id, "t1").value() == "*");  // not subscribed: "*"
  CHECK(f.coord.client_id("g", c.member_id).value() == "c");
  auto d = f.coord.describe("g");
  REQUIRE(d->members.size() == 2);
  CHECK(d->members[0].remote == "127.0.0.1:5000");
}

TEST_CASE("settings_changed: a new strategy moves partitions only if the assignment differs") {
  Fixture f;
  f.topics["orders"] = 4;
  auto a = f.join("g", "a");
  f.join("g", "b");
  REQUIRE(partitions_of(f.assignment("g", a.member_id), "orders") == std::set<uint32_t>{0, 1});
  f.settings["g"] = {AssignStrategy::kAvgByCircle, ConsumeMode::kClustering};
  f.coord.settings_changed("g");
  CHECK(f.coord.generation("g") == 3);
  CHECK(partitions_of(f.assignment("g", a.member_id), "orders") == std::set<uint32_t>{0, 2});
  f.coord.settings_changed("g");
  CHECK(f.coord.generation("g") == 3);
  f.settings["g"] = {AssignStrategy::kSticky, ConsumeMode::kClustering};
  f.coord.settings_changed("g");  // sticky keeps the balanced round-robin layout
  CHECK(f.coord.generation("g") == 3);
}

TEST_CASE("a group keeps its generation after its last member leaves") {
  Fixture f;
  auto a = f.join("g", "a");
  REQUIRE(f.coord.leave("g", a.member_id).is_ok());
  CHECK(f.coord.generation("g") == 2);
  CHECK(!f.coord.has_members("g"));
  CHECK(f.coord.groups().empty());
  auto d = f.coord.describe("g");
  REQUIRE(d.has_value());
  CHECK(d->members.empty());
  CHECK(f.join("g", "a").generation == 3);
  CHECK(f.coord.generation("never") == 0);
}
