#include "client/group_requests.h"

#include <algorithm>
#include <map>

#include "client/decode.h"
#include "client/retry_requests.h"
#include "client/wire_status.h"
#include "common/record_batch.h"

namespace tidemq::client {

namespace {

constexpr int64_t kMaxWaitMs = 20000;  // the broker clamps long polls to this

std::string str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

std::vector<TopicPartition> to_partitions(
    const flatbuffers::Vector<flatbuffers::Offset<wire::TopicAssignment>>* assignment) {
  std::vector<TopicPartition> out;
  if (!assignment) return out;
  for (const auto* ta : *assignment) {
    if (!ta->partitions()) continue;
    for (uint32_t p : *ta->partitions()) out.push_back(TopicPartition{str(ta->topic()), p});
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<wire::TopicAssignment>>> build_assignment(
    flatbuffers::FlatBufferBuilder& fbb, const std::vector<TopicPartition>& partitions) {
  std::map<std::string, std::vector<uint32_t>> by_topic;
  for (const auto& tp : partitions) by_topic[tp.topic].push_back(tp.partition);
  std::vector<flatbuffers::Offset<wire::TopicAssignment>> out;
  for (const auto& [topic, parts] : by_topic)
    out.push_back(wire::CreateTopicAssignmentDirect(fbb, topic.c_str(), &parts));
  return fbb.CreateVector(out);
}

std::vector<PartitionOffsetResult> to_offsets(
    const flatbuffers::Vector<flatbuffers::Offset<wire::PartitionOffset>>* offsets) {
  std::vector<PartitionOffsetResult> out;
  if (!offsets) return out;
  for (const auto* po : *offsets) {
    PartitionOffsetResult r;
    r.tp = TopicPartition{str(po->topic()), po->partition()};
    r.offset = po->offset();
    r.committed = po->committed();
    r.status = status_from_wire(po->error(), po->error_message());
    out.push_back(std::move(r));
  }
  return out;
}

Status wrong_body(const Frame& f, const char* expected) {
  return Status::protocol(std::string("expected ") + expected + ", got " +
                          wire::EnumNameBody(f.envelope().body_type()));
}

}  // namespace

Result<MemberAssignment> join_group(Connection& conn, const std::string& group, const std::string& member_id,
                                    const std::vector<GroupSubscription>& subscriptions,
                                    std::chrono::milliseconds session_timeout) {
  flatbuffers::FlatBufferBuilder fbb(256);
  std::vector<flatbuffers::Offset<wire::Subscription>> subs;
  for (const auto& s : subscriptions) {
    subs.push_back(wire::CreateSubscriptionDirect(fbb, s.topic.c_str(), s.expression.c_str()));
  }
  auto req = wire::CreateJoinGroupRequestDirect(fbb, group.c_str(), member_id.c_str(), &subs,
                                                static_cast<uint32_t>(std::max<int64_t>(0, session_timeout.count())));
  auto r = conn.call(fbb, wire::Body::JoinGroupRequest, req.Union());
  if (!r.is_ok()) return r.status();
  const auto* resp = r->envelope().body_as_JoinGroupResponse();
  if (!resp) return wrong_body(*r, "JoinGroupResponse");
  MemberAssignment a;
  a.member_id = str(resp->member_id());
  if (a.member_id.empty()) return Status::protocol("JoinGroupResponse without a member id");
  a.generation = resp->generation();
  a.partitions = to_partitions(resp->assignment());
  a.session_timeout_ms = resp->session_timeout_ms();
  a.heartbeat_interval_ms = resp->heartbeat_interval_ms();
  return a;
}

Result<MemberAssignment> heartbeat(Connection& conn, const std::string& group, const std::string& member_id,
                                   uint32_t generation) {
  flatbuffers::FlatBufferBuilder fbb(128);
  auto req = wire::CreateHeartbeatRequestDirect(fbb, group.c_str(), member_id.c_str(), generation);
  auto r = conn.call(fbb, wire::Body::HeartbeatRequest, req.Union());
  if (!r.is_ok()) return r.status();
  const auto* resp = r->envelope().body_as_HeartbeatResponse();
  if (!resp) return wrong_body(*r, "HeartbeatResponse");
  MemberAssignment a;
  a.member_id = member_id;
  a.generation = resp->generation();
  a.partitions = to_partitions(resp->assignment());
  return a;
}

Status leave_group(Connection& conn, const std::string& group, const std::string& member_id,
                   std::chrono::milliseconds timeout) {
  flatbuffers::FlatBufferBuilder fbb(128);
  auto req = wire::CreateLeaveGroupRequestDirect(fbb, group.c_str(), member_id.c_str());
  auto r = conn.call(fbb, wire::Body::LeaveGroupRequest, req.Union(), timeout);
  if (!r.is_ok()) return r.status();
  if (!r->envelope().body_as_LeaveGroupResponse()) return wrong_body(*r, "LeaveGroupResponse");
  return Status::ok();
}

Result<std::vector<PartitionOffsetResult>> fetch_offsets(Connection& conn, const std::string& group,
                                                         const std::string& member_id,
                                                         const std::vector<TopicPartition>& partitions) {
  flatbuffers::FlatBufferBuilder fbb(256 + 16 * partitions.size());
  auto assignment = build_assignment(fbb, partitions);
  auto req = wire::CreateFetchOffsetsRequest(fbb, fbb.CreateString(group), fbb.CreateString(member_id), assignment);
  auto r = conn.call(fbb, wire::Body::FetchOffsetsRequest, req.Union());
  if (!r.is_ok()) return r.status();
  const auto* resp = r->envelope().body_as_FetchOffsetsResponse();
  if (!resp) return wrong_body(*r, "FetchOffsetsResponse");
  return to_offsets(resp->offsets());
}

void commit_offsets(Connection& conn, const std::string& group, const std::string& member_id, const CommitPlan& plan,
                    std::function<void(Result<std::vector<PartitionOffsetResult>>)> done) {
  flatbuffers::FlatBufferBuilder fbb(256 + 48 * plan.items.size());
  std::vector<flatbuffers::Offset<wire::PartitionOffset>> offsets;
  offsets.reserve(plan.items.size());
  for (const auto& item : plan.items) {
    offsets.push_back(wire::CreatePartitionOffsetDirect(fbb, item.tp.topic.c_str(), item.tp.partition, item.offset));
  }
  auto req = wire::CreateCommitOffsetsRequestDirect(fbb, group.c_str(), member_id.c_str(), plan.generation, &offsets);
  std::vector<TopicPartition> asked;
  asked.reserve(plan.items.size());
  for (const auto& item : plan.items) asked.push_back(item.tp);
  conn.send(fbb, wire::Body::CommitOffsetsRequest, req.Union(),
            [done = std::move(done), asked = std::move(asked)](Result<Frame> r) {
              if (!r.is_ok()) return done(r.status());
              const auto* resp = r->envelope().body_as_CommitOffsetsResponse();
              if (!resp) return done(wrong_body(*r, "CommitOffsetsResponse"));
              auto answered = to_offsets(resp->offsets());
              std::vector<PartitionOffsetResult> out;
              out.reserve(asked.size());
              for (const auto& tp : asked) {
                auto it = std::find_if(answered.begin(), answered.end(),
                                       [&](const PartitionOffsetResult& a) { return a.tp == tp; });
                if (it != answered.end()) {
                  out.push_back(*it);
                } else {
                  out.push_back(PartitionOffsetResult{tp, 0, false, Status::protocol("commit not answered")});
                }
              }
              done(std::move(out));
            });
}

void send_group_fetch(Connection& conn, const std::string& group, const std::string& member_id, const FetchPlan& plan,
                      const FetchLimits& limits, std::function<void(Result<Frame>)> done) {
  const int64_t wait_ms = std::clamp<int64_t>(limits.max_wait.count(), 0, kMaxWaitMs);
  flatbuffers::FlatBufferBuilder fbb(256 + 32 * plan.items.size());
  std::vector<flatbuffers::Offset<wire::FetchPartition>> parts;
  parts.reserve(plan.items.size());
  for (const auto& item : plan.items) {
    parts.push_back(wire::CreateFetchPartition(fbb, item.partition, item.offset, limits.max_bytes_per_partition));
  }
  auto req = wire::CreateFetchRequestDirect(fbb, plan.topic.c_str(), &parts, static_cast<uint32_t>(wait_ms),
                                            limits.max_bytes, group.c_str(), member_id.c_str(), plan.generation);
  auto timeout = std::chrono::milliseconds(wait_ms) + conn.options().client.request_timeout;
  conn.send(fbb, wire::Body::FetchRequest, req.Union(), std::move(done), timeout);
}

Result<GroupFetchResult> decode_group_fetch(const Frame& frame, const FetchPlan& plan) {
  const auto* resp = frame.envelope().body_as_FetchResponse();
  if (!resp) return wrong_body(frame, "FetchResponse");
  GroupFetchResult out;
  out.generation = resp->generation();
  const bool retry_topic = is_retry_topic(plan.topic);
  if (!resp->partitions()) return out;
  for (const auto* pr : *resp->partitions()) {
    auto it = std::find_if(plan.items.begin(), plan.items.end(),
                           [&](const FetchItem& i) { return i.partition == pr->partition(); });
    if (it == plan.items.end()) continue;  // not asked for
    FetchedPartition fp;
    fp.partition = pr->partition();
    fp.status = status_from_wire(pr->error(), pr->error_message());
    const uint64_t from = it->offset;
    uint64_t next = from;
    if (fp.status.is_ok() && pr->records() && pr->records()->size() > 0) {
      std::string_view bytes(reinterpret_cast<const char*>(pr->records()->data()), pr->records()->size());
      Status st = record::for_each_record_in_batches(bytes, [&](const record::RecordView& rv) {
        if (rv.offset < from) return;
        fp.messages.push_back(message_from_record(rv, plan.topic, fp.partition));
        if (retry_topic) restore_origin_topic(fp.messages.back(), plan.topic);
        next = rv.offset + 1;
      });
      if (!st.is_ok()) {
        fp.status = Status(StatusCode::kCorruptMessage, "fetched records do not parse: " + st.message());
        fp.messages.clear();
        next = from;
      }
    }
    // next_offset covers records the broker skipped (tag filter); it never goes below what we got.
    if (fp.status.is_ok()) next = std::max(next, pr->next_offset());
    fp.next_offset = next;
    out.partitions.push_back(std::move(fp));
  }
  return out;
}

}  // namespace tidemq::client
