// Committed offsets (SPEC §5.2): durable, never backwards on commit, resettable by an admin.
#include "broker/store/offset_store.h"

#include <doctest/doctest.h>

#include <chrono>
#include <future>

#include "broker/store/key_layout.h"
#include "tests/broker/store/group_store_fixture.h"

using namespace tidemq;
using namespace tidemq::broker;
using tidemq::test::GroupStoreFixture;

namespace {
std::vector<uint64_t> commit_ok(OffsetStore& s, const std::string& g, const std::vector<OffsetUpdate>& u) {
  auto r = s.commit(g, u);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
  return *r;
}
uint64_t offset_of(const OffsetStore& s, const std::string& g, uint32_t t, uint32_t p) {
  auto c = s.get(g, t, p);
  REQUIRE(c);
  return c->offset;
}
}  // namespace

TEST_CASE("commit stores offsets with the commit time; get returns them; unknown is nullopt") {
  GroupStoreFixture f;
  CHECK_FALSE(f.offsets->get("billing", 1, 0));
  const int64_t t0 = f.clock.now_ms();
  CHECK(commit_ok(*f.offsets, "billing", {{1, 0, 10}, {1, 1, 20}, {2, 0, 5}}) == std::vector<uint64_t>{10, 20, 5});
  auto c = f.offsets->get("billing", 1, 1);
  REQUIRE(c);
  CHECK(c->offset == 20);
  CHECK(c->commit_ms == t0);
  CHECK(offset_of(*f.offsets, "billing", 2, 0) == 5);
  CHECK_FALSE(f.offsets->get("billing", 1, 2));
  CHECK_FALSE(f.offsets->get("audit", 1, 0));
}

TEST_CASE("commit never moves an offset backwards and answers the stored offset") {
  GroupStoreFixture f;
  commit_ok(*f.offsets, "g", {{1, 0, 100}});
  const int64_t first_ms = f.clock.now_ms();
  f.clock.advance_ms(1000);
  // Below and equal are skipped (the commit time stays); above is stored.
  CHECK(commit_ok(*f.offsets, "g", {{1, 0, 50}}) == std::vector<uint64_t>{100});
  CHECK(commit_ok(*f.offsets, "g", {{1, 0, 100}}) == std::vector<uint64_t>{100});
  CHECK(f.offsets->get("g", 1, 0)->commit_ms == first_ms);
  CHECK(commit_ok(*f.offsets, "g", {{1, 0, 120}, {1, 1, 7}}) == std::vector<uint64_t>{120, 7});
  CHECK(f.offsets->get("g", 1, 0)->commit_ms == first_ms + 1000);
  // The same partition twice in one call: each answer is the offset stored after that update.
  CHECK(commit_ok(*f.offsets, "g", {{1, 0, 130}, {1, 0, 125}, {1, 0, 140}}) == std::vector<uint64_t>{130, 130, 140});
  CHECK(offset_of(*f.offsets, "g", 1, 0) == 140);
  f.reopen();
  CHECK(offset_of(*f.offsets, "g", 1, 0) == 140);  // what was written is the last value
}

TEST_CASE("reset sets offsets as given, also backwards") {
  GroupStoreFixture f;
  commit_ok(*f.offsets, "g", {{1, 0, 100}, {1, 1, 200}});
  f.clock.advance_ms(5);
  REQUIRE(f.offsets->reset("g", {{1, 0, 3}, {1, 2, 9}}).is_ok());
  CHECK(offset_of(*f.offsets, "g", 1, 0) == 3);
  CHECK(f.offsets->get("g", 1, 0)->commit_ms == f.clock.now_ms());
  CHECK(offset_of(*f.offsets, "g", 1, 1) == 200);  // untouched
  CHECK(offset_of(*f.offsets, "g", 1, 2) == 9);
  // After a reset, commits again only move forward from the new value.
  CHECK(commit_ok(*f.offsets, "g", {{1, 0, 2}}) == std::vector<uint64_t>{3});
  CHECK(commit_ok(*f.offsets, "g", {{1, 0, 4}}) == std::vector<uint64_t>{4});
  f.reopen();
  CHECK(offset_of(*f.offsets, "g", 1, 0) == 4);
  CHECK(offset_of(*f.offsets, "g", 1, 2) == 9);
}

