#include "broker/delivery/group_coordinator.h"

#include <algorithm>
#include <random>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "broker/delivery/assignors.h"

namespace tidemq::broker {
namespace {

Status unknown_member(const std::string& group, const std::string& member_id) {
  return {StatusCode::kUnknownMember, fmt::format("member '{}' is not in group '{}' (expired or left): join again",
                                                  member_id, group)};
}

int64_t clamp_session_timeout(int64_t ms) {
  if (ms <= 0) return kDefaultSessionTimeoutMs;
  return std::clamp(ms, kMinSessionTimeoutMs, kMaxSessionTimeoutMs);
}

// Sorted by topic, "" expressions made "*". InvalidArgument for an empty or repeated topic.
Result<std::vector<Subscription>> normalize(std::vector<Subscription> subs) {
  if (subs.empty()) return Status::invalid_argument("a member must subscribe to at least one topic");
  std::sort(subs.begin(), subs.end(), [](const auto& a, const auto& b) { return a.topic < b.topic; });
  for (size_t i = 0; i < subs.size(); ++i) {
    if (subs[i].topic.empty()) return Status::invalid_argument("subscription without a topic name");
    if (i > 0 && subs[i].topic == subs[i - 1].topic) {
      return Status::invalid_argument(fmt::format("topic '{}' subscribed twice", subs[i].topic));
    }
    if (subs[i].expression.empty()) subs[i].expression.assign(1, '*');  // not = "*": GCC 12 false -Wrestrict
  }
  return subs;
}

}  // namespace

struct GroupCoordinator::Group {
  struct Member {
    std::string client_id;
    std::string remote;
    uint64_t session_id = 0;
    std::vector<Subscription> subscriptions;  // sorted by topic
    int64_t session_timeout_ms = kDefaultSessionTimeoutMs;
    int64_t last_seen_ms = 0;  // monotonic: last join, heartbeat or fetch
    // Assignment: partition -> the generation since which this member has owned it without
    // interruption (the fencing rule of the header).
    std::map<TopicPartition, uint32_t> owned;
  };

  uint32_t generation = 0;  // kept after the last member leaves: generations never repeat
  AssignStrategy strategy = AssignStrategy::kAvg;  // as used by the last rebalance
  ConsumeMode mode = ConsumeMode::kClustering;
  std::map<std::string, Member> members;  // by member id (sorted: the assignors' order)
};

// Generation changes collected under the lock and reported after it is released.
struct PendingChanges {
  std::shared_ptr<const GroupCoordinator::ChangeListener> listener;
  std::vector<std::pair<std::string, uint32_t>> changes;

  void run() const {
    if (!listener) return;
    for (const auto& [group, generation] : changes) (*listener)(group, generation);
  }
};

struct GroupCoordinator::Impl {
  Impl(const Clock& c, PartitionCounter p, GroupSettings s)
      : clock(c), partitions(std::move(p)), settings(std::move(s)), instance(std::random_device{}()) {}

  const Clock& clock;
  const PartitionCounter partitions;
  const GroupSettings settings;
  const uint32_t instance;  // random per coordinator: member ids differ across broker restarts

  mutable std::mutex mu;
  std::map<std::string, Group> groups GUARDED_BY(mu);  // every group that ever had a member
  uint64_t next_member GUARDED_BY(mu) = 0;
  std::shared_ptr<const ChangeListener> listener GUARDED_BY(mu);

  // nullptr if the group or the member is unknown.
  Group::Member* find_member(const std::string& group, const std::string& member_id) REQUIRES(mu) {
    return find_member_in(groups, group, member_id);
  }
  const Group::Member* find_member(const std::string& group, const std::string& member_id) const REQUIRES(mu) {
    return find_member_in(groups, group, member_id);
  }
  template <typename Groups>
  static auto find_member_in(Groups& all, const std::string& group, const std::string& member_id)
      -> decltype(&all.begin()->second.members.begin()->second) {
    auto g = all.find(group);
    if (g == all.end()) return nullptr;
    auto m = g->second.members.find(member_id);
    return m == g->second.members.end() ? nullptr : &m->second;
  }

