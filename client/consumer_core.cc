#include "client/consumer_core.h"

#include <algorithm>

#include "common/clock.h"
#include "common/logging.h"

namespace tidemq::client {

namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr int64_t kRetryBackoffMs = 500;
constexpr uint32_t kMaxRequestBytes = 8u << 20;
constexpr auto kLeaveTimeout = std::chrono::milliseconds(3000);

std::shared_ptr<spdlog::logger> log() {
  static auto l = logging::get("consumer");
  return l;
}

// Expected while brokers restart or members move: not worth a warning.
bool quiet(const Status& st) {
  return st.retriable() || st.code() == StatusCode::kNotAssigned || st.code() == StatusCode::kIllegalGeneration ||
         st.code() == StatusCode::kUnknownMember;
}

}  // namespace

Result<std::unique_ptr<ConsumerCore>> ConsumerCore::create(ConsumerOptions options) {
  if (options.group.empty()) return Status::invalid_argument("consumer: group is required");
  if (options.session_timeout.count() <= 0) return Status::invalid_argument("consumer: session_timeout must be > 0");
  if (options.auto_commit_interval.count() <= 0) {
    return Status::invalid_argument("consumer: auto_commit_interval must be > 0");
  }
  if (options.max_fetch_bytes == 0) return Status::invalid_argument("consumer: max_fetch_bytes must be > 0");
  if (options.max_poll_wait.count() < 0) return Status::invalid_argument("consumer: max_poll_wait must be >= 0");
  ConnectionOptions co;
  co.client = options.client;
  co.kind = wire::ClientKind::CONSUMER;
  TIDEMQ_ASSIGN_OR_RETURN(auto conn, Connection::create(std::move(co)));
  auto core = std::unique_ptr<ConsumerCore>(new ConsumerCore(std::move(options), std::move(conn)));
  ConsumerCore* raw = core.get();
  raw->membership_ = std::make_unique<GroupMembership>(*raw->conn_, raw->options_.group, raw->options_.session_timeout,
                                                       [raw] { raw->on_membership_change(); });
  GroupMembership* m = raw->membership_.get();
  raw->conn_->set_session_listener([m](const HelloInfo& hello) { m->on_new_session(hello.session); });
  return core;
}

ConsumerCore::ConsumerCore(ConsumerOptions options, std::unique_ptr<Connection> conn)
    : options_(std::move(options)), conn_(std::move(conn)) {}

ConsumerCore::~ConsumerCore() { close(); }

int64_t ConsumerCore::now_ms() const { return Clock::system().monotonic_ms(); }

Status ConsumerCore::subscribe(const std::string& topic, const std::string& expression) {
  const std::string retry_topic = retry_topic_of(options_.group);
  bool add_retry = false;
  {
    std::lock_guard lock(mu_);
    if (closed_) return Status(StatusCode::kShuttingDown, "consumer closed");
    if (!topic.empty() && !retry_subscribed_) {
      retry_subscribed_ = true;
      add_retry = topic != retry_topic;
    }
  }
  // RocketMQ's rule: every member also reads its group's retry topic (any tag).
  if (add_retry) TIDEMQ_RETURN_IF_ERROR(membership_->subscribe(retry_topic, "*"));
  return membership_->subscribe(topic, expression);
}

Result<SendBackAnswer> ConsumerCore::send_back(const Message& m, bool to_dlq) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return Status(StatusCode::kShuttingDown, "consumer closed");
  }
  return client::send_back(*conn_, options_.group, m, to_dlq);
}

void ConsumerCore::on_membership_change() {
  std::lock_guard lock(mu_);
  membership_changed_ = true;
  cv_.notify_all();
}

void ConsumerCore::wake() {
  std::lock_guard lock(mu_);
  woken_ = true;
  cv_.notify_all();
}

OwnedPartitions::Change ConsumerCore::sync() {
  {
    std::lock_guard lock(mu_);
    if (!membership_changed_) return {};
    membership_changed_ = false;
  }
  auto snap = membership_->snapshot();
  std::lock_guard lock(mu_);
  return owned_.adopt(snap.member_id, snap.epoch, snap.generation, snap.partitions, snap.since);
}

void ConsumerCore::establish_positions() {
  std::vector<TopicPartition> wanted;
  std::string member;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    wanted = owned_.needing_position(now_ms());
    member = owned_.member_id();
  }
  if (wanted.empty() || member.empty()) return;
  auto r = fetch_offsets(*conn_, options_.group, member, wanted);
  bool heartbeat = false;
  {
    std::lock_guard lock(mu_);
    const int64_t retry_at = now_ms() + kRetryBackoffMs;
    if (!r.is_ok()) {
      for (const auto& tp : wanted) owned_.position_failed(tp, retry_at);
      if (!quiet(r.status())) {
        log()->warn("group '{}': FetchOffsets failed: {}", options_.group, r.status().to_string());
      }
    } else {
      for (const auto& tp : wanted) {
        auto it = std::find_if(r->begin(), r->end(), [&](const PartitionOffsetResult& o) { return o.tp == tp; });
        if (it == r->end()) {
          owned_.position_failed(tp, retry_at);
        } else if (it->status.is_ok()) {
          owned_.set_position(tp, it->offset, it->committed);
        } else {
          owned_.position_failed(tp, retry_at);
          heartbeat = heartbeat || it->status.code() == StatusCode::kNotAssigned ||
                      it->status.code() == StatusCode::kIllegalGeneration;
          if (!quiet(it->status)) {
            log()->warn("group '{}': FetchOffsets {}[{}]: {}", options_.group, tp.topic, tp.partition,
                        it->status.to_string());
          }
        }
      }
    }
  }
  if (!r.is_ok() && r.status().code() == StatusCode::kUnknownMember) membership_->member_unknown(member);
  if (heartbeat) membership_->heartbeat_now();
}

