// LongPoll: woken once by an append, by its deadline, by wake() or wake_all(); never twice;
// waiting() counts the waiters still parked.
#include <doctest/doctest.h>

#include <future>
#include <thread>

#include "broker/delivery/long_poll.h"

using namespace tidemq::broker;
using namespace std::chrono_literals;

namespace {
struct Loop {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::thread thread{[this] { io.run(); }};
  ~Loop() {
    work.reset();
    io.stop();
    thread.join();
  }
};
}  // namespace

TEST_CASE("an append to a covered partition wakes the waiter once, not timed out") {
  Loop loop;
  LongPoll lp(loop.io, loop.io.get_executor());
  std::promise<bool> woke;
  std::atomic<int> calls{0};
  lp.wait({{1, 0}, {1, 1}}, 60s, [&](bool timed_out) {
    if (calls++ == 0) woke.set_value(timed_out);
  });
  lp.notify(2, 0);  // another topic: nothing
  lp.notify(1, 1);
  lp.notify(1, 0);  // already fired: ignored
  CHECK(woke.get_future().get() == false);
  lp.wake_all();
  // Drain the loop so a second call would have happened by now.
  std::promise<void> drained;
  asio::post(loop.io, [&] { drained.set_value(); });
  drained.get_future().get();
  CHECK(calls == 1);
}

TEST_CASE("the deadline wakes the waiter as timed out") {
  Loop loop;
  LongPoll lp(loop.io, loop.io.get_executor());
  std::promise<bool> woke;
  lp.wait({{1, 0}}, 10ms, [&](bool timed_out) { woke.set_value(timed_out); });
  CHECK(woke.get_future().get() == true);
}

TEST_CASE("wake() and wake_all() fire waiters") {
  Loop loop;
  LongPoll lp(loop.io, loop.io.get_executor());
  std::promise<bool> a, b;
  auto wa = lp.wait({{1, 0}}, 60s, [&](bool t) { a.set_value(t); });
  lp.wait({{3, 0}}, 60s, [&](bool t) { b.set_value(t); });
  lp.wake(wa);
  CHECK(a.get_future().get() == false);
  lp.wake_all();
  CHECK(b.get_future().get() == true);
}

TEST_CASE("waiting() counts each parked waiter once, and not after it fired") {
  Loop loop;
  LongPoll lp(loop.io, loop.io.get_executor());
  CHECK(lp.waiting() == 0);
  std::promise<void> a_fired, b_fired;
  auto a = lp.wait({{1, 0}, {1, 1}, {1, 2}}, 60s, [&](bool) { a_fired.set_value(); });
  lp.wait({{1, 0}}, 60s, [&](bool) { b_fired.set_value(); });
  CHECK(lp.waiting() == 2);  // a covers three keys
  lp.wake(a);                // fired: its entries stay until their keys are notified
  a_fired.get_future().get();
  CHECK(lp.waiting() == 1);
  lp.notify(1, 0);
  b_fired.get_future().get();
  CHECK(lp.waiting() == 0);
}