  void note_change(PendingChanges& pending, const std::string& name, const Group& g) REQUIRES(mu) {
    pending.listener = listener;
    pending.changes.emplace_back(name, g.generation);
  }

  // Recomputes the whole assignment of group `name`. A new generation starts when
  // `membership_changed` or when any member's assignment differs from before; partitions a member
  // keeps keep their ownership generation. Records the change in `pending`.
  void rebalance(const std::string& name, Group& g, bool membership_changed, PendingChanges& pending)
      REQUIRES(mu) {
    const auto [strategy, mode] = settings(name);
    std::map<std::string, std::vector<std::string>> subscribers;  // topic -> sorted member ids
    std::map<std::string, std::set<TopicPartition>> next;         // member id -> assignment
    for (const auto& [id, member] : g.members) {
      next[id];
      for (const auto& sub : member.subscriptions) subscribers[sub.topic].push_back(id);
    }
    for (const auto& [topic, ids] : subscribers) {
      const uint32_t count = partitions(topic);
      if (mode == ConsumeMode::kBroadcasting) {
        for (const auto& id : ids) {
          for (uint32_t p = 0; p < count; ++p) next[id].insert({topic, p});
        }
        continue;
      }
      PartitionOwners previous(count);  // for sticky; meaningless after broadcasting
      if (g.mode == ConsumeMode::kClustering) {
        for (const auto& [id, member] : g.members) {
          for (auto it = member.owned.lower_bound({topic, 0}); it != member.owned.end() && it->first.topic == topic;
               ++it) {
            if (it->first.partition < count) previous[it->first.partition] = id;
          }
        }
      }
      const PartitionOwners owners = assign_partitions(strategy, topic, ids, count, previous);
      for (uint32_t p = 0; p < count; ++p) next[owners[p]].insert({topic, p});
    }

    bool changed = membership_changed;
    for (const auto& [id, member] : g.members) {
      const auto& assigned = next[id];
      changed = changed || !std::equal(member.owned.begin(), member.owned.end(), assigned.begin(), assigned.end(),
                                       [](const auto& owned, const auto& tp) { return owned.first == tp; });
    }
    g.strategy = strategy;
    g.mode = mode;
    if (!changed) return;
    ++g.generation;
    for (auto& [id, member] : g.members) {
      std::map<TopicPartition, uint32_t> owned;
      for (const auto& tp : next[id]) {
        auto kept = member.owned.find(tp);
        owned.emplace(tp, kept != member.owned.end() ? kept->second : g.generation);
      }
      member.owned = std::move(owned);
    }
    note_change(pending, name, g);
  }

  MemberView view(const Group& g, const std::string& id, const Group::Member& m) const {
    MemberView v;
    v.member_id = id;
    v.generation = g.generation;
    for (const auto& entry : m.owned) v.assignment.push_back(entry.first);
    v.session_timeout_ms = m.session_timeout_ms;
    // At least three heartbeats per session timeout.
    v.heartbeat_interval_ms = std::min(kDefaultHeartbeatIntervalMs, m.session_timeout_ms / 3);
    return v;
  }