void ConsumerCore::send_fetches(std::chrono::milliseconds max_wait,
                                const std::function<bool(const TopicPartition&)>& paused) {
  std::vector<FetchPlan> plans;
  std::string member;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    plans = owned_.plan_fetches(now_ms(), paused);
    member = owned_.member_id();
  }
  for (auto& plan : plans) {
    FetchLimits limits;
    limits.max_wait = max_wait;
    limits.max_bytes_per_partition = options_.max_fetch_bytes;
    const uint64_t want = uint64_t{options_.max_fetch_bytes} * plan.items.size();
    limits.max_bytes =
        static_cast<uint32_t>(std::max<uint64_t>(options_.max_fetch_bytes, std::min<uint64_t>(want, kMaxRequestBytes)));
    auto shared_plan = std::make_shared<FetchPlan>(plan);
    send_group_fetch(*conn_, options_.group, member, plan, limits, [this, shared_plan, member](Result<Frame> r) {
      std::lock_guard lock(mu_);
      arrived_.push_back(Arrival{std::move(*shared_plan), member, std::move(r)});
      cv_.notify_all();
    });
  }
}

std::vector<PartitionBatch> ConsumerCore::wait_and_take(SteadyClock::time_point deadline) {
  std::deque<Arrival> arrivals;
  {
    std::unique_lock lock(mu_);
    for (;;) {
      if (closed_ || membership_changed_) return {};
      if (!arrived_.empty()) {
        arrivals.swap(arrived_);
        break;
      }
      if (woken_) {
        woken_ = false;
        return {};
      }
      const auto now = SteadyClock::now();
      if (now >= deadline) return {};
      auto until = deadline;
      if (auto retry = owned_.next_retry_ms(now_ms())) {
        until = std::min(until, now + std::chrono::milliseconds(*retry - now_ms()));
      }
      if (cv_.wait_until(lock, until) == std::cv_status::timeout && until < deadline) return {};  // a backoff ended
    }
  }

  // Decode outside the lock (the records are copied into Messages here, not on the I/O thread).
  struct Decoded {
    Arrival* arrival;
    Result<GroupFetchResult> result;
  };
  std::vector<Decoded> decoded;
  decoded.reserve(arrivals.size());
  for (auto& a : arrivals) {
    if (a.frame.is_ok()) {
      decoded.push_back(Decoded{&a, decode_group_fetch(*a.frame, a.plan)});
    } else {
      decoded.push_back(Decoded{&a, a.frame.status()});
    }
  }

  std::vector<PartitionBatch> out;
  bool heartbeat = false;
  std::vector<std::string> unknown_members;
  {
    std::lock_guard lock(mu_);
    const int64_t now = now_ms();
    const int64_t retry_at = now + kRetryBackoffMs;
    for (auto& d : decoded) {
      const FetchPlan& plan = d.arrival->plan;
      if (!d.result.is_ok()) {
        const Status& st = d.result.status();
        for (const auto& item : plan.items) {
          TopicPartition tp{plan.topic, item.partition};
          if (owned_.fetch_returned(tp, item.incarnation)) {
            (void)owned_.fetch_failed(tp, st, plan.generation, now, retry_at);
          }
        }
        if (st.code() == StatusCode::kUnknownMember) unknown_members.push_back(d.arrival->member_id);
        if (!quiet(st)) log()->warn("group '{}': fetch of '{}' failed: {}", options_.group, plan.topic, st.to_string());
        continue;
      }
      GroupFetchResult& res = *d.result;
      const bool current = res.generation == owned_.generation() && d.arrival->member_id == owned_.member_id();
      if (res.generation > owned_.generation()) heartbeat = true;
      for (const auto& item : plan.items) {
        TopicPartition tp{plan.topic, item.partition};
        // Revoked or position dropped meanwhile: the answer is stale.
        if (!owned_.fetch_returned(tp, item.incarnation)) continue;
        // Answered under another generation: fetch again.
        if (!current) continue;
        auto it = std::find_if(res.partitions.begin(), res.partitions.end(),
                               [&](const FetchedPartition& p) { return p.partition == item.partition; });
        if (it == res.partitions.end()) continue;
        if (!it->status.is_ok()) {
          heartbeat = owned_.fetch_failed(tp, it->status, plan.generation, now, retry_at) || heartbeat;
          if (!quiet(it->status)) {
            log()->warn("group '{}': fetch {}[{}]: {}", options_.group, tp.topic, tp.partition, it->status.to_string());
          }
          continue;
        }
        owned_.advance(tp, it->next_offset);
        if (!it->messages.empty() || it->next_offset != item.offset) {
          out.push_back(PartitionBatch{tp, item.incarnation, std::move(it->messages), it->next_offset});
        }
      }
    }
  }
  for (const auto& m : unknown_members) membership_->member_unknown(m);
  if (heartbeat) membership_->heartbeat_now();
  return out;
}

