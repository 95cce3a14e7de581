// PushConsumer against an in-process broker: every message consumed; ReconsumeLater sent back
// and delivered again through %RETRY%<group> (reconsume_times + 1, after the group's retry delay)
// while the partition moves on; a message that keeps failing goes round the ladder into
// %DLQ%<group> and the commit moves past it; ordered mode (per-key order across a rebalance, a
// failing message suspends its partition); flow control caps what is buffered.
//
// The fallbacks when a send-back fails (in place, give up) need a broker that refuses SendBack:
// tests/client/retry_consumer_test.cc's fake broker.
#include "tidemq/push_consumer.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "tests/client/group_fixture.h"
#include "tests/support/eventually.h"
#include "tidemq/admin.h"

using namespace tidemq;
using namespace std::chrono_literals;
using test::Position;
using SteadyClock = std::chrono::steady_clock;

namespace {

// Collects listener calls and lets the test wait for a condition on them.
struct Recorder {
  struct Call {
    Message m;
    SteadyClock::time_point start;
    SteadyClock::time_point end;
    int member = 0;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Call> calls;

  void add(Call c) {
    std::lock_guard lock(mu);
    calls.push_back(std::move(c));
    cv.notify_all();
  }
  template <typename Pred>
  bool wait(Pred pred, std::chrono::seconds timeout = 30s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [&] { return pred(calls); });
  }
  std::set<Position> consumed() {
    std::lock_guard lock(mu);
    std::set<Position> out;
    for (const auto& c : calls) out.emplace(static_cast<uint32_t>(c.m.partition), c.m.offset);
    return out;
  }
};

// The group starts at the earliest offset and retries on `policy` (SPEC §7) up to `max` times.
void set_retry(test::GroupFixture& f, const std::string& group, const std::string& policy, uint32_t max) {
  tidemq::GroupSettings s;
  s.name = group;
  s.reset_policy = "earliest";
  s.retry_policy = policy;
  s.max_reconsume_times = max;
  auto admin = Admin::create(f.client());
  REQUIRE(admin.is_ok());
  auto r = (*admin)->update_group(s);
  REQUIRE_MESSAGE(r.is_ok(), r.status().to_string());
}

PushConsumerOptions push_options(const test::GroupFixture& f, const std::string& group) {
  PushConsumerOptions o;
  o.consumer = f.consumer_options(group);
  o.consumer.auto_commit_interval = 200ms;
  o.reconsume_delay = 100ms;
  return o;
}

std::unique_ptr<PushConsumer> start_push(PushConsumerOptions o, const std::string& topic, MessageListener l) {
  auto c = PushConsumer::create(std::move(o), std::move(l));
  REQUIRE_MESSAGE(c.is_ok(), c.status().to_string());
  REQUIRE((*c)->subscribe(topic).is_ok());
  REQUIRE((*c)->start().is_ok());
  return std::move(*c);
}

// The group's next message on `partition`, read by a fresh poll consumer (the committed offset).
Message next_from_group(test::GroupFixture& f, const std::string& group, const std::string& topic, uint32_t partition) {
  auto c = f.consumer(group, topic);
  Message first;
  bool found = false;
  REQUIRE(test::poll_until(
      {c.get()}, [&] { return found; },
      [&](size_t, const Message& m) {
        if (!found && static_cast<uint32_t>(m.partition) == partition) {
          first = m;
          found = true;
        }
      }));
  return first;
}

}  // namespace

TEST_CASE("push consumer: every message consumed, and the final commit covers them") {
  test::GroupFixture f;
  f.create_topic("orders", 4);
  f.set_reset_policy("billing", "earliest");
  const auto want = test::positions_of(f.produce_n("orders", 400));
  Recorder rec;
  auto c = start_push(push_options(f, "billing"), "orders", [&](const Message& m) {
    rec.add({m, SteadyClock::now(), SteadyClock::now(), 0});
    return ConsumeStatus::kSuccess;
  });
  REQUIRE_MESSAGE(rec.wait([&](const std::vector<Recorder::Call>& calls) { return calls.size() >= want.size(); }),
                  "not everything was consumed");
  CHECK(rec.consumed() == want);
  CHECK(c->assignment().size() == 4);
  REQUIRE(c->shutdown().is_ok());
  CHECK(c->stats().consumed == 400);  // after shutdown: the last listener call has returned
  // Everything was committed: the group's next message is a new one.
  auto later = f.produce_n("orders", 1, "later", [](Message& m, int) { m.partition = 2; });
  Message next = next_from_group(f, "billing", "orders", 2);
  CHECK(next.body == "later0");
  CHECK(next.offset == later[0].offset);
}