  // Removes the members `pred` selects from every group and rebalances those groups.
  template <typename Pred>
  size_t remove_members(Pred pred, PendingChanges& pending) REQUIRES(mu) {
    size_t removed = 0;
    for (auto& [name, g] : groups) {
      const size_t n = std::erase_if(g.members, [&](const auto& entry) { return pred(entry.second); });
      if (n == 0) continue;
      removed += n;
      rebalance(name, g, /*membership_changed=*/true, pending);
    }
    return removed;
  }
};

GroupCoordinator::GroupCoordinator(const Clock& clock, PartitionCounter partitions, GroupSettings settings)
    : impl_(std::make_unique<Impl>(clock, std::move(partitions), std::move(settings))) {}

GroupCoordinator::~GroupCoordinator() = default;

void GroupCoordinator::set_change_listener(ChangeListener listener) {
  std::lock_guard lock(impl_->mu);
  impl_->listener = std::make_shared<const ChangeListener>(std::move(listener));
}

Result<MemberView> GroupCoordinator::join(const JoinRequest& request) {
  if (request.group.empty()) return Status::invalid_argument("join without a group name");
  TIDEMQ_ASSIGN_OR_RETURN(auto subscriptions, normalize(request.subscriptions));
  const int64_t timeout = clamp_session_timeout(request.session_timeout_ms);

  PendingChanges pending;
  MemberView result;
  {
    std::lock_guard lock(impl_->mu);
    const int64_t now = impl_->clock.monotonic_ms();
    std::string id = request.member_id;
    if (!id.empty()) {
      Group::Member* m = impl_->find_member(request.group, id);
      if (m == nullptr) return unknown_member(request.group, id);
      if (!request.client_id.empty()) m->client_id = request.client_id;
      m->remote = request.remote;
      m->session_id = request.session_id;
      m->session_timeout_ms = timeout;
      m->last_seen_ms = now;
      if (m->subscriptions != subscriptions) {
        m->subscriptions = std::move(subscriptions);
        impl_->rebalance(request.group, impl_->groups.at(request.group), /*membership_changed=*/true, pending);
      }
    } else {
      Group& g = impl_->groups[request.group];
      const std::string prefix = request.client_id.empty() ? "member" : request.client_id;
      do {
        id = fmt::format("{}-{:08x}-{:06x}", prefix, impl_->instance, ++impl_->next_member);
      } while (g.members.contains(id));  // only if a client id looks like one of ours
      Group::Member& m = g.members[id];
      m.client_id = request.client_id;
      m.remote = request.remote;
      m.session_id = request.session_id;
      m.subscriptions = std::move(subscriptions);
      m.session_timeout_ms = timeout;
      m.last_seen_ms = now;
      impl_->rebalance(request.group, g, /*membership_changed=*/true, pending);
    }
    const Group& g = impl_->groups.at(request.group);
    result = impl_->view(g, id, g.members.at(id));
  }
  pending.run();
  return result;
}

Result<MemberView> GroupCoordinator::heartbeat(const std::string& group, const std::string& member_id) {
  std::lock_guard lock(impl_->mu);
  Group::Member* m = impl_->find_member(group, member_id);
  if (m == nullptr) return unknown_member(group, member_id);
  m->last_seen_ms = impl_->clock.monotonic_ms();
  return impl_->view(impl_->groups.at(group), member_id, *m);
}

Status GroupCoordinator::leave(const std::string& group, const std::string& member_id) {
  PendingChanges pending;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->find_member(group, member_id) == nullptr) return unknown_member(group, member_id);
    Group& g = impl_->groups.at(group);
    g.members.erase(member_id);
    impl_->rebalance(group, g, /*membership_changed=*/true, pending);
  }
  pending.run();
  return Status::ok();
}

void GroupCoordinator::session_closed(uint64_t session_id) {
  PendingChanges pending;
  {
    std::lock_guard lock(impl_->mu);
    impl_->remove_members([&](const Group::Member& m) { return m.session_id == session_id; }, pending);
  }
  pending.run();
}

size_t GroupCoordinator::expire() {
  PendingChanges pending;
  size_t expired = 0;
  {
    std::lock_guard lock(impl_->mu);
    const int64_t now = impl_->clock.monotonic_ms();
    expired = impl_->remove_members(
        [&](const Group::Member& m) { return now - m.last_seen_ms > m.session_timeout_ms; }, pending);
  }
  pending.run();
  return expired;
}

Status GroupCoordinator::check_owner(const std::string& group, const std::string& member_id, uint32_t generation,
                                     const TopicPartition& tp) const {
  std::lock_guard lock(impl_->mu);
  const Group::Member* m = impl_->find_member(group, member_id);
  if (m == nullptr) return unknown_member(group, member_id);
  auto it = m->owned.find(tp);
  if (it == m->owned.end()) {
    return {StatusCode::kNotAssigned,
            fmt::format("{}-{} is not assigned to member '{}' of group '{}'", tp.topic, tp.partition, member_id, group)};
  }
  const uint32_t current = impl_->groups.at(group).generation;
  if (it->second > generation || generation > current) {
    return {StatusCode::kIllegalGeneration,
            fmt::format("generation {} is stale for {}-{} (owned since generation {}, group at {}): heartbeat or "
                        "rejoin",
                        generation, tp.topic, tp.partition, it->second, current)};
  }
  return Status::ok();
}

