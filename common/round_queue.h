#pragma once
// RoundQueue<Entry>: the queue of a group-committing thread (LogStore's writer, HalfLog's log
// thread). Any thread pushes entries or posts jobs; the thread's run() takes everything queued at
// once and hands the entries to `commit` as one round. A job splits a round: it runs after the
// entries queued before it and before those queued after it. run() returns once stop() was
// called and everything queued before that has been handled.
#include <condition_variable>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include "common/thread_annotations.h"

namespace tidemq {

template <class Entry>
class RoundQueue {
 public:
  // Queues `e` (moved from) and returns true; false, with `e` untouched, before start() or after
  // stop(). `under_lock` runs under the queue's lock once the push is certain.
  template <class F>
  bool push(Entry& e, F&& under_lock) {
    std::lock_guard lock(mu_);
    if (!running_ || stopping_) return false;
    under_lock();
    add(Item{std::move(e), {}});
    return true;
  }
  bool push(Entry& e) {
    return push(e, [] {});
  }
  // Queues a job for the thread; false before start() or after stop().
  bool post(std::function<void()> job) {
    std::lock_guard lock(mu_);
    if (!running_ || stopping_) return false;
    add(Item{Entry{}, std::move(job)});
    return true;
  }
  // Before start(): a job for the first round.
  void post_first(std::function<void()> job) {
    std::lock_guard lock(mu_);
    queue_.push_back(Item{Entry{}, std::move(job)});
  }

  // Neither started nor stopped yet.
  bool fresh() const {
    std::lock_guard lock(mu_);
    return !running_ && !stopping_;
  }
  // Accepts pushes from now on (call before the thread runs run()).
  void start() {
    std::lock_guard lock(mu_);
    running_ = true;
  }
  // Refuses pushes from now on; run() returns once the queue is empty.
  void stop() {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_one();
  }

  // The thread's loop: `commit(std::vector<Entry>&)` gets each round's entries (cleared after).
  template <class Commit>
  void run(Commit&& commit) {
    std::vector<Item> items;
    std::vector<Entry> entries;
    while (true) {
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&]() REQUIRES(mu_) { return !queue_.empty() || stopping_; });
        if (queue_.empty()) break;  // stopping, and everything queued before stop() is done
        items.swap(queue_);
      }
      for (Item& item : items) {
        if (item.job) {
          commit(entries);
          entries.clear();
          item.job();
        } else {
          entries.push_back(std::move(item.entry));
        }
      }
      commit(entries);
      entries.clear();
      items.clear();
    }
    std::lock_guard lock(mu_);
    running_ = false;
  }

 private:
  struct Item {
    Entry entry;
    std::function<void()> job;  // set for a job (then `entry` is unused)
  };
  void add(Item item) REQUIRES(mu_) {
    // The thread only waits when the queue is empty, so only the first push needs to wake it.
    if (queue_.empty()) cv_.notify_one();
    queue_.push_back(std::move(item));
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Item> queue_ GUARDED_BY(mu_);
  bool running_ GUARDED_BY(mu_) = false;
  bool stopping_ GUARDED_BY(mu_) = false;
};

}  // namespace tidemq
