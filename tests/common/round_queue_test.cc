// RoundQueue: rounds, jobs splitting them, and fair rounds (a busy key cannot make the others
// wait behind its backlog). Everything is queued before run() starts, on the test's thread, so
// each test knows exactly what the first take sees.
#include "common/round_queue.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using tidemq::RoundQueue;

namespace {

struct E {
  int key = -1;  // -1: no key (ordered against everything)
  size_t bytes = 0;
  std::string name;
};

using Q = RoundQueue<E>;

const Q::FairShare kShare{
    100, [](const E& e) -> std::optional<uint64_t> {
      if (e.key < 0) return std::nullopt;
      return static_cast<uint64_t>(e.key);
    },
    [](const E& e) { return e.bytes; },
    nullptr,  // no round cap
    0};

// Queues `entries` (an entry named "job..." is posted as a job), stops the queue and runs it on
// this thread until it is empty; returns the rounds as lists of names, a job as its own round.
std::vector<std::vector<std::string>> rounds_of(const std::vector<E>& entries, const Q::FairShare* share) {
  std::vector<std::vector<std::string>> rounds;
  Q q;
  q.start();
  for (E e : entries) {
    if (e.name.rfind("job", 0) == 0) {
      REQUIRE(q.post([&rounds, name = e.name] { rounds.push_back({name}); }));
    } else {
      REQUIRE(q.push(e));
    }
  }
  q.stop();  // run() takes what is queued, then returns
  q.run(
      [&](std::vector<E>& round) {
        if (round.empty()) return;
        std::vector<std::string> names;
        for (const E& e : round) names.push_back(e.name);
        rounds.push_back(names);
      },
      share);
  return rounds;
}

using Rounds = std::vector<std::vector<std::string>>;

}  // namespace

TEST_CASE("without a share, a round takes everything queued; a job splits it") {
  auto r = rounds_of({{0, 500, "a1"}, {1, 10, "b1"}, {-1, 0, "job1"}, {0, 500, "a2"}}, nullptr);
  CHECK(r == Rounds{{"a1", "b1"}, {"job1"}, {"a2"}});
}

TEST_CASE("fair rounds: a quiet key goes in the first round, not behind a busy key's backlog") {
  auto r = rounds_of({{0, 60, "a1"}, {0, 60, "a2"}, {0, 60, "a3"}, {0, 60, "a4"}, {1, 10, "b1"}}, &kShare);
  CHECK(r == Rounds{{"a1", "b1"}, {"a2"}, {"a3"}, {"a4"}});
}

TEST_CASE("fair rounds: up to the quantum per key, and a key's first entry always goes however large") {
  auto r = rounds_of({{0, 40, "a1"}, {0, 60, "a2"}, {0, 1, "a3"}, {1, 500, "b1"}, {1, 1, "b2"}}, &kShare);
  CHECK(r == Rounds{{"a1", "a2", "b1"}, {"a3", "b2"}});
}

TEST_CASE("fair rounds: a key's entries never overtake each other") {
  // a2 does not fit; a3 would, but must not pass a2.
  auto r = rounds_of({{0, 90, "a1"}, {0, 50, "a2"}, {0, 5, "a3"}, {1, 5, "b1"}}, &kShare);
  CHECK(r == Rounds{{"a1", "b1"}, {"a2", "a3"}});
}

TEST_CASE("fair rounds: a job or keyless entry after a left-over entry waits, and so does all after it") {
  auto r = rounds_of({{0, 90, "a1"}, {0, 50, "a2"}, {-1, 0, "job1"}, {1, 5, "b1"}}, &kShare);
  CHECK(r == Rounds{{"a1"}, {"a2"}, {"job1"}, {"b1"}});
  auto w = rounds_of({{0, 90, "a1"}, {0, 50, "a2"}, {-1, 3, "w1"}, {1, 5, "b1"}}, &kShare);
  CHECK(w == Rounds{{"a1"}, {"a2", "w1", "b1"}});
  // With nothing left over before it, a keyless entry keeps its place in the round.
  auto k = rounds_of({{0, 10, "a1"}, {-1, 3, "w1"}, {1, 5, "b1"}}, &kShare);
  CHECK(k == Rounds{{"a1", "w1", "b1"}});
}
TEST_CASE("a round cap: large entries of other keys wait once the round holds one, small ones still join") {
  Q::FairShare capped = kShare;
  capped.small_bytes = 5;
  capped.round_cap = [] { return size_t{60}; };
  // a1 opens the round (the first entry always goes); b1 would take it past 60 and waits (and b2,
  // small but behind it, with it); c1 still fits (30 + 20); d1 is small and joins anyway; a2
  // would take it past the cap. Next round: b1, then b2 (small), and a2 does not fit (45 + 40).
  auto r = rounds_of({{0, 30, "a1"}, {1, 40, "b1"}, {2, 20, "c1"}, {3, 5, "d1"}, {1, 5, "b2"}, {0, 40, "a2"}}, &capped);
  CHECK(r == Rounds{{"a1", "c1", "d1"}, {"b1", "b2"}, {"a2"}});
  // A cap of 0 is no cap.
  capped.round_cap = [] { return size_t{0}; };
  auto u = rounds_of({{0, 30, "a1"}, {1, 40, "b1"}, {2, 20, "c1"}}, &capped);
  CHECK(u == Rounds{{"a1", "b1", "c1"}});
}
