#pragma once
// A TransactionChecker for tests: answers `answer`, can be held at a gate (set_open(false)) to
// keep checker threads busy, and records how often, on which threads and with what it ran.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "tidemq/transaction.h"

namespace tidemq::test {

struct GatedChecker : TransactionChecker {
  std::mutex mu;
  std::condition_variable cv;
  bool open = true;
  int calls = 0;
  std::set<std::thread::id> threads;
  std::vector<Message> seen;
  TxnAction answer = TxnAction::kCommit;

  TxnAction check(const Message& half, uint64_t) override {
    std::unique_lock lock(mu);
    ++calls;
    threads.insert(std::this_thread::get_id());
    seen.push_back(half);
    cv.notify_all();
    cv.wait(lock, [&] { return open; });
    return answer;
  }
  void set_open(bool o) {
    {
      std::lock_guard lock(mu);
      open = o;
    }
    cv.notify_all();
  }
  // Waits until `n` checks have started.
  bool wait_calls(int n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [&] { return calls >= n; });
  }
};

}  // namespace tidemq::test
