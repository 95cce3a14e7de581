#include "broker/delivery/long_poll.h"

#include <algorithm>
#include <set>

namespace tidemq::broker {

LongPoll::LongPoll(asio::io_context& timers, asio::any_io_executor executor)
    : timers_(timers), executor_(std::move(executor)) {}

std::shared_ptr<LongPoll::Waiter> LongPoll::wait(const std::vector<PartitionKey>& keys,
                                                 std::chrono::milliseconds max_wait, Wakeup fn) {
  auto w = std::make_shared<Waiter>(timers_);
  w->fn = std::move(fn);
  {
    std::lock_guard lock(mu_);
    for (const auto& k : keys) {
      auto& list = waiters_[k];
      // Drop entries of waiters that already fired, so idle partitions do not accumulate them.
      if (list.size() >= 64) {
        std::erase_if(list, [](const std::weak_ptr<Waiter>& x) {
          auto s = x.lock();
          return !s || s->fired.load();
        });
      }
      list.push_back(w);
    }
  }
  w->timer.expires_after(max_wait);
  w->timer.async_wait([this, w](const asio::error_code& ec) {
    if (!ec) fire(w, true);
  });
  return w;
}

void LongPoll::wake(const std::shared_ptr<Waiter>& w) { fire(w, false); }

void LongPoll::notify(uint32_t topic_id, uint32_t partition) {
  std::vector<std::weak_ptr<Waiter>> woken;
  {
    std::lock_guard lock(mu_);
    auto it = waiters_.find({topic_id, partition});
    if (it == waiters_.end()) return;
    woken.swap(it->second);
  }
  for (auto& weak : woken) {
    if (auto w = weak.lock()) fire(w, false);
  }
}

LongPoll::PartitionKey LongPoll::group_key(std::string_view group) {
  // Topic id 0xFFFFFFFF is never assigned to a topic; the partition slot holds an FNV-1a hash.
  uint32_t h = 2166136261u;
  for (char c : group) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  return {0xFFFFFFFFu, h};
}

void LongPoll::notify_group(std::string_view group) {
  auto [topic, partition] = group_key(group);
  notify(topic, partition);
}

void LongPoll::wake_all() {
  std::map<PartitionKey, std::vector<std::weak_ptr<Waiter>>> all;
  {
    std::lock_guard lock(mu_);
    all.swap(waiters_);
  }
  for (auto& [k, list] : all) {
    for (auto& weak : list) {
      if (auto w = weak.lock()) fire(w, true);
    }
  }
}

size_t LongPoll::waiting() const {
  // A list keeps a fired waiter's entry until its key is notified (or the list is pruned), and a
  // waiter is in the list of each of its keys: count each parked waiter once.
  std::lock_guard lock(mu_);
  std::set<const Waiter*> parked;
  for (const auto& [k, list] : waiters_) {
    for (const auto& weak : list) {
      if (auto w = weak.lock(); w && !w->fired.load()) parked.insert(w.get());
    }
  }
  return parked.size();
}

void LongPoll::fire(const std::shared_ptr<Waiter>& w, bool timed_out) {
  if (w->fired.exchange(true)) return;
  asio::post(timers_, [w] { w->timer.cancel(); });
  asio::post(executor_, [w, timed_out] {
    auto fn = std::move(w->fn);
    fn(timed_out);
  });
}

}  // namespace tidemq::broker
