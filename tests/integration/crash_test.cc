// kill -9 of a child mqbroker (--flush sync) while acknowledged produces stream in: after every
// restart, every acknowledged message is there at the offset it was acknowledged with.
// Short in CI (TIDEMQ_CRASH_CYCLES, default 3); the reliability suite runs it longer.
#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "tests/support/broker_process.h"
#include "tests/support/read_all.h"
#include "tests/support/temp_dir.h"
#include "tidemq/admin.h"
#include "tidemq/producer.h"
#include "tidemq/reader.h"

using namespace tidemq;
using namespace std::chrono_literals;

namespace {

struct Acked {
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::pair<uint32_t, uint64_t>, uint64_t> by_position;  // (partition, offset) -> id
  size_t failed = 0;
};

ClientOptions options_for(const test::BrokerProcess& b) {
  ClientOptions o;
  o.broker = b.address();
  o.request_timeout = 3000ms;
  o.connect_timeout = 2000ms;
  return o;
}

}  // namespace

TEST_CASE("kill -9 during acknowledged produces loses no acknowledged message (flush sync)") {
  int cycles = std::getenv("TIDEMQ_CRASH_CYCLES") ? std::atoi(std::getenv("TIDEMQ_CRASH_CYCLES")) : 3;
  const size_t per_cycle = 3000;
  test::TempDir dir;
  test::BrokerProcess broker(dir.str(), {"--flush", "sync"});
  REQUIRE_MESSAGE(broker.start(), broker.error());
  uint16_t port = broker.port();
  {
    auto admin = Admin::create(options_for(broker));
    REQUIRE(admin.is_ok());
    REQUIRE((*admin)->update_topic({"crash", 4, -1, -1}).is_ok());
  }
  Acked acked;
  for (int cycle = 0; cycle < cycles; ++cycle) {
    if (!broker.running()) REQUIRE_MESSAGE(broker.start(port), broker.error());
    ProducerOptions po;
    po.client = options_for(broker);
    po.delivery_timeout = 3000ms;
    po.linger = 200us;
    auto producer = Producer::create(po);
    REQUIRE_MESSAGE(producer.is_ok(), producer.status().to_string());
    size_t target;
    {
      std::lock_guard lock(acked.mu);
      target = acked.by_position.size() + per_cycle;
    }
    std::atomic<bool> stop{false};
    std::thread sender([&] {
      for (int i = 0; !stop.load(); ++i) {
        Message m;
        m.topic = "crash";
        m.body = fmt::format("c{}-{}", cycle, i);
        (*producer)->send_async(std::move(m), [&acked](const Result<SendResult>& r) {
          std::lock_guard lock(acked.mu);
          if (r.is_ok()) {
            auto [it, inserted] = acked.by_position.emplace(std::make_pair(r->partition, r->offset), r->id);
            CHECK_MESSAGE(inserted, "two acks for one offset");
          } else {
            ++acked.failed;
          }
          acked.cv.notify_all();
        });
      }
    });
    {
      std::unique_lock lock(acked.mu);
      bool reached = acked.cv.wait_for(lock, 60s, [&] { return acked.by_position.size() >= target; });
      REQUIRE_MESSAGE(reached, "acks did not arrive");
    }
    broker.kill9();  // while sends are in flight
    stop = true;
    sender.join();
    producer->reset();  // gives up on what was not acknowledged
  }
  REQUIRE_MESSAGE(broker.start(port), broker.error());
  std::map<std::pair<uint32_t, uint64_t>, uint64_t> stored;
  for (const auto& m : test::read_all(options_for(broker), "crash")) {
    auto [it, inserted] = stored.emplace(std::make_pair(static_cast<uint32_t>(m.partition), m.offset), m.id);
    CHECK_MESSAGE(inserted, "offset delivered twice");
  }
  std::lock_guard lock(acked.mu);
  size_t lost = 0, moved = 0;
  for (const auto& [pos, id] : acked.by_position) {
    auto it = stored.find(pos);
    if (it == stored.end()) ++lost;
    else if (it->second != id) ++moved;
  }
  MESSAGE("acked " << acked.by_position.size() << ", stored " << stored.size() << ", failed/unacked "
                   << acked.failed << " over " << cycles << " kill -9 cycles");
  CHECK(lost == 0);
  CHECK(moved == 0);
  CHECK(acked.by_position.size() >= per_cycle * static_cast<size_t>(cycles));
}