Status GroupCoordinator::touch(const std::string& group, const std::string& member_id) {
  std::lock_guard lock(impl_->mu);
  Group::Member* m = impl_->find_member(group, member_id);
  if (m == nullptr) return unknown_member(group, member_id);
  m->last_seen_ms = impl_->clock.monotonic_ms();
  return Status::ok();
}

Result<std::string> GroupCoordinator::expression(const std::string& group, const std::string& member_id,
                                                 const std::string& topic) const {
  std::lock_guard lock(impl_->mu);
  const Group::Member* m = impl_->find_member(group, member_id);
  if (m == nullptr) return unknown_member(group, member_id);
  for (const auto& sub : m->subscriptions) {
    if (sub.topic == topic) return sub.expression;
  }
  return std::string("*");
}

Result<std::string> GroupCoordinator::client_id(const std::string& group, const std::string& member_id) const {
  std::lock_guard lock(impl_->mu);
  const Group::Member* m = impl_->find_member(group, member_id);
  if (m == nullptr) return unknown_member(group, member_id);
  return m->client_id;
}

void GroupCoordinator::reset_offsets(const std::string& group, const std::string& topic) {
  PendingChanges pending;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->groups.find(group);
    if (it == impl_->groups.end() || it->second.members.empty()) return;  // nobody to fence
    Group& g = it->second;
    ++g.generation;
    for (auto& [id, member] : g.members) {
      for (auto& [tp, since] : member.owned) {
        if (tp.topic == topic) since = g.generation;
      }
    }
    impl_->note_change(pending, group, g);
  }
  pending.run();
}

void GroupCoordinator::topic_changed(const std::string& topic) {
  PendingChanges pending;
  {
    std::lock_guard lock(impl_->mu);
    for (auto& [name, g] : impl_->groups) {
      const bool subscribed = std::any_of(g.members.begin(), g.members.end(), [&](const auto& entry) {
        const auto& subs = entry.second.subscriptions;
        return std::any_of(subs.begin(), subs.end(), [&](const Subscription& s) { return s.topic == topic; });
      });
      if (subscribed) impl_->rebalance(name, g, /*membership_changed=*/false, pending);
    }
  }
  pending.run();
}

void GroupCoordinator::settings_changed(const std::string& group) {
  PendingChanges pending;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->groups.find(group);
    if (it == impl_->groups.end() || it->second.members.empty()) return;
    impl_->rebalance(group, it->second, /*membership_changed=*/false, pending);
  }
  pending.run();
}

std::optional<GroupDescription> GroupCoordinator::describe(const std::string& group) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->groups.find(group);
  if (it == impl_->groups.end()) return std::nullopt;
  const Group& g = it->second;
  const int64_t now = impl_->clock.monotonic_ms();
  GroupDescription d;
  d.generation = g.generation;
  d.mode = g.mode;
  for (const auto& [id, m] : g.members) {
    MemberDescription md;
    md.member_id = id;
    md.client_id = m.client_id;
    md.remote = m.remote;
    md.subscriptions = m.subscriptions;
    md.last_heartbeat_age_ms = now - m.last_seen_ms;
    for (const auto& entry : m.owned) {
      md.assignment.push_back(entry.first);
      // Broadcasting: every subscribed member owns every partition; `owners` stays empty.
      if (g.mode == ConsumeMode::kClustering) d.owners.emplace(entry.first, id);
    }
    d.members.push_back(std::move(md));
  }
  return d;
}

uint32_t GroupCoordinator::generation(const std::string& group) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->groups.find(group);
  return it == impl_->groups.end() ? 0 : it->second.generation;
}

bool GroupCoordinator::has_members(const std::string& group) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->groups.find(group);
  return it != impl_->groups.end() && !it->second.members.empty();
}

std::vector<std::string> GroupCoordinator::groups() const {
  std::lock_guard lock(impl_->mu);
  std::vector<std::string> names;
  for (const auto& [name, g] : impl_->groups) {
    if (!g.members.empty()) names.push_back(name);
  }
  return names;
}

}  // namespace tidemq::broker
