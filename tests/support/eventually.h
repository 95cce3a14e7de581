#pragma once
// Waits for a condition the broker makes true asynchronously (a timer round, a writer round):
// polls `pred` every 5 ms until it holds or `limit` passed. Returns whether it held.
#include <chrono>
#include <thread>

namespace tidemq::test {

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace tidemq::test