TEST_CASE("ReconsumeLater: sent back, delivered again through %RETRY%<group> after its delay while the partition moves on") {
  test::GroupFixture f;
  f.create_topic("orders", 1);
  set_retry(f, "billing", "100ms", 16);
  f.produce_n("orders", 50);
  Recorder rec;
  std::atomic<bool> failed_once{false};
  auto c = start_push(push_options(f, "billing"), "orders", [&](const Message& m) {
    rec.add({m, SteadyClock::now(), SteadyClock::now(), 0});
    if (m.body == "m10" && !failed_once.exchange(true)) return ConsumeStatus::kReconsumeLater;
    return ConsumeStatus::kSuccess;
  });
  REQUIRE(rec.wait([](const std::vector<Recorder::Call>& calls) { return calls.size() >= 51; }));
  std::lock_guard lock(rec.mu);
  std::vector<const Recorder::Call*> tenth;
  size_t after_before_retry = 0;
  for (const auto& call : rec.calls) {
    if (call.m.body == "m10") tenth.push_back(&call);
  }
  REQUIRE(tenth.size() == 2);
  CHECK(tenth[0]->m.reconsume_times == 0);
  CHECK(tenth[1]->m.reconsume_times == 1);
  CHECK(tenth[1]->start - tenth[0]->end >= 100ms);  // the group's retry delay
  CHECK(tenth[1]->m.id == tenth[0]->m.id);
  CHECK(tenth[1]->m.topic == "orders");
  CHECK(tenth[1]->m.read_topic == "%RETRY%billing");
  for (const auto& call : rec.calls) {
    if (call.m.offset > tenth[0]->m.offset && call.start < tenth[1]->start) ++after_before_retry;
  }
  CHECK(after_before_retry > 0);  // later messages of the partition did not wait for the retry
  CHECK(c->stats().reconsume_later == 1);
  CHECK(c->stats().sent_back == 1);
}

TEST_CASE("a message that keeps failing goes round the group's ladder into %DLQ%<group>; the commit moves past it") {
  test::GroupFixture f;
  f.create_topic("orders", 1);
  set_retry(f, "billing", "20ms", 3);
  f.produce_n("orders", 30);
  Recorder rec;
  auto c = start_push(push_options(f, "billing"), "orders", [&](const Message& m) {
    rec.add({m, SteadyClock::now(), SteadyClock::now(), 0});
    return m.body == "m7" ? ConsumeStatus::kReconsumeLater : ConsumeStatus::kSuccess;
  });
  // Everything else consumed, m7 delivered 4 times (the first + 3 retries), then a dead letter.
  REQUIRE(rec.wait([](const std::vector<Recorder::Call>& calls) {
    size_t others = 0, m7 = 0;
    for (const auto& call : calls) (call.m.body == "m7" ? m7 : others) += 1;
    return others >= 29 && m7 >= 4;
  }));
  auto admin = Admin::create(f.client());
  REQUIRE(admin.is_ok());
  CHECK(test::eventually([&] { return (*admin)->consumer_progress("billing")->dlq_messages == 1; }));
  REQUIRE(c->shutdown().is_ok());
  {
    std::lock_guard lock(rec.mu);
    std::vector<uint32_t> times;
    for (const auto& call : rec.calls) {
      if (call.m.body == "m7") times.push_back(call.m.reconsume_times);
    }
    CHECK(times == std::vector<uint32_t>{0, 1, 2, 3});
  }
  CHECK(c->stats().sent_back == 4);  // 3 retries, then the dead letter
  f.produce_n("orders", 1, "later");
  CHECK(next_from_group(f, "billing", "orders", 0).body == "later0");
}

TEST_CASE("ordered: a failing message suspends its partition and is retried before the next one") {
  test::GroupFixture f;
  f.create_topic("orders", 1);
  f.set_reset_policy("billing", "earliest");
  f.produce_n("orders", 20);
  Recorder rec;
  auto o = push_options(f, "billing");
  o.ordered = true;
  std::atomic<bool> failed_once{false};
  auto c = start_push(o, "orders", [&](const Message& m) {
    rec.add({m, SteadyClock::now(), SteadyClock::now(), 0});
    if (m.body == "m5" && !failed_once.exchange(true)) return ConsumeStatus::kReconsumeLater;
    return ConsumeStatus::kSuccess;
  });
  REQUIRE(rec.wait([](const std::vector<Recorder::Call>& calls) { return calls.size() >= 21; }));
  REQUIRE(c->shutdown().is_ok());
  std::vector<std::string> order;
  for (const auto& call : rec.calls) order.push_back(call.m.body);
  std::vector<std::string> want;
  for (int i = 0; i < 20; ++i) {
    want.push_back(fmt::format("m{}", i));
    if (i == 5) want.push_back("m5");
  }
  CHECK(order == want);
  CHECK(rec.calls[6].m.reconsume_times == 1);
  CHECK(rec.calls[6].start - rec.calls[5].end >= 100ms);
}

