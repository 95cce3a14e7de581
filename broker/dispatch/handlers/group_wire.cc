#include "broker/dispatch/handlers/group_wire.h"

#include "broker/dispatch/error_codes.h"
#include "broker/store/group_config_store.h"

namespace tidemq::broker::handlers {

flatbuffers::Offset<wire::GroupConfig> group_config_to_wire(flatbuffers::FlatBufferBuilder& fbb,
                                                            const GroupConfig& c) {
  std::vector<flatbuffers::Offset<wire::TopicRate>> rates;
  rates.reserve(c.topic_rates.size());
  for (const auto& r : c.topic_rates) {
    rates.push_back(wire::CreateTopicRate(fbb, fbb.CreateString(r.topic), r.max_msgs_per_sec, r.max_bytes_per_sec));
  }
  auto name = fbb.CreateString(c.name);
  auto policy = fbb.CreateString(format_reset_policy(c.reset));
  auto rates_vec = fbb.CreateVector(rates);
  auto retry = fbb.CreateString(c.retry_policy);
  return wire::CreateGroupConfig(fbb, name, static_cast<wire::AssignStrategy>(c.strategy),
                                 static_cast<wire::ConsumeMode>(c.mode), policy, c.max_msgs_per_sec,
                                 c.max_bytes_per_sec, c.burst_ms, rates_vec, retry, c.max_reconsume_times);
}

Result<GroupConfig> group_config_from_wire(const wire::GroupConfig& c) {
  if (c.name() == nullptr) return Status::invalid_argument("a group config needs a name");
  GroupConfig out;
  out.name = c.name()->str();
  if (c.strategy() > wire::AssignStrategy::MAX) return Status::invalid_argument("unknown assignment strategy");
  if (c.mode() > wire::ConsumeMode::MAX) return Status::invalid_argument("unknown consume mode");
  out.strategy = static_cast<AssignStrategy>(c.strategy());
  out.mode = static_cast<ConsumeMode>(c.mode());
  TIDEMQ_ASSIGN_OR_RETURN(out.reset, parse_reset_policy(c.reset_policy() ? c.reset_policy()->str() : ""));
  out.max_msgs_per_sec = c.max_msgs_per_sec();
  out.max_bytes_per_sec = c.max_bytes_per_sec();
  out.burst_ms = c.burst_ms();
  if (c.topic_rates()) {
    for (const auto* r : *c.topic_rates()) {
      if (r->topic() == nullptr) return Status::invalid_argument("a per-topic rate needs a topic");
      out.topic_rates.push_back({r->topic()->str(), r->max_msgs_per_sec(), r->max_bytes_per_sec()});
    }
  }
  out.retry_policy = c.retry_policy() ? c.retry_policy()->str() : "";
  out.max_reconsume_times = c.max_reconsume_times();
  return out;
}

flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<wire::TopicAssignment>>> assignment_to_wire(
    flatbuffers::FlatBufferBuilder& fbb, const std::vector<TopicPartition>& partitions) {
  std::vector<flatbuffers::Offset<wire::TopicAssignment>> out;
  size_t i = 0;
  while (i < partitions.size()) {
    size_t j = i;
    std::vector<uint32_t> ps;
    while (j < partitions.size() && partitions[j].topic == partitions[i].topic) ps.push_back(partitions[j++].partition);
    out.push_back(wire::CreateTopicAssignment(fbb, fbb.CreateString(partitions[i].topic), fbb.CreateVector(ps)));
    i = j;
  }
  return fbb.CreateVector(out);
}

flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<wire::Subscription>>> subscriptions_to_wire(
    flatbuffers::FlatBufferBuilder& fbb, const std::vector<Subscription>& subs) {
  std::vector<flatbuffers::Offset<wire::Subscription>> out;
  out.reserve(subs.size());
  for (const auto& s : subs) {
    out.push_back(wire::CreateSubscription(fbb, fbb.CreateString(s.topic), fbb.CreateString(s.expression)));
  }
  return fbb.CreateVector(out);
}

flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<wire::PartitionOffset>>> offsets_to_wire(
    flatbuffers::FlatBufferBuilder& fbb, const std::vector<OffsetOutcome>& offsets) {
  std::vector<flatbuffers::Offset<wire::PartitionOffset>> out;
  out.reserve(offsets.size());
  for (const auto& o : offsets) {
    auto topic = fbb.CreateString(o.topic);
    flatbuffers::Offset<flatbuffers::String> msg;
    if (!o.status.is_ok()) msg = fbb.CreateString(o.status.message());
    out.push_back(wire::CreatePartitionOffset(fbb, topic, o.partition, o.offset, to_wire(o.status.code()), msg,
                                              o.committed));
  }
  return fbb.CreateVector(out);
}

std::string offset_owner(const GroupConfig& config, const std::string& group, const std::string& client_id) {
  return config.mode == ConsumeMode::kBroadcasting ? group + "@" + client_id : group;
}

}  // namespace tidemq::broker::handlers
