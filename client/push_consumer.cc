// PushConsumer: a fetch thread drives ConsumerCore and feeds per-partition process queues; a
// ConsumePool runs the listener. See tidemq/push_consumer.h for the behaviour.
//
// Locks: mu_ guards every ProcessQueue and the queue map. It is never held while calling into
// ConsumerCore (the core may call back under its own lock: fetch planning gets a snapshot of the
// paused partitions instead of a predicate that locks mu_), nor while a listener runs.
#include "tidemq/push_consumer.h"

#include <atomic>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "client/consume_pool.h"
#include "client/consumer_core.h"
#include "client/offset_tracker.h"
#include "client/retry_requests.h"
#include "common/logging.h"
#include "common/thread_annotations.h"

namespace tidemq {

using client::CommitItem;
using client::OffsetTracker;
using client::topic_read_from;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr uint32_t kOrderedBatch = 32;  // messages an ordered partition runs before yielding its thread
// The fetch thread's long poll: at least this, so an idle consumer does not spin.
constexpr auto kMinPollWait = std::chrono::milliseconds(100);

std::shared_ptr<spdlog::logger> log() {
  static auto l = logging::get("consumer");
  return l;
}

// One incarnation of an owned partition (a fresh one after every reassignment or position reset).
struct ProcessQueue {
  ProcessQueue(TopicPartition t, uint64_t inc, uint64_t position)
      : tp(std::move(t)), incarnation(inc), tracker(position) {}
  const TopicPartition tp;
  const uint64_t incarnation;
  OffsetTracker tracker;
  bool dropped = false;
  // Ordered mode.
  std::deque<Message> pending;  // not handed to the listener yet, in offset order
  bool scheduled = false;       // a task for this queue is queued, running or suspended
  bool in_listener = false;
  uint32_t head_failures = 0;   // failed deliveries of pending.front() (or of the one in the listener)
  std::shared_ptr<ProcessQueue> successor;  // the next incarnation, waiting for our listener to return
};
using QueuePtr = std::shared_ptr<ProcessQueue>;

}  // namespace

struct PushConsumer::Impl {
  PushConsumerOptions opts;
  MessageListener listener;
  std::unique_ptr<client::ConsumerCore> core;
  std::unique_ptr<client::ConsumePool> pool;

  std::mutex mu_;
  std::map<TopicPartition, QueuePtr> queues_ GUARDED_BY(mu_);
  // Ordered mode: dropped queues whose listener is still running (their successor waits).
  std::map<TopicPartition, QueuePtr> retiring_ GUARDED_BY(mu_);
  bool started_ GUARDED_BY(mu_) = false;
  bool shut_down_ GUARDED_BY(mu_) = false;
  Status shutdown_status_ GUARDED_BY(mu_);
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> consumed_{0};
  std::atomic<uint64_t> reconsume_later_{0};
  std::atomic<uint64_t> given_up_{0};
  std::atomic<uint64_t> sent_back_{0};
  std::atomic<uint64_t> dead_lettered_{0};
  std::atomic<uint64_t> send_back_failed_{0};
  std::thread fetch_thread_;
  std::mutex shutdown_mu_;  // serialises shutdown()

  // ---- fetch thread ----
  void fetch_loop() {
    auto next_commit = SteadyClock::now() + opts.consumer.auto_commit_interval;
    const auto poll_wait = std::max(opts.consumer.max_poll_wait, kMinPollWait);
    while (!stop_) {
      auto change = core->sync();
      if (!change.revoked.empty()) {
        std::lock_guard lock(mu_);
        for (const auto& tp : change.revoked) drop_locked(tp);
      }
      core->establish_positions();
      reconcile_queues();
      const auto now = SteadyClock::now();
      if (now >= next_commit) {
        next_commit = now + opts.consumer.auto_commit_interval;
        commit({});
      }
      std::set<TopicPartition> paused;
      {
        std::lock_guard lock(mu_);
        for (const auto& [tp, q] : queues_) {
          if (q->tracker.over_limit(opts.max_buffered_messages_per_partition, opts.max_buffered_bytes_per_partition)) {
            paused.insert(tp);
          }
        }
      }
      core->send_fetches(poll_wait, [&paused](const TopicPartition& tp) { return paused.count(tp) > 0; });
      auto batches = core->wait_and_take(std::min(next_commit, SteadyClock::now() + poll_wait));
      if (!batches.empty()) deliver(std::move(batches));
    }
  }