// What is asserted: for every key and every n > 0, the first time any member of the group starts
// processing message n of that key is after some member has finished processing message n-1.
// So per key nothing is processed ahead of its predecessor, across the rebalance too; a message
// may be processed again (at-least-once: its offset was not committed when its partition moved),
// and every message is processed at least once.
TEST_CASE("ordered: per-key order holds across a rebalance (a second member joins mid-stream)") {
  test::GroupFixture f;
  f.create_topic("orders", 4);
  f.set_reset_policy("billing", "earliest");
  constexpr int kKeys = 8;
  constexpr int kPerKey = 100;
  Recorder rec;
  auto make = [&](int member) {
    auto o = push_options(f, "billing");
    o.ordered = true;
    o.consume_threads = 4;
    return start_push(o, "orders", [&rec, member](const Message& m) {
      Recorder::Call call{m, SteadyClock::now(), {}, member};
      std::this_thread::sleep_for(200us);  // the work
      call.end = SteadyClock::now();
      rec.add(std::move(call));
      return ConsumeStatus::kSuccess;
    });
  };
  ProducerOptions po;
  po.selector = SelectorKind::kHash;
  auto produce_half = [&](int from, int to) {
    std::vector<Message> msgs;  // a key's messages back to back: concurrent mode would overlap them
    for (int k = 0; k < kKeys; ++k) {
      for (int seq = from; seq < to; ++seq) {
        Message m;
        m.topic = "orders";
        m.key = fmt::format("key{}", k);
        m.body = fmt::format("{}", seq);
        msgs.push_back(std::move(m));
      }
    }
    f.produce(std::move(msgs), po);
  };
  auto a = make(0);
  produce_half(0, kPerKey / 2);
  REQUIRE(rec.wait([](const std::vector<Recorder::Call>& calls) { return calls.size() >= 100; }));
  auto b = make(1);
  produce_half(kPerKey / 2, kPerKey);
  auto complete = [&](const std::vector<Recorder::Call>& calls) {
    std::set<std::pair<std::string, int>> seen;
    for (const auto& c : calls) seen.emplace(c.m.key, std::stoi(c.m.body));
    return seen.size() == static_cast<size_t>(kKeys * kPerKey);
  };
  REQUIRE_MESSAGE(rec.wait(complete, 60s), "not every message was consumed");
  REQUIRE(a->shutdown().is_ok());
  REQUIRE(b->shutdown().is_ok());

  std::lock_guard lock(rec.mu);
  std::map<std::pair<std::string, int>, SteadyClock::time_point> first_start;
  std::map<std::pair<std::string, int>, SteadyClock::time_point> first_end;
  std::set<int> members;
  for (const auto& c : rec.calls) {
    auto k = std::make_pair(c.m.key, std::stoi(c.m.body));
    if (!first_start.count(k) || c.start < first_start[k]) first_start[k] = c.start;
    if (!first_end.count(k) || c.end < first_end[k]) first_end[k] = c.end;
    members.insert(c.member);
  }
  CHECK(members.size() == 2);  // the second member took partitions
  size_t violations = 0;
  for (int k = 0; k < kKeys; ++k) {
    const std::string key = fmt::format("key{}", k);
    for (int n = 1; n < kPerKey; ++n) {
      if (first_start[{key, n}] < first_end[{key, n - 1}]) ++violations;
    }
  }
  CHECK(violations == 0);
  MESSAGE(fmt::format("{} listener calls for {} messages", rec.calls.size(), kKeys * kPerKey));
}

TEST_CASE("flow control: a partition stops being fetched while its buffer is full") {
  test::GroupFixture f;
  f.create_topic("orders", 1);
  f.set_reset_policy("billing", "earliest");
  ProducerOptions po;
  po.max_batch_bytes = 1;  // one message per batch, so a fetch can stop between any two
  std::vector<Message> msgs;
  for (int i = 0; i < 300; ++i) {
    Message m;
    m.topic = "orders";
    m.body = fmt::format("m{}", i);
    msgs.push_back(std::move(m));
  }
  f.produce(std::move(msgs), po);

  constexpr uint32_t kLimit = 20;
  auto o = push_options(f, "billing");
  o.consume_threads = 1;
  o.max_buffered_messages_per_partition = kLimit;
  o.consumer.max_fetch_bytes = 512;  // a handful of messages per fetch
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  int consumed = 0;
  auto c = start_push(o, "orders", [&](const Message&) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return release; });
    ++consumed;
    cv.notify_all();
    return ConsumeStatus::kSuccess;
  });
  // The buffer fills up to the limit (plus at most one fetch)... (stats() has no event to wait
  // on: it is sampled every 10 ms)
  const auto deadline = SteadyClock::now() + 30s;
  while (c->stats().buffered_messages < kLimit && SteadyClock::now() < deadline) std::this_thread::sleep_for(10ms);
  REQUIRE(c->stats().buffered_messages >= kLimit);
  // ...and stays there while nothing is consumed: let several fetch rounds (200 ms long polls)
  // pass; there is no event to wait for when the point is that nothing happens.
  std::this_thread::sleep_for(600ms);
  const auto buffered = c->stats().buffered_messages;
  CHECK(buffered < kLimit + 16);
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  {
    std::unique_lock lock(mu);
    CHECK(cv.wait_for(lock, 30s, [&] { return consumed == 300; }));
  }
  REQUIRE(c->shutdown().is_ok());
}
