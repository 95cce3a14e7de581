// The poll-style Consumer against an in-process broker: pub-sub across groups, partitions shared
// within a group (each owned once) and moved on close without redelivering committed offsets,
// commits surviving a broker restart, reset policies, tag filtering, fenced commits, rebalance
// callbacks.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>

#include "tests/client/group_fixture.h"

using namespace tidemq;
using namespace std::chrono_literals;
using test::Position;

namespace {

std::set<TopicPartition> as_set(const std::vector<TopicPartition>& v) { return {v.begin(), v.end()}; }

// True when the consumers' assignments are disjoint, non-empty, and cover `partitions` of `topic`.
bool owned_once(const std::vector<Consumer*>& cs, const std::string& topic, uint32_t partitions) {
  std::multiset<TopicPartition> all;
  for (auto* c : cs) {
    auto a = c->assignment();
    if (a.empty()) return false;
    all.insert(a.begin(), a.end());
  }
  if (all.size() != partitions) return false;
  for (uint32_t p = 0; p < partitions; ++p) {
    if (all.count(TopicPartition{topic, p}) != 1) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("pub-sub: two groups each receive every message") {
  test::GroupFixture f;
  f.create_topic("orders", 4);
  f.set_reset_policy("billing", "earliest");
  f.set_reset_policy("audit", "earliest");
  auto acks = f.produce_n("orders", 200);
  const auto want = test::positions_of(acks);
  auto billing = f.consumer("billing", "orders");
  auto audit = f.consumer("audit", "orders");
  std::vector<std::set<Position>> got(2);
  size_t deliveries = 0;
  REQUIRE(test::poll_until(
      {billing.get(), audit.get()}, [&] { return got[0] == want && got[1] == want; },
      [&](size_t i, const Message& m) {
        got[i].emplace(static_cast<uint32_t>(m.partition), m.offset);
        ++deliveries;
      }));
  CHECK(deliveries == 400);  // each group once, no duplicates without a rebalance
  CHECK(billing->assignment().size() == 4);
  CHECK(audit->assignment().size() == 4);
}

TEST_CASE("three members share the partitions; one closes, its partitions move, nothing committed comes again") {
  test::GroupFixture f;
  f.create_topic("orders", 6);
  f.set_reset_policy("billing", "earliest");
  auto c0 = f.consumer("billing", "orders");
  // The callbacks replayed: what c0 believes it owns.
  std::set<TopicPartition> c0_view;
  size_t c0_revocations = 0;
  c0->set_rebalance_listener(
      [&](const std::vector<TopicPartition>& p) {
        c0_revocations += p.size();
        for (const auto& tp : p) CHECK(c0_view.erase(tp) == 1);
      },
      [&](const std::vector<TopicPartition>& p) {
        for (const auto& tp : p) CHECK(c0_view.insert(tp).second);
      });
  std::map<uint32_t, uint64_t> acked_commit;  // partition -> highest acknowledged committed offset
  std::set<Position> delivered;
  size_t violations = 0;
  auto sink = [&](size_t, const Message& m) {
    const auto p = static_cast<uint32_t>(m.partition);
    if (m.offset < acked_commit[p]) ++violations;
    delivered.emplace(p, m.offset);
  };
  REQUIRE(test::poll_until(
      {c0.get()}, [&] { return c0->assignment().size() == 6; }, sink));
  CHECK(c0_view.size() == 6);
  auto c1 = f.consumer("billing", "orders");
  auto c2 = f.consumer("billing", "orders");
  std::vector<Consumer*> all{c0.get(), c1.get(), c2.get()};
  REQUIRE_MESSAGE(test::poll_until(
                      all, [&] { return owned_once(all, "orders", 6); }, sink),
                  "three members never owned every partition exactly once");
  CHECK(c0_revocations >= 4);  // c0 had every partition alone first, then gave some up
  CHECK(c0_view == as_set(c0->assignment()));

  auto first = test::positions_of(f.produce_n("orders", 600, "a"));
  REQUIRE(test::poll_until(
      all, [&] { return std::includes(delivered.begin(), delivered.end(), first.begin(), first.end()); }, sink));
  auto note_commits = [&](Consumer& c) {
    for (const auto& co : c.committed()) {
      acked_commit[co.partition.partition] = std::max(acked_commit[co.partition.partition], co.offset);
    }
  };
  for (auto* c : all) {
    REQUIRE(c->commit_sync().is_ok());
    note_commits(*c);
  }
  CHECK(acked_commit.size() == 6);
  const auto c2_partitions = as_set(c2->assignment());

  REQUIRE(c2->close().is_ok());
  std::vector<Consumer*> rest{c0.get(), c1.get()};
  REQUIRE_MESSAGE(test::poll_until(
                      rest, [&] { return owned_once(rest, "orders", 6); }, sink),
                  "c2's partitions did not move to the other two");
  std::set<TopicPartition> now_owned;
  for (auto* c : rest) {
    for (const auto& tp : c->assignment()) now_owned.insert(tp);
  }
  for (const auto& tp : c2_partitions) CHECK(now_owned.count(tp) == 1);

  auto second = test::positions_of(f.produce_n("orders", 300, "b"));
  REQUIRE(test::poll_until(
      rest, [&] { return std::includes(delivered.begin(), delivered.end(), second.begin(), second.end()); }, sink));
  CHECK(violations == 0);
}

TEST_CASE("committed offsets survive a broker restart: a new member resumes there") {
  test::GroupFixture f;
  f.create_topic("orders", 2);
  f.set_reset_policy("billing", "earliest");
  auto first = test::positions_of(f.produce_n("orders", 50, "a"));
  std::map<uint32_t, uint64_t> committed;
  {
    auto c = f.consumer("billing", "orders");
    std::set<Position> got;
    REQUIRE(test::poll_until(
        {c.get()}, [&] { return got == first; },
        [&](size_t, const Message& m) { got.emplace(static_cast<uint32_t>(m.partition), m.offset); }));
    REQUIRE(c->commit_sync().is_ok());
    for (const auto& co : c->committed()) committed[co.partition.partition] = co.offset;
    CHECK(committed.size() == 2);
    uint64_t total = 0;
    for (const auto& [p, off] : committed) total += off;
    CHECK(total == 50);
  }
  f.broker.restart();
  auto second = test::positions_of(f.produce_n("orders", 10, "b"));
  auto c = f.consumer("billing", "orders");
  std::set<Position> got;
  std::vector<Message> all;
  REQUIRE(test::poll_until(
      {c.get()}, [&] { return got == second; },
      [&](size_t, const Message& m) {
        got.emplace(static_cast<uint32_t>(m.partition), m.offset);
        all.push_back(m);
      }));
  for (const auto& m : all) {
    CHECK(m.offset >= committed[static_cast<uint32_t>(m.partition)]);
    CHECK(m.body[0] == 'b');
  }
  for (const auto& co : c->committed()) CHECK(co.offset >= committed[co.partition.partition]);  // never backwards
}

TEST_CASE("a live member rides out a broker restart: it joins again and goes on from the committed offsets") {
  test::GroupFixture f;
  f.create_topic("orders", 2);
  f.set_reset_policy("billing", "earliest");
  auto first = test::positions_of(f.produce_n("orders", 40, "a"));
  auto c = f.consumer("billing", "orders");
  std::set<Position> got;
  REQUIRE(test::poll_until(
      {c.get()}, [&] { return got == first; },
      [&](size_t, const Message& m) { got.emplace(static_cast<uint32_t>(m.partition), m.offset); }));
  REQUIRE(c->commit_sync().is_ok());
  std::map<uint32_t, uint64_t> committed;
  for (const auto& co : c->committed()) committed[co.partition.partition] = co.offset;
  const std::string member_before = c->member_id();

  f.broker.restart();
  auto second = test::positions_of(f.produce_n("orders", 10, "b"));
  std::set<Position> after;
  size_t below_commit = 0;
  REQUIRE(test::poll_until(
      {c.get()}, [&] { return after == second; },
      [&](size_t, const Message& m) {
        const auto p = static_cast<uint32_t>(m.partition);
        if (m.offset < committed[p]) ++below_commit;
        after.emplace(p, m.offset);
      }));
  CHECK(below_commit == 0);
  CHECK_FALSE(c->member_id().empty());
  CHECK(c->assignment().size() == 2);
  MESSAGE("member before the restart: ", member_before, ", after: ", c->member_id());
}

TEST_CASE("reset policy: latest (the default) skips what was there before; earliest reads from the start") {
  test::GroupFixture f;
  f.create_topic("orders", 2);
  auto old = test::positions_of(f.produce_n("orders", 20, "old"));
  f.set_reset_policy("from-start", "earliest");
  auto latest = f.consumer("new-group", "orders");
  auto earliest = f.consumer("from-start", "orders");
  // Once a poll has returned with both partitions owned, the start positions are fixed.
  size_t old_delivered = 0;
  REQUIRE(test::poll_until(
      {latest.get()}, [&] { return latest->assignment().size() == 2; },
      [&](size_t, const Message&) { ++old_delivered; }));
  CHECK(old_delivered == 0);
  auto fresh = test::positions_of(f.produce_n("orders", 5, "new"));
  std::set<Position> got_latest;
  std::set<Position> got_earliest;
  REQUIRE(test::poll_until(
      {latest.get(), earliest.get()},
      [&] { return got_latest == fresh && got_earliest.size() == old.size() + fresh.size(); },
      [&](size_t i, const Message& m) {
        (i == 0 ? got_latest : got_earliest).emplace(static_cast<uint32_t>(m.partition), m.offset);
        if (i == 0) CHECK(m.body.rfind("new", 0) == 0);
      }));
  for (const auto& po : old) CHECK(got_earliest.count(po) == 1);
}

TEST_CASE("tag filtering: 'A || B' receives A and B only; the committed offset passes filtered records") {
  test::GroupFixture f;
  f.create_topic("orders", 2);
  f.set_reset_policy("billing", "earliest");
  const char* tags[] = {"A", "B", "C"};
  auto acks = f.produce_n("orders", 30, "m", [&](Message& m, int i) { m.tags = tags[i % 3]; });
  std::set<Position> want;
  for (size_t i = 0; i < acks.size(); ++i) {
    if (i % 3 != 2) want.emplace(acks[i].partition, acks[i].offset);
  }
  auto c = f.consumer("billing", "orders", "A || B");
  std::set<Position> got;
  size_t wrong = 0;
  REQUIRE(test::poll_until(
      {c.get()}, [&] { return got == want; },
      [&](size_t, const Message& m) {
        if (m.tags != "A" && m.tags != "B") ++wrong;
        got.emplace(static_cast<uint32_t>(m.partition), m.offset);
      }));
  CHECK(wrong == 0);
  // Poll once more so the positions reach past trailing C records, then commit.
  (void)c->poll(300ms);
  REQUIRE(c->commit_sync().is_ok());
  std::map<uint32_t, uint64_t> end;
  for (const auto& a : acks) end[a.partition] = std::max(end[a.partition], a.offset + 1);
  for (const auto& co : c->committed()) CHECK(co.offset == end[co.partition.partition]);
}

TEST_CASE("a commit for partitions that moved is fenced (NotAssigned, then IllegalGeneration)") {
  test::GroupFixture f;
  f.create_topic("orders", 4);
  f.set_reset_policy("billing", "earliest");
  auto acks = test::positions_of(f.produce_n("orders", 40));
  auto o = f.consumer_options("billing");
  o.auto_commit = false;
  auto a = f.consumer("billing", "orders", "*", o);
  std::set<Position> got;
  REQUIRE(test::poll_until(
      {a.get()}, [&] { return got == acks; },
      [&](size_t, const Message& m) { got.emplace(static_cast<uint32_t>(m.partition), m.offset); }));
  REQUIRE(a->assignment().size() == 4);

  // b joins and takes half; a has not polled since, so it still commits all four.
  auto b = f.consumer("billing", "orders", "*", o);
  REQUIRE(test::poll_until(
      {b.get()}, [&] { return b->assignment().size() == 2; }, [](size_t, const Message&) {}));
  Status st = a->commit_sync();
  CHECK(st.code() == StatusCode::kNotAssigned);
  std::set<TopicPartition> kept;
  for (const auto& co : a->committed()) kept.insert(co.partition);
  CHECK(kept.size() == 2);  // the two partitions a kept were committed

  // b leaves: the partitions come back to a, but not continuously owned since a's positions.
  REQUIRE(b->close().is_ok());
  st = a->commit_sync();
  CHECK(st.code() == StatusCode::kIllegalGeneration);
  CHECK(a->committed().size() == 2);

  // After a poll, a re-reads the committed offsets of the returned partitions and can commit.
  REQUIRE(test::poll_until(
      {a.get()}, [&] { return a->assignment().size() == 4; }, [](size_t, const Message&) {}));
  (void)a->poll(300ms);
  CHECK(a->commit_sync().is_ok());
}

TEST_CASE("a subscription the broker refuses fails poll() until it is fixed; poll without subscribe is refused") {
  test::GroupFixture f;
  f.create_topic("orders", 1);
  f.set_reset_policy("billing", "earliest");
  auto o = f.consumer_options("billing");
  auto c = Consumer::create(o);
  REQUIRE(c.is_ok());
  CHECK((*c)->poll(10ms).status().code() == StatusCode::kInvalidArgument);  // nothing subscribed
  REQUIRE((*c)->subscribe("orders", "A ||").is_ok());
  CHECK((*c)->poll(5s).status().code() == StatusCode::kInvalidArgument);
  REQUIRE((*c)->subscribe("orders", "A").is_ok());
  auto acks = f.produce_n("orders", 3, "m", [](Message& m, int i) { m.tags = i == 1 ? "A" : "B"; });
  std::vector<Message> got;
  REQUIRE(test::poll_until({c->get()}, [&] { return !got.empty(); }, [&](size_t, const Message& m) { got.push_back(m); }));
  CHECK(got.size() == 1);
  CHECK(got[0].offset == acks[1].offset);
  REQUIRE((*c)->close().is_ok());
  CHECK((*c)->poll(10ms).status().code() == StatusCode::kShuttingDown);
}
