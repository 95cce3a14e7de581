// Group admin (mqadmin updateSubGroup, deleteSubGroup, groupList, consumerConnection,
// consumerProgress, resetOffsetByTime, skipAccumulatedMessage). Writes run on the blocking pool.
#include <algorithm>
#include <charconv>
#include <set>

#include "broker/dispatch/handlers/group_wire.h"
#include "broker/dispatch/handlers/handlers.h"
#include "broker/dispatch/handlers/offset_positions.h"

namespace tidemq::broker::handlers {

namespace {

std::string str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

Status group_not_found(const std::string& group) {
  return Status(StatusCode::kGroupNotFound, "consumer group '" + group + "' does not exist");
}

// A group exists when it has a config, members, or committed offsets.
bool group_exists(Services& s, const std::string& group) {
  return s.group_configs.find(group).has_value() || s.groups.has_members(group) || !s.offsets.list(group).empty();
}

// "earliest" | "latest" | "now" | unix ms.
Result<ResetPolicy> parse_target(const std::string& target, int64_t now_ms) {
  if (target == "earliest") return ResetPolicy{ResetPolicy::Kind::kEarliest, 0};
  if (target == "latest") return ResetPolicy{ResetPolicy::Kind::kLatest, 0};
  if (target == "now") return ResetPolicy{ResetPolicy::Kind::kTimestamp, now_ms};
  int64_t ms = 0;
  auto [end, ec] = std::from_chars(target.data(), target.data() + target.size(), ms);
  if (ec != std::errc() || end != target.data() + target.size() || ms < 0) {
    return Status::invalid_argument("reset target must be earliest, latest, now or a unix time in ms, not '" +
                                    target + "'");
  }
  return ResetPolicy{ResetPolicy::Kind::kTimestamp, ms};
}

}  // namespace

void update_group(Services& s, Request& r) {
  const auto* req = r.envelope.body_as_UpdateGroupRequest();
  if (req->config() == nullptr) {
    r.responder.fail(Status::invalid_argument("update group needs a config"));
    return;
  }
  auto config = group_config_from_wire(*req->config());
  if (!config.is_ok()) {
    r.responder.fail(config.status());
    return;
  }
  asio::post(s.blocking, [&s, config = *config, responder = r.responder] {
    auto created = s.group_configs.upsert(config);
    if (!created.is_ok()) {
      responder.fail(created.status());
      return;
    }
    GroupConfig stored = s.group_configs.find_or_default(config.name);
    s.rate_limiters.configure(stored);
    s.groups.settings_changed(stored.name);
    flatbuffers::FlatBufferBuilder fbb(256);
    auto body = wire::CreateUpdateGroupResponse(fbb, group_config_to_wire(fbb, stored), *created);
    responder.reply(fbb, wire::Body::UpdateGroupResponse, body.Union());
  });
}

void delete_group(Services& s, Request& r) {
  std::string group = str(r.envelope.body_as_DeleteGroupRequest()->name());
  if (s.groups.has_members(group)) {
    r.responder.fail(Status::invalid_argument("consumer group '" + group +
                                              "' has members online; stop its consumers first"));
    return;
  }
  asio::post(s.blocking, [&s, group, responder = r.responder] {
    if (!group_exists(s, group)) {
      responder.fail(group_not_found(group));
      return;
    }
    if (s.group_configs.find(group)) {
      if (Status st = s.group_configs.remove(group); !st.is_ok()) {
        responder.fail(st);
        return;
      }
    }
    // The group's offsets, and those of its broadcasting members ("group@client").
    for (const auto& owner : s.offsets.groups()) {
      if (owner != group && owner.rfind(group + "@", 0) != 0) continue;
      if (Status st = s.offsets.remove_group(owner); !st.is_ok()) {
        responder.fail(st);
        return;
      }
    }
    s.rate_limiters.remove(group);
    flatbuffers::FlatBufferBuilder fbb(64);
    responder.reply(fbb, wire::Body::DeleteGroupResponse, wire::CreateDeleteGroupResponse(fbb).Union());
  });
}

void list_groups(Services& s, Request& r) {
  // Configured groups, plus groups known only by their members or offsets (with default settings).
  std::set<std::string> names;
  for (const auto& c : s.group_configs.list()) names.insert(c.name);
  for (const auto& g : s.groups.groups()) names.insert(g);
  for (const auto& g : s.offsets.groups()) names.insert(g.substr(0, g.find('@')));
  flatbuffers::FlatBufferBuilder fbb(256 + names.size() * 96);
  std::vector<flatbuffers::Offset<wire::GroupConfig>> out;
  for (const auto& n : names) out.push_back(group_config_to_wire(fbb, s.group_configs.find_or_default(n)));
  auto body = wire::CreateListGroupsResponse(fbb, fbb.CreateVector(out));
  r.responder.reply(fbb, wire::Body::ListGroupsResponse, body.Union());
}

void describe_group(Services& s, Request& r) {
  std::string group = str(r.envelope.body_as_DescribeGroupRequest()->name());
  if (!group_exists(s, group)) {
    r.responder.fail(group_not_found(group));
    return;
  }
  auto desc = s.groups.describe(group).value_or(GroupDescription{});
  flatbuffers::FlatBufferBuilder fbb(512 + desc.members.size() * 256);
  std::vector<flatbuffers::Offset<wire::GroupMember>> members;
  for (const auto& m : desc.members) {
    auto id = fbb.CreateString(m.member_id);
    auto client = fbb.CreateString(m.client_id);
    auto remote = fbb.CreateString(m.remote);
    auto subs = subscriptions_to_wire(fbb, m.subscriptions);
    auto assignment = assignment_to_wire(fbb, m.assignment);
    members.push_back(wire::CreateGroupMember(fbb, id, client, remote, subs, assignment,
                                              static_cast<uint64_t>(m.last_heartbeat_age_ms)));
  }
  auto config = group_config_to_wire(fbb, s.group_configs.find_or_default(group));
  auto body = wire::CreateDescribeGroupResponse(fbb, config, desc.generation, fbb.CreateVector(members));
  r.responder.reply(fbb, wire::Body::DescribeGroupResponse, body.Union());
}

void consumer_progress(Services& s, Request& r) {
  std::string group = str(r.envelope.body_as_ConsumerProgressRequest()->group());
  if (!group_exists(s, group)) {
    r.responder.fail(group_not_found(group));
    return;
  }
  auto desc = s.groups.describe(group).value_or(GroupDescription{});
  auto committed = s.offsets.list(group);
  // Topics: those the members subscribe to and those with committed offsets.
  std::set<std::string> topics;
  for (const auto& m : desc.members) {
    for (const auto& sub : m.subscriptions) topics.insert(sub.topic);
  }
  for (const auto& [key, off] : committed) {
    if (auto t = s.topics.find_by_id(key.first)) topics.insert(t->name);
  }
  std::map<std::string, const MemberDescription*> by_id;
  for (const auto& m : desc.members) by_id[m.member_id] = &m;
  flatbuffers::FlatBufferBuilder fbb(1024);
  std::vector<flatbuffers::Offset<wire::PartitionProgress>> out;
  for (const auto& name : topics) {
    auto topic = s.topics.find(name);
    if (!topic) continue;
    for (uint32_t p = 0; p < topic->partitions; ++p) {
      auto info = s.log.info(topic->topic_id, p);
      PartitionInfo i = info.is_ok() ? *info : PartitionInfo{};
      auto c = committed.find({topic->topic_id, p});
      int64_t commit = c == committed.end() ? -1 : static_cast<int64_t>(c->second.offset);
      uint64_t from = commit < 0 ? i.start_offset : std::clamp<uint64_t>(commit, i.start_offset, i.end_offset);
      std::string owner, owner_client;
      if (auto o = desc.owners.find({name, p}); o != desc.owners.end()) {
        owner = o->second;
        if (auto m = by_id.find(owner); m != by_id.end()) owner_client = m->second->client_id;
      }
      auto t = fbb.CreateString(name);
      auto o = fbb.CreateString(owner);
      auto oc = fbb.CreateString(owner_client);
      out.push_back(wire::CreatePartitionProgress(
          fbb, t, p, i.start_offset, i.end_offset, commit, i.end_offset - from, o, oc,
          c == committed.end() ? 0 : static_cast<uint64_t>(c->second.commit_ms)));
    }
  }
  uint64_t dlq_messages = 0, retry_scheduled = 0;
  if (auto dlq = s.topics.find(RetryService::dlq_topic(group))) {
    if (auto i = s.log.info(dlq->topic_id, 0); i.is_ok()) dlq_messages = i->end_offset - i->start_offset;
  }
  if (auto retry = s.topics.find(RetryService::retry_topic(group))) retry_scheduled = s.delays.backlog(retry->topic_id);
  auto g = fbb.CreateString(group);
  auto body = wire::CreateConsumerProgressResponse(fbb, g, fbb.CreateVector(out), retry_scheduled, dlq_messages);
  r.responder.reply(fbb, wire::Body::ConsumerProgressResponse, body.Union());
}

void reset_offsets(Services& s, Request& r) {
  const auto* req = r.envelope.body_as_ResetOffsetsRequest();
  std::string group = str(req->group());
  if (Status st = validate_group_name(group); !st.is_ok()) {
    r.responder.fail(st);
    return;
  }
  auto topic = s.topics.find(str(req->topic()));
  if (!topic) {
    r.responder.fail(Status(StatusCode::kTopicNotFound, "topic '" + str(req->topic()) + "' does not exist"));
    return;
  }
  auto target = parse_target(str(req->target()), s.clock.now_ms());
  if (!target.is_ok()) {
    r.responder.fail(target.status());
    return;
  }
  asio::post(s.blocking, [&s, group, topic = *topic, policy = *target, responder = r.responder] {
    std::vector<OffsetUpdate> updates;
    std::vector<OffsetOutcome> out;
    for (uint32_t p = 0; p < topic.partitions; ++p) {
      auto at = policy_offset(s, topic, p, policy);
      if (!at.is_ok()) {
        responder.fail(at.status());
        return;
      }
      updates.push_back({topic.topic_id, p, *at});
      out.push_back({topic.name, p, *at, Status::ok(), true});
    }
    // Fence first: the owners' commits checked from here on are refused (a commit checked just
    // before is re-checked right before its write, see offset_handlers.cc).
    s.groups.reset_offsets(group, topic.name);
    if (Status st = s.offsets.reset(group, updates); !st.is_ok()) {
      responder.fail(st);
      return;
    }
    flatbuffers::FlatBufferBuilder fbb(256 + out.size() * 48);
    auto offsets = offsets_to_wire(fbb, out);
    responder.reply(fbb, wire::Body::ResetOffsetsResponse, wire::CreateResetOffsetsResponse(fbb, offsets).Union());
  });
}

}  // namespace tidemq::broker::handlers