  // Makes queues follow the core: one per owned partition with a position, of its incarnation.
  void reconcile_queues() {
    auto owned = core->assignment();
    std::vector<std::pair<TopicPartition, std::optional<std::pair<uint64_t, uint64_t>>>> positions;
    positions.reserve(owned.size());
    for (const auto& tp : owned) positions.emplace_back(tp, core->position(tp));
    std::set<TopicPartition> owned_set(owned.begin(), owned.end());
    std::lock_guard lock(mu_);
    std::vector<TopicPartition> gone;
    for (const auto& [tp, q] : queues_) {
      if (!owned_set.count(tp)) gone.push_back(tp);
    }
    for (const auto& tp : gone) drop_locked(tp);
    for (const auto& [tp, pos] : positions) {
      auto it = queues_.find(tp);
      if (it != queues_.end() && pos && it->second->incarnation == pos->first) continue;
      // A dropped position (or a new incarnation) takes the buffered messages with it.
      if (it != queues_.end()) drop_locked(tp);
      if (!pos) continue;
      auto q = std::make_shared<ProcessQueue>(tp, pos->first, pos->second);
      auto r = retiring_.find(tp);
      if (r != retiring_.end()) {
        // One partition, one thread: the new incarnation waits until the old listener returns.
        q->scheduled = true;
        r->second->successor = q;
      }
      queues_[tp] = std::move(q);
    }
  }

  void drop_locked(const TopicPartition& tp) REQUIRES(mu_) {
    auto it = queues_.find(tp);
    if (it == queues_.end()) return;
    QueuePtr q = std::move(it->second);
    queues_.erase(it);
    q->dropped = true;
    q->pending.clear();
    if (opts.ordered && q->in_listener) retiring_[tp] = q;
  }

  void deliver(std::vector<client::PartitionBatch> batches) {
    std::vector<client::ConsumePool::Task> tasks;
    {
      std::lock_guard lock(mu_);
      for (auto& b : batches) {
        auto it = queues_.find(b.tp);
        if (it == queues_.end() || it->second->incarnation != b.incarnation) continue;
        QueuePtr q = it->second;
        for (auto& m : b.messages) {
          if (m.offset < q->tracker.position()) continue;  // never twice in one incarnation
          q->tracker.add(m.offset, m.body.size());
          if (opts.ordered) {
            q->pending.push_back(std::move(m));
          } else {
            tasks.push_back([this, q, m = std::move(m)]() mutable { consume_one(q, std::move(m), 0); });
          }
        }
        q->tracker.advance(b.next_offset);
        if (opts.ordered && !q->scheduled && !q->pending.empty()) {
          q->scheduled = true;
          tasks.push_back([this, q] { consume_ordered(q); });
        }
      }
    }
    pool->submit_all(std::move(tasks));
  }

  // ---- pool threads ----
  ConsumeStatus call_listener(const Message& m) {
    const ConsumeStatus st = call_listener_guarded(m);
    (st == ConsumeStatus::kSuccess ? consumed_ : reconsume_later_).fetch_add(1, std::memory_order_relaxed);
    return st;
  }

  ConsumeStatus call_listener_guarded(const Message& m) {
    try {
      return listener(m);
    } catch (const std::exception& e) {
      log()->warn("listener threw on {}[{}]@{}: {}; reconsuming later", m.topic, m.partition, m.offset, e.what());
    } catch (...) {
      log()->warn("listener threw on {}[{}]@{}; reconsuming later", m.topic, m.partition, m.offset);
    }
    return ConsumeStatus::kReconsumeLater;
  }