TEST_CASE("committed offsets survive closing and reopening the Db") {
  GroupStoreFixture f;
  const int64_t t0 = f.clock.now_ms();
  commit_ok(*f.offsets, "billing", {{1, 0, 11}, {1, 3, 33}});
  commit_ok(*f.offsets, "audit", {{2, 1, 7}});
  f.reopen();
  auto c = f.offsets->get("billing", 1, 3);
  REQUIRE(c);
  CHECK(c->offset == 33);
  CHECK(c->commit_ms == t0);
  CHECK(offset_of(*f.offsets, "billing", 1, 0) == 11);
  CHECK(offset_of(*f.offsets, "audit", 2, 1) == 7);
  CHECK(f.offsets->groups() == std::vector<std::string>{"audit", "billing"});
  // Still never backwards after the restart.
  CHECK(commit_ok(*f.offsets, "billing", {{1, 3, 1}}) == std::vector<uint64_t>{33});
}

TEST_CASE("list gives one group's offsets; groups() is sorted; 'a' and 'ab' stay apart") {
  GroupStoreFixture f;
  commit_ok(*f.offsets, "ab", {{1, 0, 5}, {2, 0, 6}});
  commit_ok(*f.offsets, "a", {{1, 0, 1}, {1, 1, 2}});
  commit_ok(*f.offsets, "b", {{1, 0, 9}});
  for (int pass = 0; pass < 2; ++pass) {  // in memory, then as loaded from LevelDB
    CAPTURE(pass);
    auto a = f.offsets->list("a");
    REQUIRE(a.size() == 2);
    CHECK(a.at({1, 0}).offset == 1);
    CHECK(a.at({1, 1}).offset == 2);
    auto ab = f.offsets->list("ab");
    REQUIRE(ab.size() == 2);
    CHECK(ab.at({1, 0}).offset == 5);
    CHECK(ab.at({2, 0}).offset == 6);
    CHECK(f.offsets->list("").empty());
    CHECK(f.offsets->list("c").empty());
    CHECK(f.offsets->groups() == std::vector<std::string>{"a", "ab", "b"});
    f.reopen();
  }
  REQUIRE(f.offsets->remove_group("a").is_ok());
  CHECK(f.offsets->list("a").empty());
  CHECK(f.offsets->list("ab").size() == 2);  // the longer name sharing the prefix is untouched
  f.reopen();
  CHECK(f.offsets->list("a").empty());
  CHECK(f.offsets->list("ab").size() == 2);
  CHECK(f.offsets->groups() == std::vector<std::string>{"ab", "b"});
}

TEST_CASE("remove_group and remove_topic delete durably; removing nothing is ok") {
  GroupStoreFixture f;
  commit_ok(*f.offsets, "g1", {{1, 0, 1}, {2, 0, 2}, {2, 1, 3}});
  commit_ok(*f.offsets, "g2", {{2, 0, 4}, {3, 0, 5}});
  REQUIRE(f.offsets->remove_topic(2).is_ok());
  CHECK(f.offsets->list("g1").size() == 1);
  CHECK(f.offsets->list("g2").size() == 1);
  CHECK_FALSE(f.offsets->get("g1", 2, 1));
  REQUIRE(f.offsets->remove_group("g2").is_ok());
  CHECK(f.offsets->groups() == std::vector<std::string>{"g1"});
  CHECK(f.offsets->remove_group("nobody").is_ok());
  CHECK(f.offsets->remove_topic(99).is_ok());
  f.reopen();
  CHECK(f.offsets->groups() == std::vector<std::string>{"g1"});
  auto g1 = f.offsets->list("g1");
  REQUIRE(g1.size() == 1);
  CHECK(g1.at({1, 0}).offset == 1);
  // A removed offset starts from scratch: a lower commit is accepted again.
  CHECK(commit_ok(*f.offsets, "g1", {{2, 1, 1}}) == std::vector<uint64_t>{1});
}

