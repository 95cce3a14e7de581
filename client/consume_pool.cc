#include "client/consume_pool.h"

namespace tidemq::client {

ConsumePool::ConsumePool(uint32_t threads) {
  threads_.reserve(threads);
  for (uint32_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

ConsumePool::~ConsumePool() { stop(); }

void ConsumePool::submit(Task task) {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    ready_.push_back(std::move(task));
  }
  cv_.notify_one();
}

bool ConsumePool::try_submit(Task task, size_t max_queued) {
  {
    std::lock_guard lock(mu_);
    if (stop_ || ready_.size() + delayed_.size() >= max_queued) return false;
    ready_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

void ConsumePool::submit_all(std::vector<Task> tasks) {
  if (tasks.empty()) return;
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    for (auto& t : tasks) ready_.push_back(std::move(t));
  }
  cv_.notify_all();
}

void ConsumePool::submit_after(std::chrono::milliseconds delay, Task task) {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    delayed_.emplace(std::make_pair(std::chrono::steady_clock::now() + delay, next_seq_++), std::move(task));
  }
  // Every thread may be waiting for another (later) due time: wake them all to re-check.
  cv_.notify_all();
}

void ConsumePool::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    ready_.clear();
    delayed_.clear();
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

size_t ConsumePool::queued() const {
  std::lock_guard lock(mu_);
  return ready_.size() + delayed_.size();
}

void ConsumePool::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    const auto now = std::chrono::steady_clock::now();
    while (!delayed_.empty() && delayed_.begin()->first.first <= now) {
      ready_.push_back(std::move(delayed_.begin()->second));
      delayed_.erase(delayed_.begin());
    }
    if (!ready_.empty()) {
      Task task = std::move(ready_.front());
      ready_.pop_front();
      if (!ready_.empty()) cv_.notify_one();
      lock.unlock();
      task();
      task = nullptr;  // destroy captures outside the lock
      lock.lock();
      continue;
    }
    if (delayed_.empty()) {
      cv_.wait(lock);
    } else {
      const auto due = delayed_.begin()->first.first;  // a copy: another thread may erase the entry meanwhile
      cv_.wait_until(lock, due);
    }
  }
}

}  // namespace tidemq::client
