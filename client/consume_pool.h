#pragma once
// ConsumePool: a fixed pool of threads running tasks in submission order, plus tasks due after a
// delay. The push consumer's listener threads (delays: in-place redelivery, a suspended ordered
// partition) and the transactional producer's checker and callback threads use it.
//
// Threads: submit() / submit_after() from any thread (tasks may submit more); stop() from any
// thread but a pool thread.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "common/thread_annotations.h"

namespace tidemq::client {

class ConsumePool {
 public:
  using Task = std::function<void()>;
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit ConsumePool(uint32_t threads);
  ~ConsumePool();  // stop()
  ConsumePool(const ConsumePool&) = delete;
  ConsumePool& operator=(const ConsumePool&) = delete;

  // Queues `task`. Dropped after stop().
  void submit(Task task);
  // Queues `task` unless `max_queued` tasks are already waiting (queued or delayed, not running)
  // or the pool is stopped; returns whether it was queued.
  bool try_submit(Task task, size_t max_queued);
  // Queues every task of `tasks` (one lock round).
  void submit_all(std::vector<Task> tasks);
  // Queues `task` to run once `delay` has passed.
  void submit_after(std::chrono::milliseconds delay, Task task);
  // Drops queued and delayed tasks, waits for the running ones, joins the threads. Idempotent.
  void stop();
  // Tasks queued or delayed (not running).
  size_t queued() const;

 private:
  void run();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> ready_ GUARDED_BY(mu_);
  // (due, sequence) -> task: the sequence keeps equal due times in submission order.
  std::map<std::pair<TimePoint, uint64_t>, Task> delayed_ GUARDED_BY(mu_);
  uint64_t next_seq_ GUARDED_BY(mu_) = 0;
  bool stop_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace tidemq::client
