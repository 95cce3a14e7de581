#include "client/group_membership.h"

#include <algorithm>

#include "common/logging.h"

namespace tidemq::client {

namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr auto kJoinRetry = std::chrono::milliseconds(1000);
constexpr auto kHeartbeatRetry = std::chrono::milliseconds(1000);
constexpr auto kDefaultHeartbeatInterval = std::chrono::milliseconds(3000);

std::shared_ptr<spdlog::logger> log() {
  static auto l = logging::get("consumer");
  return l;
}

bool join_retriable(const Status& st) { return st.retriable() || st.code() == StatusCode::kUnknownMember; }

}  // namespace

std::map<TopicPartition, uint32_t> continued_since(const MembershipSnapshot& prev, const MemberAssignment& next) {
  // Only an answer for the same member at the same or the next generation proves that kept
  // partitions were never someone else's in between.
  const bool continuous = next.member_id == prev.member_id &&
                          (next.generation == prev.generation || next.generation == prev.generation + 1);
  std::map<TopicPartition, uint32_t> since;
  for (const auto& tp : next.partitions) {
    auto it = prev.since.find(tp);
    since[tp] = continuous && it != prev.since.end() ? it->second : next.generation;
  }
  return since;
}

GroupMembership::GroupMembership(Connection& conn, std::string group, std::chrono::milliseconds session_timeout,
                                 ChangeListener on_change)
    : conn_(conn), group_(std::move(group)), session_timeout_(session_timeout), on_change_(std::move(on_change)) {}

GroupMembership::~GroupMembership() { stop(); }

Status GroupMembership::subscribe(const std::string& topic, const std::string& expression) {
  if (topic.empty()) return Status::invalid_argument("subscribe: empty topic name");
  std::lock_guard lock(mu_);
  if (left_) return Status(StatusCode::kShuttingDown, "consumer closed");
  auto it = std::find_if(subscriptions_.begin(), subscriptions_.end(),
                         [&](const GroupSubscription& s) { return s.topic == topic; });
  const std::string expr = expression.empty() ? "*" : expression;
  if (it != subscriptions_.end()) {
    if (it->expression == expr) return Status::ok();
    it->expression = expr;
  } else {
    subscriptions_.push_back(GroupSubscription{topic, expr});
  }
  last_join_error_ = Status::ok();
  join_refused_ = false;
  if (!snap_.member_id.empty()) rejoin_ = true;
  next_join_ = SteadyClock::now();
  cv_.notify_all();
  return Status::ok();
}

bool GroupMembership::has_subscriptions() const {
  std::lock_guard lock(mu_);
  return !subscriptions_.empty();
}

void GroupMembership::request_join() {
  std::lock_guard lock(mu_);
  if (left_) return;
  want_member_ = true;
  if (!started_) {
    started_ = true;
    thread_ = std::thread([this] { run(); });
  }
  cv_.notify_all();
}

Status GroupMembership::wait_joined(SteadyClock::time_point deadline) {
  std::unique_lock lock(mu_);
  joined_cv_.wait_until(lock, deadline, [&] {
    return stop_ || !snap_.member_id.empty() || (!last_join_error_.is_ok() && !join_retriable(last_join_error_));
  });
  if (stop_) return Status(StatusCode::kShuttingDown, "consumer closed");
  if (!snap_.member_id.empty()) return Status::ok();
  if (!last_join_error_.is_ok() && !join_retriable(last_join_error_)) return last_join_error_;
  return Status::ok();
}

bool GroupMembership::joined() const {
  std::lock_guard lock(mu_);
  return !snap_.member_id.empty();
}

MembershipSnapshot GroupMembership::snapshot() const {
  std::lock_guard lock(mu_);
  return snap_;
}

void GroupMembership::heartbeat_now() {
  std::lock_guard lock(mu_);
  heartbeat_now_ = true;
  cv_.notify_all();
}

void GroupMembership::member_unknown(const std::string& member_id) {
  {
    std::lock_guard lock(mu_);
    if (member_id.empty() || snap_.member_id != member_id) return;
    log()->info("group '{}': member {} is unknown to the broker; joining again", group_, member_id);
    lose_membership();
    next_join_ = SteadyClock::now();
    cv_.notify_all();
  }
  notify_change();
}

void GroupMembership::on_new_session(uint64_t session) {
  {
    std::lock_guard lock(mu_);
    if (snap_.member_id.empty() || joined_session_ == 0 || session == joined_session_) return;
    log()->info("group '{}': reconnected; the broker dropped member {}; joining again", group_, snap_.member_id);
    lose_membership();
    next_join_ = SteadyClock::now();
    cv_.notify_all();
  }
  notify_change();
}

Status GroupMembership::leave(std::chrono::milliseconds timeout) {
  std::string id;
  {
    std::lock_guard lock(mu_);
    if (left_) return Status::ok();
    left_ = true;
    stop_ = true;
    id = snap_.member_id;
    cv_.notify_all();
    joined_cv_.notify_all();
  }
  Status st;
  if (!id.empty()) st = leave_group(conn_, group_, id, timeout);
  bool changed = false;
  {
    std::lock_guard lock(mu_);
    if (!snap_.member_id.empty()) {
      lose_membership();
      changed = true;
    }
  }
  if (changed) notify_change();
  return st;
}

