// ConsumePool: tasks run on the pool threads; delayed tasks not before their delay, in order of
// due time; stop() drops what is queued and waits for what runs.
#include "client/consume_pool.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace tidemq::client {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

struct Latch {
  std::mutex mu;
  std::condition_variable cv;
  int count = 0;
  void arrive() {
    std::lock_guard lock(mu);
    ++count;
    cv.notify_all();
  }
  bool wait_for(int n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [&] { return count >= n; });
  }
};

TEST_CASE("tasks run on several threads in parallel") {
  ConsumePool pool(3);
  Latch started;
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  for (int i = 0; i < 3; ++i) {
    pool.submit([&] {
      started.arrive();
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return release; });
    });
  }
  CHECK(started.wait_for(3, 10s));  // all three blocked at once: three threads
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  pool.stop();
}

TEST_CASE("a delayed task does not run before its delay; earlier due times run first") {
  ConsumePool pool(1);
  std::mutex mu;
  std::vector<int> order;
  std::vector<SteadyClock::duration> waited;
  Latch done;
  const auto start = SteadyClock::now();
  pool.submit_after(150ms, [&] {
    std::lock_guard lock(mu);
    order.push_back(2);
    waited.push_back(SteadyClock::now() - start);
    done.arrive();
  });
  pool.submit_after(50ms, [&] {
    std::lock_guard lock(mu);
    order.push_back(1);
    waited.push_back(SteadyClock::now() - start);
    done.arrive();
  });
  pool.submit([&] {
    std::lock_guard lock(mu);
    order.push_back(0);
    waited.push_back(SteadyClock::now() - start);
    done.arrive();
  });
  REQUIRE(done.wait_for(3, 10s));
  std::lock_guard lock(mu);
  CHECK(order == std::vector<int>{0, 1, 2});
  CHECK(waited[1] >= 50ms);
  CHECK(waited[2] >= 150ms);
}

TEST_CASE("stop drops queued and delayed tasks and waits for the running one") {
  ConsumePool pool(1);
  std::atomic<int> ran{0};
  std::atomic<bool> running_finished{false};
  Latch started;
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  pool.submit([&] {
    started.arrive();
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return release; });
    running_finished = true;
  });
  REQUIRE(started.wait_for(1, 10s));
  for (int i = 0; i < 5; ++i) pool.submit([&] { ++ran; });
  pool.submit_after(1ms, [&] { ++ran; });
  CHECK(pool.queued() == 6);
  std::thread releaser([&] {
    while (pool.queued() != 0) std::this_thread::yield();  // stop() has dropped the queue
    std::lock_guard lock(mu);
    release = true;
    cv.notify_all();
  });
  pool.stop();
  releaser.join();
  CHECK(running_finished);
  CHECK(ran == 0);
  pool.submit([&] { ++ran; });  // after stop: dropped
  CHECK(pool.queued() == 0);
}

}  // namespace
}  // namespace tidemq::client
