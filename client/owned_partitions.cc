#include "client/owned_partitions.h"

#include <algorithm>
#include <set>

namespace tidemq::client {

OwnedPartitions::Change OwnedPartitions::adopt(const std::string& member_id, uint64_t epoch, uint32_t generation,
                                               const std::vector<TopicPartition>& partitions,
                                               const std::map<TopicPartition, uint32_t>& since) {
  Change change;
  const bool same_member = member_id == member_id_ && epoch == epoch_;
  std::set<TopicPartition> wanted(partitions.begin(), partitions.end());
  for (auto it = parts_.begin(); it != parts_.end();) {
    if (!same_member || !wanted.count(it->first)) {
      change.revoked.push_back(it->first);
      it = parts_.erase(it);
      continue;
    }
    PartitionState& s = it->second;
    auto sit = since.find(it->first);
    const uint32_t owned_since = sit == since.end() ? generation : sit->second;
    if (s.position && owned_since > s.since_generation) drop_position(s);  // maybe someone else's meanwhile
    ++it;
  }
  for (const auto& tp : wanted) {
    if (parts_.count(tp)) continue;
    PartitionState s;
    s.incarnation = next_incarnation_++;
    parts_.emplace(tp, s);
    change.assigned.push_back(tp);
  }
  member_id_ = member_id;
  epoch_ = epoch;
  generation_ = generation;
  return change;
}

const PartitionState* OwnedPartitions::find(const TopicPartition& tp) const {
  auto it = parts_.find(tp);
  return it == parts_.end() ? nullptr : &it->second;
}

std::vector<TopicPartition> OwnedPartitions::partitions() const {
  std::vector<TopicPartition> out;
  out.reserve(parts_.size());
  for (const auto& [tp, s] : parts_) out.push_back(tp);
  return out;
}

std::vector<TopicPartition> OwnedPartitions::needing_position(int64_t now_ms) const {
  std::vector<TopicPartition> out;
  for (const auto& [tp, s] : parts_) {
    if (!s.position && generation_ >= s.min_generation && now_ms >= s.retry_at_ms) out.push_back(tp);
  }
  return out;
}

void OwnedPartitions::set_position(const TopicPartition& tp, uint64_t offset, bool committed) {
  auto it = parts_.find(tp);
  if (it == parts_.end() || it->second.position) return;
  PartitionState& s = it->second;
  s.position = offset;
  s.since_generation = generation_;
  s.committed = committed ? std::optional<uint64_t>(offset) : std::nullopt;
  s.retry_at_ms = 0;
}

void OwnedPartitions::position_failed(const TopicPartition& tp, int64_t retry_at_ms) {
  auto it = parts_.find(tp);
  if (it != parts_.end() && !it->second.position) it->second.retry_at_ms = retry_at_ms;
}

std::vector<FetchPlan> OwnedPartitions::plan_fetches(int64_t now_ms,
                                                     const std::function<bool(const TopicPartition&)>& paused) {
  std::map<std::string, FetchPlan> plans;
  for (auto& [tp, s] : parts_) {
    if (!s.position || s.in_flight || now_ms < s.retry_at_ms) continue;
    if (paused && paused(tp)) continue;
    s.in_flight = true;
    FetchPlan& plan = plans[tp.topic];
    plan.topic = tp.topic;
    plan.generation = generation_;
    plan.items.push_back(FetchItem{tp.partition, *s.position, s.incarnation});
  }
  std::vector<FetchPlan> out;
  out.reserve(plans.size());
  for (auto& [key, plan] : plans) out.push_back(std::move(plan));
  return out;
}

bool OwnedPartitions::fetch_returned(const TopicPartition& tp, uint64_t incarnation) {
  auto it = parts_.find(tp);
  if (it == parts_.end() || it->second.incarnation != incarnation) return false;
  it->second.in_flight = false;
  return true;
}

void OwnedPartitions::advance(const TopicPartition& tp, uint64_t next_offset) {
  auto it = parts_.find(tp);
  if (it == parts_.end() || !it->second.position) return;
  it->second.position = std::max(*it->second.position, next_offset);
}

void OwnedPartitions::drop_position(PartitionState& s) {
  s.position.reset();
  s.committed.reset();
  s.in_flight = false;
  s.incarnation = next_incarnation_++;
}

bool OwnedPartitions::fetch_failed(const TopicPartition& tp, const Status& st, uint32_t fetch_generation,
                                   int64_t now_ms, int64_t retry_at_ms) {
  auto it = parts_.find(tp);
  if (it == parts_.end()) return false;
  PartitionState& s = it->second;
  switch (st.code()) {
    case StatusCode::kNotAssigned:
    case StatusCode::kIllegalGeneration:
      s.min_generation = std::max(s.min_generation, fetch_generation + 1);
      drop_position(s);
      s.retry_at_ms = now_ms;
      return true;
    case StatusCode::kOffsetOutOfRange:
      drop_position(s);
      s.retry_at_ms = now_ms;
      return false;
    default:
      s.retry_at_ms = retry_at_ms;
      return false;
  }
}

std::vector<CommitPlan> OwnedPartitions::plan_commits(const std::vector<CommitItem>& wanted) const {
  std::map<uint32_t, CommitPlan> plans;
  for (const auto& w : wanted) {
    auto it = parts_.find(w.tp);
    if (it == parts_.end() || !it->second.position) continue;
    if (w.incarnation != 0 && w.incarnation != it->second.incarnation) continue;
    CommitPlan& plan = plans[it->second.since_generation];
    plan.generation = it->second.since_generation;
    plan.items.push_back(CommitItem{w.tp, w.offset, it->second.incarnation});
  }
  std::vector<CommitPlan> out;
  out.reserve(plans.size());
  for (auto& [g, plan] : plans) out.push_back(std::move(plan));
  return out;
}

std::vector<CommitItem> OwnedPartitions::uncommitted_positions() const {
  std::vector<CommitItem> out;
  for (const auto& [tp, s] : parts_) {
    if (s.position && (!s.committed || *s.committed != *s.position))
      out.push_back(CommitItem{tp, *s.position, s.incarnation});
  }
  return out;
}

void OwnedPartitions::set_committed(const TopicPartition& tp, uint64_t incarnation, uint64_t stored) {
  auto it = parts_.find(tp);
  if (it == parts_.end() || it->second.incarnation != incarnation) return;
  it->second.committed = stored;
}

std::optional<int64_t> OwnedPartitions::next_retry_ms(int64_t now_ms) const {
  std::optional<int64_t> next;
  for (const auto& [tp, s] : parts_) {
    if (s.retry_at_ms > now_ms && (!next || s.retry_at_ms < *next)) next = s.retry_at_ms;
  }
  return next;
}

}  // namespace tidemq::client