std::optional<std::pair<uint64_t, uint64_t>> ConsumerCore::position(const TopicPartition& tp) const {
  std::lock_guard lock(mu_);
  const PartitionState* s = owned_.find(tp);
  if (!s || !s->position) return std::nullopt;
  return std::make_pair(s->incarnation, *s->position);
}

std::vector<CommitItem> ConsumerCore::uncommitted_positions() const {
  std::lock_guard lock(mu_);
  return owned_.uncommitted_positions();
}

void ConsumerCore::commit(const std::vector<CommitItem>& offsets, CommitDone done) {
  std::vector<CommitPlan> plans;
  std::string member;
  bool closed;
  {
    std::lock_guard lock(mu_);
    closed = closed_;
    if (!closed) {
      plans = owned_.plan_commits(offsets);
      member = owned_.member_id();
    }
  }
  if (plans.empty()) {
    CommitOutcome outcome;
    if (closed) outcome.status = Status(StatusCode::kShuttingDown, "consumer closed");
    if (done) done(std::move(outcome));
    return;
  }
  struct Shared {
    std::mutex mu;
    size_t remaining;
    CommitOutcome outcome;
    CommitDone done;
  };
  auto shared = std::make_shared<Shared>();
  shared->remaining = plans.size();
  shared->done = std::move(done);
  for (auto& plan : plans) {
    auto incarnations = std::make_shared<std::vector<uint64_t>>();
    for (const auto& item : plan.items) incarnations->push_back(item.incarnation);
    commit_offsets(*conn_, options_.group, member, plan,
                   [this, shared, incarnations, member](Result<std::vector<PartitionOffsetResult>> r) {
                     bool heartbeat = false;
                     Status first;
                     std::vector<CommittedOffset> stored;
                     if (!r.is_ok()) {
                       first = r.status();
                     } else {
                       std::lock_guard lock(mu_);
                       for (size_t i = 0; i < r->size(); ++i) {
                         const auto& po = (*r)[i];
                         if (po.status.is_ok()) {
                           owned_.set_committed(po.tp, (*incarnations)[i], po.offset);
                           stored.push_back(CommittedOffset{po.tp, po.offset});
                         } else {
                           if (first.is_ok()) {
                             first = Status(po.status.code(), fmt::format("{}[{}]: {}", po.tp.topic, po.tp.partition,
                                                                          po.status.message()));
                           }
                           heartbeat = heartbeat || po.status.code() == StatusCode::kNotAssigned ||
                                       po.status.code() == StatusCode::kIllegalGeneration;
                         }
                       }
                     }
                     if (!r.is_ok() && r.status().code() == StatusCode::kUnknownMember) {
                       membership_->member_unknown(member);
                     }
                     if (heartbeat) membership_->heartbeat_now();
                     CommitDone finish;
                     CommitOutcome outcome;
                     {
                       std::lock_guard lock(shared->mu);
                       if (shared->outcome.status.is_ok() && !first.is_ok()) shared->outcome.status = first;
                       for (auto& s : stored) shared->outcome.stored.push_back(std::move(s));
                       if (--shared->remaining == 0) {
                         finish = std::move(shared->done);
                         outcome = std::move(shared->outcome);
                       }
                     }
                     if (finish) finish(std::move(outcome));
                   });
  }
}

std::vector<TopicPartition> ConsumerCore::assignment() const {
  std::lock_guard lock(mu_);
  return owned_.partitions();
}

std::vector<CommittedOffset> ConsumerCore::committed() const {
  std::lock_guard lock(mu_);
  std::vector<CommittedOffset> out;
  for (const auto& tp : owned_.partitions()) {
    const PartitionState* s = owned_.find(tp);
    if (s && s->committed) out.push_back(CommittedOffset{tp, *s->committed});
  }
  return out;
}

std::string ConsumerCore::member_id() const {
  std::lock_guard lock(mu_);
  return owned_.member_id();
}

uint32_t ConsumerCore::generation() const {
  std::lock_guard lock(mu_);
  return owned_.generation();
}

void ConsumerCore::close() {
  std::call_once(close_once_, [this] {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      cv_.notify_all();
    }
    Status st = membership_->leave(std::min<std::chrono::milliseconds>(options_.client.request_timeout, kLeaveTimeout));
    if (!st.is_ok() && !quiet(st)) log()->warn("group '{}': LeaveGroup failed: {}", options_.group, st.to_string());
    conn_->close();
    membership_->stop();
  });
}

}  // namespace tidemq::client