  // Concurrent mode, the send-back failed again: true when the message must be given up now (it
  // used up its `in_place` redeliveries).
  bool give_up(const Message& m, uint32_t in_place) {
    if (opts.max_reconsume_in_place == 0 || in_place < opts.max_reconsume_in_place) return false;
    log()->error("giving up {}[{}]@{} (id {}) after {} in-place redeliveries (sending it back failed); it counts as "
                 "consumed",
                 topic_read_from(m), m.partition, m.offset, format_message_id(m.id), in_place);
    given_up_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  // SendBack of `m` (blocking, on a pool thread, no lock held), as it was received: the
  // `in_place` local redeliveries are taken out of reconsume_times (the broker adds one). True
  // when the broker took it.
  bool send_back(Message& m, uint32_t in_place, bool to_dlq) {
    const uint32_t shown = m.reconsume_times;
    m.reconsume_times = shown - std::min(shown, in_place);
    auto r = core->send_back(m, to_dlq);
    m.reconsume_times = shown;
    if (!r.is_ok()) {
      send_back_failed_.fetch_add(1, std::memory_order_relaxed);
      if (r.status().code() != StatusCode::kShuttingDown) {
        log()->warn("group '{}': sending back {}[{}]@{} (id {}){} failed: {}; redelivering in place",
                    opts.consumer.group, topic_read_from(m), m.partition, m.offset, format_message_id(m.id),
                    to_dlq ? " to the DLQ" : "", r.status().to_string());
      }
      return false;
    }
    sent_back_.fetch_add(1, std::memory_order_relaxed);
    if (to_dlq) dead_lettered_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  // Marks `offset` consumed. True when the partition just dropped below its limits (the fetch
  // thread must be woken to fetch it again).
  bool complete_locked(ProcessQueue& q, uint64_t offset) REQUIRES(mu_) {
    const bool was_over =
        q.tracker.over_limit(opts.max_buffered_messages_per_partition, opts.max_buffered_bytes_per_partition);
    q.tracker.complete(offset);
    return was_over &&
           !q.tracker.over_limit(opts.max_buffered_messages_per_partition, opts.max_buffered_bytes_per_partition);
  }

  // Concurrent mode. `in_place`: redeliveries of `m` in place so far (its send-backs failed).
  void consume_one(const QueuePtr& q, Message m, uint32_t in_place) {
    {
      std::lock_guard lock(mu_);
      if (q->dropped) return;
    }
    const ConsumeStatus st = call_listener(m);
    bool sent_back_ok = false;
    if (st != ConsumeStatus::kSuccess) {
      {
        std::lock_guard lock(mu_);
        if (q->dropped) return;  // revoked meanwhile: the new owner delivers it again
      }
      sent_back_ok = send_back(m, in_place, /*to_dlq=*/false);
    }
    bool wake = false;
    {
      std::lock_guard lock(mu_);
      if (q->dropped) return;  // revoked meanwhile: nothing of it is committed any more
      if (st == ConsumeStatus::kSuccess || sent_back_ok || give_up(m, in_place)) {
        wake = complete_locked(*q, m.offset);
      } else {
        m.reconsume_times += 1;
        pool->submit_after(opts.reconsume_delay, [this, q, m = std::move(m), in_place]() mutable {
          consume_one(q, std::move(m), in_place + 1);
        });
      }
    }
    if (wake) core->wake();
  }

  void consume_ordered(const QueuePtr& q) {
    for (uint32_t n = 0; n < kOrderedBatch; ++n) {
      Message m;
      {
        std::lock_guard lock(mu_);
        if (q->dropped || q->pending.empty()) {
          q->scheduled = false;
          return;
        }
        m = std::move(q->pending.front());
        q->pending.pop_front();
        q->in_listener = true;
      }
      const ConsumeStatus st = call_listener(m);
      // After max_reconsume_in_place failed redeliveries: to the dead-letter queue (the partition
      // stays with this thread meanwhile: in_listener is still set).
      bool dead_lettered = false;
      if (st != ConsumeStatus::kSuccess) {
        uint32_t failures = 0;
        {
          std::lock_guard lock(mu_);
          if (!q->dropped) failures = ++q->head_failures;
        }
        if (opts.max_reconsume_in_place != 0 && failures > opts.max_reconsume_in_place) {
          dead_lettered = send_back(m, failures - 1, /*to_dlq=*/true);
        }
      }
      bool wake = false;
      QueuePtr successor;
      {
        std::lock_guard lock(mu_);
        q->in_listener = false;
        if (q->dropped) {
          q->scheduled = false;
          successor = std::move(q->successor);
          auto r = retiring_.find(q->tp);
          if (r != retiring_.end() && r->second == q) retiring_.erase(r);
        } else if (st == ConsumeStatus::kSuccess || dead_lettered) {
          q->head_failures = 0;
          wake = complete_locked(*q, m.offset);
        } else {
          // Suspend the partition and retry the same message (RocketMQ SUSPEND_CURRENT_QUEUE_A_MOMENT).
          m.reconsume_times += 1;
          q->pending.push_front(std::move(m));
          pool->submit_after(opts.reconsume_delay, [this, q] { consume_ordered(q); });
          return;
        }
      }
      if (wake) core->wake();
      if (successor) {
        start_successor(successor);
        return;
      }
      {
        std::lock_guard lock(mu_);
        if (q->dropped) {
          q->scheduled = false;
          return;
        }
      }
    }
    pool->submit([this, q] { consume_ordered(q); });  // yield the thread to other partitions
  }

  void start_successor(const QueuePtr& s) {
    {
      std::lock_guard lock(mu_);
      if (s->dropped || s->pending.empty()) {
        s->scheduled = false;
        return;
      }
    }
    pool->submit([this, s] { consume_ordered(s); });
  }

  // Commits every queue's lowest unconsumed offset; `done` (optional) gets the outcome.
  void commit(client::ConsumerCore::CommitDone done) {
    std::vector<CommitItem> items;
    {
      std::lock_guard lock(mu_);
      for (const auto& [tp, q] : queues_) items.push_back(CommitItem{tp, q->tracker.commit_offset(), q->incarnation});
    }
    if (!done) {
      done = [group = opts.consumer.group](client::CommitOutcome o) {
        if (!o.status.is_ok() && o.status.code() != StatusCode::kShuttingDown) {
          log()->warn("group '{}': commit failed: {}", group, o.status.to_string());
        }
      };
    }
    core->commit(items, std::move(done));
  }

  Status shutdown() {
    std::lock_guard serial(shutdown_mu_);
    {
      std::lock_guard lock(mu_);
      if (shut_down_) return shutdown_status_;
      shut_down_ = true;
    }
    stop_ = true;
    core->wake();
    if (fetch_thread_.joinable()) fetch_thread_.join();
    // Buffered messages are dropped; running listeners finish and their completions count.
    pool->stop();
    Status st;
    if (core->joined()) {
      std::promise<Status> done;
      auto f = done.get_future();
      commit([&done](client::CommitOutcome o) { done.set_value(o.status); });
      st = f.get();
    }
    core->close();
    std::lock_guard lock(mu_);
    for (auto& [tp, q] : queues_) q->dropped = true;
    queues_.clear();
    retiring_.clear();
    shutdown_status_ = st;
    return st;
  }
};

Result<std::unique_ptr<PushConsumer>> PushConsumer::create(PushConsumerOptions options, MessageListener listener) {
  if (!listener) return Status::invalid_argument("push consumer: a listener is required");
  if (options.consume_threads == 0) return Status::invalid_argument("push consumer: consume_threads must be > 0");
  if (options.max_buffered_messages_per_partition == 0 || options.max_buffered_bytes_per_partition == 0) {
    return Status::invalid_argument("push consumer: buffer limits must be > 0");
  }
  if (options.reconsume_delay.count() < 0)
    return Status::invalid_argument("push consumer: reconsume_delay must be >= 0");
  if (!options.consumer.auto_commit) {
    return Status::invalid_argument("push consumer: commits on its own; auto_commit must stay true");
  }
  TIDEMQ_ASSIGN_OR_RETURN(auto core, client::ConsumerCore::create(options.consumer));
  auto impl = std::make_unique<Impl>();
  impl->opts = std::move(options);
  impl->listener = std::move(listener);
  impl->core = std::move(core);
  return std::unique_ptr<PushConsumer>(new PushConsumer(std::move(impl)));
}

PushConsumer::PushConsumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PushConsumer::~PushConsumer() { (void)shutdown(); }

Status PushConsumer::subscribe(const std::string& topic, const std::string& expression) {
  return impl_->core->subscribe(topic, expression);
}

Status PushConsumer::start() {
  std::lock_guard lock(impl_->mu_);
  if (impl_->shut_down_) return Status(StatusCode::kShuttingDown, "push consumer shut down");
  if (impl_->started_) return Status::invalid_argument("push consumer already started");
  if (!impl_->core->has_subscriptions()) return Status::invalid_argument("push consumer: nothing subscribed");
  impl_->started_ = true;
  impl_->pool = std::make_unique<client::ConsumePool>(impl_->opts.consume_threads);
  impl_->core->request_join();
  Impl* raw = impl_.get();
  impl_->fetch_thread_ = std::thread([raw] { raw->fetch_loop(); });
  return Status::ok();
}

Status PushConsumer::shutdown() {
  {
    std::lock_guard lock(impl_->mu_);
    if (!impl_->started_ && !impl_->shut_down_) {
      impl_->shut_down_ = true;
      impl_->core->close();
      return Status::ok();
    }
  }
  return impl_->shutdown();
}

std::vector<TopicPartition> PushConsumer::assignment() const { return impl_->core->assignment(); }

PushConsumerStats PushConsumer::stats() const {
  PushConsumerStats s;
  s.consumed = impl_->consumed_.load();
  s.reconsume_later = impl_->reconsume_later_.load();
  s.given_up = impl_->given_up_.load();
  s.sent_back = impl_->sent_back_.load();
  s.dead_lettered = impl_->dead_lettered_.load();
  s.send_back_failed = impl_->send_back_failed_.load();
  std::lock_guard lock(impl_->mu_);
  for (const auto& [tp, q] : impl_->queues_) {
    s.buffered_messages += q->tracker.buffered_messages();
    s.buffered_bytes += q->tracker.buffered_bytes();
  }
  return s;
}

}  // namespace tidemq