void GroupMembership::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    cv_.notify_all();
    joined_cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void GroupMembership::notify_change() {
  if (on_change_) on_change_();
}

bool GroupMembership::adopt(const MemberAssignment& a) {
  if (a.member_id == snap_.member_id && a.generation == snap_.generation && a.partitions == snap_.partitions) {
    return false;
  }
  snap_.since = continued_since(snap_, a);
  snap_.member_id = a.member_id;
  snap_.generation = a.generation;
  snap_.partitions = a.partitions;
  ++snap_.version;
  return true;
}

void GroupMembership::lose_membership() {
  snap_.member_id.clear();
  snap_.generation = 0;
  snap_.partitions.clear();
  snap_.since.clear();
  ++snap_.version;
  joined_session_ = 0;
  rejoin_ = false;
}

void GroupMembership::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    const auto now = SteadyClock::now();
    const bool need_join =
        want_member_ && !join_refused_ && !subscriptions_.empty() && (snap_.member_id.empty() || rejoin_);
    if (need_join && now >= next_join_) {
      do_join(lock);
      continue;
    }
    const bool member = !snap_.member_id.empty();
    if (member && (heartbeat_now_ || now >= next_heartbeat_)) {
      do_heartbeat(lock);
      continue;
    }
    if (need_join) {
      cv_.wait_until(lock, next_join_);
    } else if (member) {
      cv_.wait_until(lock, next_heartbeat_);
    } else {
      cv_.wait(lock);
    }
  }
}

void GroupMembership::do_join(std::unique_lock<std::mutex>& lock) {
  const std::string id = rejoin_ ? snap_.member_id : std::string();
  const auto subs = subscriptions_;
  rejoin_ = false;
  ++join_attempts_;
  lock.unlock();
  auto r = join_group(conn_, group_, id, subs, session_timeout_);
  auto hello = conn_.hello();
  lock.lock();
  const auto now = SteadyClock::now();
  bool changed = false;
  if (r.is_ok()) {
    last_join_error_ = Status::ok();
    if (id.empty()) {
      // A fresh membership: nothing carries over, even if the broker reuses a member id.
      snap_.member_id.clear();
      snap_.since.clear();
      ++snap_.epoch;
    }
    changed = adopt(*r);
    joined_session_ = hello ? hello->session : 0;
    auto interval =
        r->heartbeat_interval_ms > 0 ? std::chrono::milliseconds(r->heartbeat_interval_ms) : kDefaultHeartbeatInterval;
    if (r->session_timeout_ms > 0) {
      interval = std::min(interval, std::chrono::milliseconds(std::max<uint32_t>(r->session_timeout_ms / 3, 100)));
    }
    heartbeat_interval_ = interval;
    next_heartbeat_ = now + heartbeat_interval_;
    heartbeat_now_ = false;
    log()->debug("group '{}': joined as {} at generation {} with {} partitions", group_, r->member_id, r->generation,
                 r->partitions.size());
  } else {
    last_join_error_ = r.status();
    if (r.status().code() == StatusCode::kUnknownMember) {
      if (!snap_.member_id.empty()) {
        lose_membership();
        changed = true;
      }
      next_join_ = now;
    } else {
      if (!id.empty()) rejoin_ = true;
      next_join_ = now + kJoinRetry;
      join_refused_ = !join_retriable(r.status());
      log()->warn("group '{}': join failed{}: {}", group_, join_refused_ ? " (not retried until subscribe())" : "",
                  r.status().to_string());
    }
  }
  joined_cv_.notify_all();
  if (changed) {
    lock.unlock();
    notify_change();
    lock.lock();
  }
}

void GroupMembership::do_heartbeat(std::unique_lock<std::mutex>& lock) {
  heartbeat_now_ = false;
  const std::string id = snap_.member_id;
  const uint32_t generation = snap_.generation;
  lock.unlock();
  auto r = heartbeat(conn_, group_, id, generation);
  lock.lock();
  const auto now = SteadyClock::now();
  if (snap_.member_id != id) return;  // lost or rejoined meanwhile
  bool changed = false;
  if (r.is_ok()) {
    changed = adopt(*r);
    next_heartbeat_ = now + heartbeat_interval_;
  } else if (r.status().code() == StatusCode::kUnknownMember) {
    log()->info("group '{}': member {} expired; joining again", group_, id);
    lose_membership();
    changed = true;
    next_join_ = now;
  } else {
    if (r.status().code() != StatusCode::kShuttingDown) {
      log()->warn("group '{}': heartbeat failed: {}", group_, r.status().to_string());
    }
    next_heartbeat_ = now + std::min<std::chrono::milliseconds>(heartbeat_interval_, kHeartbeatRetry);
  }
  if (changed) {
    lock.unlock();
    notify_change();
    lock.lock();
  }
}

}  // namespace tidemq::client
