#pragma once
// Long-poll waiters: a fetch that found no data registers here and is woken by the first append
// to any partition it covers, or by its deadline. Thread-safe; notify() is called on the store's
// writer thread and only takes a lock and posts.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>
#include <utility>
#include <vector>

#include <asio.hpp>

#include "common/thread_annotations.h"

namespace tidemq::broker {

class LongPoll {
 public:
  using PartitionKey = std::pair<uint32_t, uint32_t>;  // topic_id, partition
  // Runs exactly once: `timed_out` is false when woken by an append. Runs on `executor`.
  using Wakeup = std::function<void(bool timed_out)>;

  LongPoll(asio::io_context& timers, asio::any_io_executor executor);

  // Registers a waiter. The caller must re-check for data after registering (an append that
  // landed just before is not replayed) and may call wake() itself.
  struct Waiter;
  std::shared_ptr<Waiter> wait(const std::vector<PartitionKey>& keys, std::chrono::milliseconds max_wait, Wakeup fn);
  // Fires a waiter early (no-op if it already fired).
  void wake(const std::shared_ptr<Waiter>& waiter);
  void notify(uint32_t topic_id, uint32_t partition);
  // Group fetches also wait on their group's key and are woken when its generation changes
  // (a hash: a collision only causes a spurious wakeup).
  static PartitionKey group_key(std::string_view group);
  void notify_group(std::string_view group);
  // Fires every waiter as timed out (shutdown).
  void wake_all();
  // Waiters registered and not yet fired (brokerStatus long_poll_waiters).
  size_t waiting() const;

  struct Waiter {
    explicit Waiter(asio::io_context& io) : timer(io) {}
    std::atomic<bool> fired{false};
    Wakeup fn;
    asio::steady_timer timer;
  };

 private:
  void fire(const std::shared_ptr<Waiter>& w, bool timed_out);

  asio::io_context& timers_;
  asio::any_io_executor executor_;
  mutable std::mutex mu_;
  std::map<PartitionKey, std::vector<std::weak_ptr<Waiter>>> waiters_ GUARDED_BY(mu_);
};

}  // namespace tidemq::broker
