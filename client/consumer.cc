// Consumer (poll style): drives ConsumerCore from the caller's thread inside poll().
//
// poll(): join if needed -> adopt rebalances (listener) -> due auto-commit (async) -> FetchOffsets
// for new partitions -> send fetches for every owned partition (long poll capped by the time left
// and max_poll_wait) -> wait for answers -> return every accepted message. Positions move when
// answers are accepted, so "the position after the last message poll() returned" is simply the
// fetch position; commits send it.
#include "tidemq/consumer.h"

#include <deque>
#include <future>
#include <mutex>

#include "client/consumer_core.h"
#include "common/thread_annotations.h"

namespace tidemq {

using SteadyClock = std::chrono::steady_clock;

struct Consumer::Impl {
  std::unique_ptr<client::ConsumerCore> core;
  PartitionsCallback on_revoked;
  PartitionsCallback on_assigned;
  SteadyClock::time_point next_auto_commit{};
  bool closed = false;
  Status close_status;

  // commit_async outcomes waiting to be reported on the poll thread.
  std::mutex cb_mu;
  std::deque<std::pair<CommitCallback, Status>> finished GUARDED_BY(cb_mu);

  void run_commit_callbacks() {
    std::deque<std::pair<CommitCallback, Status>> ready;
    {
      std::lock_guard lock(cb_mu);
      ready.swap(finished);
    }
    for (auto& [cb, st] : ready) cb(st);
  }

  void adopt_rebalance() {
    auto change = core->sync();
    if (!change.revoked.empty() && on_revoked) on_revoked(change.revoked);
    if (!change.assigned.empty() && on_assigned) on_assigned(change.assigned);
  }

  void commit_async(CommitCallback done) {
    auto offsets = core->uncommitted_positions();
    core->commit(offsets, [this, done = std::move(done)](client::CommitOutcome outcome) {
      if (!done) return;
      std::lock_guard lock(cb_mu);
      finished.emplace_back(done, outcome.status);
    });
  }

  Status commit_sync() {
    auto offsets = core->uncommitted_positions();
    std::promise<Status> promise;
    auto future = promise.get_future();
    core->commit(offsets, [&promise](client::CommitOutcome outcome) { promise.set_value(outcome.status); });
    Status st = future.get();
    run_commit_callbacks();
    return st;
  }

  void maybe_auto_commit() {
    if (!core->options().auto_commit) return;
    const auto now = SteadyClock::now();
    if (now < next_auto_commit) return;
    next_auto_commit = now + core->options().auto_commit_interval;
    commit_async({});
  }

  Result<std::vector<Message>> poll(std::chrono::milliseconds timeout) {
    if (closed) return Status(StatusCode::kShuttingDown, "consumer closed");
    if (!core->has_subscriptions()) return Status::invalid_argument("poll: nothing subscribed");
    const auto deadline = SteadyClock::now() + std::max(timeout, std::chrono::milliseconds(0));
    run_commit_callbacks();
    if (!core->joined()) {
      core->request_join();
      TIDEMQ_RETURN_IF_ERROR(core->wait_joined(deadline));
      if (!core->joined()) return std::vector<Message>{};
      next_auto_commit = SteadyClock::now() + core->options().auto_commit_interval;
    }
    std::vector<Message> out;
    for (;;) {
      adopt_rebalance();
      maybe_auto_commit();
      core->establish_positions();
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
      left = std::clamp(left, std::chrono::milliseconds(0), core->options().max_poll_wait);
      core->send_fetches(left, {});
      for (auto& batch : core->wait_and_take(deadline)) {
        for (auto& m : batch.messages) out.push_back(std::move(m));
      }
      if (!out.empty() || SteadyClock::now() >= deadline) break;
    }
    run_commit_callbacks();
    return out;
  }

  Status close() {
    if (closed) return close_status;
    closed = true;
    if (core->options().auto_commit && core->joined()) {
      adopt_rebalance();
      close_status = commit_sync();
    }
    core->close();
    run_commit_callbacks();
    return close_status;
  }
};

Result<std::unique_ptr<Consumer>> Consumer::create(ConsumerOptions options) {
  TIDEMQ_ASSIGN_OR_RETURN(auto core, client::ConsumerCore::create(std::move(options)));
  auto impl = std::make_unique<Impl>();
  impl->core = std::move(core);
  return std::unique_ptr<Consumer>(new Consumer(std::move(impl)));
}

Consumer::Consumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Consumer::~Consumer() { (void)close(); }

Status Consumer::subscribe(const std::string& topic, const std::string& expression) {
  if (impl_->closed) return Status(StatusCode::kShuttingDown, "consumer closed");
  return impl_->core->subscribe(topic, expression);
}

Result<std::vector<Message>> Consumer::poll(std::chrono::milliseconds timeout) { return impl_->poll(timeout); }

Status Consumer::send_back(const Message& m) {
  if (impl_->closed) return Status(StatusCode::kShuttingDown, "consumer closed");
  auto r = impl_->core->send_back(m, /*to_dlq=*/false);
  return r.is_ok() ? Status::ok() : r.status();
}

Status Consumer::commit_sync() {
  if (impl_->closed) return Status(StatusCode::kShuttingDown, "consumer closed");
  return impl_->commit_sync();
}

void Consumer::commit_async(CommitCallback done) {
  if (impl_->closed) {
    if (done) done(Status(StatusCode::kShuttingDown, "consumer closed"));
    return;
  }
  impl_->commit_async(std::move(done));
}

std::vector<TopicPartition> Consumer::assignment() const { return impl_->core->assignment(); }
std::vector<CommittedOffset> Consumer::committed() const { return impl_->core->committed(); }
std::string Consumer::member_id() const { return impl_->core->member_id(); }
uint32_t Consumer::generation() const { return impl_->core->generation(); }

void Consumer::set_rebalance_listener(PartitionsCallback on_revoked, PartitionsCallback on_assigned) {
  impl_->on_revoked = std::move(on_revoked);
  impl_->on_assigned = std::move(on_assigned);
}

Status Consumer::close() { return impl_->close(); }

}  // namespace tidemq