TEST_CASE("admit refuses updates inside the commit; a refused update answers the offset stored now") {
  GroupStoreFixture f;
  commit_ok(*f.offsets, "g", {{1, 0, 10}});
  std::vector<size_t> asked;
  auto r = f.offsets->commit("g", {{1, 0, 20}, {1, 1, 5}, {1, 2, 7}}, [&](size_t i) {
    asked.push_back(i);
    return i == 2;
  });
  REQUIRE(r.is_ok());
  CHECK(asked == std::vector<size_t>{0, 1, 2});
  CHECK(*r == std::vector<uint64_t>{10, 0, 7});
  CHECK(offset_of(*f.offsets, "g", 1, 0) == 10);
  CHECK_FALSE(f.offsets->get("g", 1, 1));
  CHECK(offset_of(*f.offsets, "g", 1, 2) == 7);
}

// The T4 race (tests/reliability): a member's commit is admitted (it owns the partition), the
// partition moves while the write waits for its fsync, and the new owner reads its start offset.
// get() still shows the old value then; get_settled() must wait and see the commit, or the new
// owner re-reads what the old owner's acknowledged commit covered.
TEST_CASE("get_settled waits for a commit in progress; get does not") {
  GroupStoreFixture f;
  commit_ok(*f.offsets, "g", {{1, 0, 10}});
  f.env.hold_syncs();
  auto commit = std::async(std::launch::async, [&] { return f.offsets->commit("g", {{1, 0, 20}}); });
  f.env.wait_for_held_sync();  // admitted, now inside its fsync
  CHECK(offset_of(*f.offsets, "g", 1, 0) == 10);
  auto settled = std::async(std::launch::async, [&] { return f.offsets->get_settled("g", 1, 0); });
  // Not answered while the commit is stuck (a condition with a bound: it must stay unanswered).
  CHECK(settled.wait_for(std::chrono::milliseconds(100)) == std::future_status::timeout);
  f.env.release_syncs();
  auto c = commit.get();
  REQUIRE(c.is_ok());
  auto s = settled.get();
  REQUIRE(s);
  CHECK(s->offset == 20);
}

TEST_CASE("a failed write returns StorageError and leaves memory (and disk) unchanged") {
  GroupStoreFixture f;
  commit_ok(*f.offsets, "g", {{1, 0, 10}});
  f.env.set_fail_sync(true);
  f.env.arm();
  auto r = f.offsets->commit("g", {{1, 0, 20}, {1, 1, 5}});
  CHECK(r.status().code() == StatusCode::kStorageError);
  CHECK(offset_of(*f.offsets, "g", 1, 0) == 10);
  CHECK_FALSE(f.offsets->get("g", 1, 1));
  f.env.disarm();
  // Sticky: later writes fail too, and change nothing.
  CHECK(f.offsets->reset("g", {{1, 0, 1}}).code() == StatusCode::kStorageError);
  CHECK(f.offsets->remove_group("g").code() == StatusCode::kStorageError);
  CHECK(f.offsets->remove_topic(1).code() == StatusCode::kStorageError);
  CHECK(offset_of(*f.offsets, "g", 1, 0) == 10);
  CHECK(f.offsets->list("g").size() == 1);
}

TEST_CASE("an unreadable value fails load with a Corruption naming the group and partition") {
  GroupStoreFixture f;
  commit_ok(*f.offsets, "billing", {{1, 0, 10}});
  f.put_raw(keys::offset("billing", 3, 2), "short");
  OffsetStore fresh(*f.db, f.clock);
  Status st = fresh.load();
  CHECK(st.code() == StatusCode::kCorruptMessage);
  CHECK(st.message().find("group 'billing' topic id 3 partition 2") != std::string::npos);
  CHECK(st.message().find("5 bytes") != std::string::npos);
  CHECK(fresh.groups().empty());  // nothing half-loaded

  // A malformed key inside the keyspace is reported too.
  GroupStoreFixture g;
  g.put_raw(keys::keyspace_begin(keys::Keyspace::kOffset) + "x", std::string(16, '\0'));
  OffsetStore other(*g.db, g.clock);
  Status st2 = other.load();
  CHECK(st2.code() == StatusCode::kCorruptMessage);
  CHECK(st2.message().find("malformed committed-offset key 0678") != std::string::npos);
}
