#pragma once
// RoundQueue<Entry>: the queue of a group-committing thread (LogStore's writer, HalfLog's log
// thread). Any thread pushes entries or posts jobs; the thread's run() takes everything queued at
// once and hands the entries to `commit` as one round. A job splits a round: it runs after the
// entries queued before it and before those queued after it. run() returns once stop() was
// called and everything queued before that has been handled.
//
// Fair rounds (run() with a FairShare): a round takes at most `quantum` bytes per key (a key's
// first entry always goes, however large), so one busy key cannot make a round long for the
// others: an entry pushed for a quiet key goes in the next round, not behind everything queued
// for the busy ones. Entries left over keep their order, ahead of later pushes; a key's entries
// never overtake each other. An entry without a key (`key_of` returns nullopt), like a job, is
// ordered against everything: once an entry was left over, it and all after it wait too.
// A round cap (`round_cap()` > 0, read at the start of each round) also bounds the round: once it
// holds an entry, an entry larger than `small_bytes` that would take it past the cap waits (and
// its key with it), while small ones still join — a light producer's append is not written behind
// more than about a cap of the others' (LogStore: while a light producer is active).
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <unordered_map>
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
    run(std::forward<Commit>(commit), nullptr);
  }

  struct FairShare {
    size_t quantum = 0;
    std::function<std::optional<uint64_t>(const Entry&)> key_of;
    std::function<size_t(const Entry&)> bytes_of;
    std::function<size_t()> round_cap;  // optional; 0: no cap this round
    size_t small_bytes = 0;             // entries this small are never held back by the cap
  };
  // As run(commit), with fair rounds (see the top of this file). `share` must outlive run().
  template <class Commit>
  void run(Commit&& commit, const FairShare* share) {
    std::vector<Item> items;
    std::vector<Item> left;  // left over for the next round, in order
    std::vector<Entry> entries;
    std::unordered_map<uint64_t, size_t> taken;  // key -> bytes this round; kBlocked: left over
    while (true) {
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&]() REQUIRES(mu_) { return !queue_.empty() || stopping_; });
        if (queue_.empty()) break;  // stopping, and everything queued before stop() is done
        items.swap(queue_);
      }
      taken.clear();
      bool barrier_left = false;  // a job or keyless entry was left over: all after it wait too
      Round round{share != nullptr && share->round_cap ? share->round_cap() : 0};
      for (Item& item : items) {
        if (share != nullptr && (barrier_left || !takes(*share, item, !left.empty(), barrier_left, round, taken))) {
          left.push_back(std::move(item));
        } else if (item.job) {
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
      if (!left.empty()) {
        std::lock_guard lock(mu_);
        for (Item& item : queue_) left.push_back(std::move(item));
        queue_.swap(left);
        left.clear();
      }
    }
    std::lock_guard lock(mu_);
    running_ = false;
  }

 private:
  struct Item {
    Entry entry;
    std::function<void()> job;  // set for a job (then `entry` is unused)
  };
  static constexpr size_t kBlocked = std::numeric_limits<size_t>::max();
  struct Round {
    size_t cap = 0;    // 0: none
    size_t bytes = 0;  // of keyed entries taken so far
  };
  // Whether `item` joins this round under `share` (`after_left`: an earlier one was left over);
  // false leaves it (and, from then on, its key's later entries, or for a job or keyless entry,
  // everything after it: `barrier_left`) for the next round.
  static bool takes(const FairShare& share, const Item& item, bool after_left, bool& barrier_left, Round& round,
                    std::unordered_map<uint64_t, size_t>& taken) {
    const std::optional<uint64_t> key = item.job ? std::nullopt : share.key_of(item.entry);
    if (!key) {
      barrier_left = after_left;
      return !after_left;
    }
    size_t& bytes = taken[*key];
    const size_t size = share.bytes_of(item.entry);
    if (bytes == kBlocked || (bytes > 0 && bytes + size > share.quantum) ||
        (round.cap > 0 && round.bytes > 0 && size > share.small_bytes && round.bytes + size > round.cap)) {
      bytes = kBlocked;
      return false;
    }
    bytes += size;
    round.bytes += size;
    return true;
  }

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
