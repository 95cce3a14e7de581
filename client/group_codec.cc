#include "client/group_codec.h"

#include <fmt/format.h>

#include "client/wire_status.h"

namespace tidemq::client {
namespace {

std::string str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

std::vector<GroupAssignment> assignment_from_wire(
    const flatbuffers::Vector<flatbuffers::Offset<wire::TopicAssignment>>* list) {
  std::vector<GroupAssignment> out;
  if (!list) return out;
  out.reserve(list->size());
  for (const auto* a : *list) {
    GroupAssignment g;
    g.topic = str(a->topic());
    if (a->partitions()) g.partitions.assign(a->partitions()->begin(), a->partitions()->end());
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace

wire::AssignStrategy strategy_to_wire(AssignStrategy strategy) {
  switch (strategy) {
    case AssignStrategy::kAvg: return wire::AssignStrategy::AVG;
    case AssignStrategy::kAvgByCircle: return wire::AssignStrategy::AVG_BY_CIRCLE;
    case AssignStrategy::kConsistentHash: return wire::AssignStrategy::CONSISTENT_HASH;
    case AssignStrategy::kSticky: return wire::AssignStrategy::STICKY;
  }
  TIDEMQ_CHECK(false, "AssignStrategy out of range");
  return wire::AssignStrategy::AVG;
}

AssignStrategy strategy_from_wire(wire::AssignStrategy strategy) {
  switch (strategy) {
    case wire::AssignStrategy::AVG: return AssignStrategy::kAvg;
    case wire::AssignStrategy::AVG_BY_CIRCLE: return AssignStrategy::kAvgByCircle;
    case wire::AssignStrategy::CONSISTENT_HASH: return AssignStrategy::kConsistentHash;
    case wire::AssignStrategy::STICKY: return AssignStrategy::kSticky;
  }
  return AssignStrategy::kAvg;  // a strategy from a newer broker
}

flatbuffers::Offset<wire::GroupConfig> build_group_config(flatbuffers::FlatBufferBuilder& fbb,
                                                          const GroupSettings& s) {
  std::vector<flatbuffers::Offset<wire::TopicRate>> rates;
  rates.reserve(s.topic_rates.size());
  for (const auto& r : s.topic_rates) {
    rates.push_back(wire::CreateTopicRateDirect(fbb, r.topic.c_str(), r.max_msgs_per_sec, r.max_bytes_per_sec));
  }
  const std::string& reset = s.reset_policy.empty() ? std::string("latest") : s.reset_policy;
  return wire::CreateGroupConfigDirect(fbb, s.name.c_str(), strategy_to_wire(s.strategy),
                                       s.broadcast ? wire::ConsumeMode::BROADCASTING : wire::ConsumeMode::CLUSTERING,
                                       reset.c_str(), s.max_msgs_per_sec, s.max_bytes_per_sec, s.burst_ms, &rates,
                                       s.retry_policy.c_str(), s.max_reconsume_times);
}

GroupSettings group_settings_from_wire(const wire::GroupConfig* c) {
  GroupSettings s;
  if (!c) return s;
  s.name = str(c->name());
  s.strategy = strategy_from_wire(c->strategy());
  s.broadcast = c->mode() == wire::ConsumeMode::BROADCASTING;
  s.reset_policy = c->reset_policy() && c->reset_policy()->size() > 0 ? c->reset_policy()->str() : "latest";
  s.max_msgs_per_sec = c->max_msgs_per_sec();
  s.max_bytes_per_sec = c->max_bytes_per_sec();
  s.burst_ms = c->burst_ms();
  if (c->topic_rates()) {
    for (const auto* r : *c->topic_rates()) {
      s.topic_rates.push_back({str(r->topic()), r->max_msgs_per_sec(), r->max_bytes_per_sec()});
    }
  }
  s.retry_policy = str(c->retry_policy());
  s.max_reconsume_times = c->max_reconsume_times();
  return s;
}

GroupDescription group_description_from_wire(const wire::DescribeGroupResponse& r) {
  GroupDescription d;
  d.settings = group_settings_from_wire(r.config());
  d.generation = r.generation();
  if (r.members()) {
    for (const auto* m : *r.members()) {
      GroupMemberInfo info;
      info.member_id = str(m->member_id());
      info.client_id = str(m->client_id());
      info.remote = str(m->remote());
      if (m->subscriptions()) {
        for (const auto* sub : *m->subscriptions()) {
          info.subscriptions.push_back({str(sub->topic()), str(sub->expression())});
        }
      }
      info.assignment = assignment_from_wire(m->assignment());
      info.last_heartbeat_age_ms = m->last_heartbeat_age_ms();
      d.members.push_back(std::move(info));
    }
  }
  return d;
}

ConsumerProgress consumer_progress_from_wire(const wire::ConsumerProgressResponse& r) {
  ConsumerProgress out;
  out.group = str(r.group());
  out.retry_scheduled = r.retry_scheduled();
  out.dlq_messages = r.dlq_messages();
  if (r.partitions()) {
    out.partitions.reserve(r.partitions()->size());
    for (const auto* p : *r.partitions()) {
      PartitionProgress pp;
      pp.topic = str(p->topic());
      pp.partition = p->partition();
      pp.start_offset = p->start_offset();
      pp.end_offset = p->end_offset();
      pp.committed_offset = p->committed_offset();
      pp.lag = p->lag();
      pp.owner = str(p->owner());
      pp.owner_client_id = str(p->owner_client_id());
      pp.last_commit_ms = static_cast<int64_t>(p->last_commit_ms());
      out.partitions.push_back(std::move(pp));
    }
  }
  return out;
}

Result<std::vector<PartitionOffset>> partition_offsets_from_wire(
    const flatbuffers::Vector<flatbuffers::Offset<wire::PartitionOffset>>* offsets) {
  std::vector<PartitionOffset> out;
  if (!offsets) return out;
  out.reserve(offsets->size());
  for (const auto* o : *offsets) {
    if (o->error() != wire::ErrorCode::NONE) {
      Status st = status_from_wire(o->error(), o->error_message());
      return Status(st.code(), fmt::format("{}/{}: {}", str(o->topic()), o->partition(), st.message()));
    }
    out.push_back({str(o->topic()), o->partition(), o->offset()});
  }
  return out;
}

}  // namespace tidemq::client
