// Group membership: JoinGroup, Heartbeat, LeaveGroup. The coordinator is in memory and never
// blocks, so these run on the session's strand.
#include "broker/delivery/group_filter.h"
#include "broker/dispatch/handlers/group_wire.h"
#include "broker/dispatch/handlers/handlers.h"
#include "broker/store/group_config_store.h"

namespace tidemq::broker::handlers {

namespace {

std::string str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

void reply_member(Request& r, const MemberView& m, bool join) {
  flatbuffers::FlatBufferBuilder fbb(256 + m.assignment.size() * 16);
  auto assignment = assignment_to_wire(fbb, m.assignment);
  if (join) {
    auto id = fbb.CreateString(m.member_id);
    auto body = wire::CreateJoinGroupResponse(fbb, id, m.generation, assignment,
                                              static_cast<uint32_t>(m.session_timeout_ms),
                                              static_cast<uint32_t>(m.heartbeat_interval_ms));
    r.responder.reply(fbb, wire::Body::JoinGroupResponse, body.Union());
  } else {
    auto body = wire::CreateHeartbeatResponse(fbb, m.generation, assignment);
    r.responder.reply(fbb, wire::Body::HeartbeatResponse, body.Union());
  }
}

}  // namespace

void join_group(Services& s, Request& r) {
  const auto* req = r.envelope.body_as_JoinGroupRequest();
  JoinRequest join;
  join.group = str(req->group());
  if (Status st = validate_group_name(join.group); !st.is_ok()) {
    r.responder.fail(st);
    return;
  }
  join.member_id = str(req->member_id());
  join.client_id = r.responder.session().client().client_id;
  join.remote = r.responder.session().remote();
  join.session_id = r.responder.session().id();
  join.session_timeout_ms = req->session_timeout_ms();
  if (req->subscriptions() != nullptr) {
    for (const auto* sub : *req->subscriptions()) {
      Subscription one;  // expression defaults to "*"
      one.topic = str(sub->topic());
      if (sub->expression() != nullptr && sub->expression()->size() > 0) one.expression = sub->expression()->str();
      if (Status st = validate_topic_name(one.topic, /*allow_reserved=*/true); !st.is_ok()) {
        r.responder.fail(st);
        return;
      }
      if (auto filter = TagFilter::parse(one.expression); !filter.is_ok()) {
        r.responder.fail(filter.status());
        return;
      }
      join.subscriptions.push_back(std::move(one));
    }
  }
  auto member = s.groups.join(join);
  if (!member.is_ok()) {
    r.responder.fail(member.status());
    return;
  }
  reply_member(r, *member, /*join=*/true);
}

void heartbeat(Services& s, Request& r) {
  const auto* req = r.envelope.body_as_HeartbeatRequest();
  auto member = s.groups.heartbeat(str(req->group()), str(req->member_id()));
  if (!member.is_ok()) {
    r.responder.fail(member.status());
    return;
  }
  reply_member(r, *member, /*join=*/false);
}

void leave_group(Services& s, Request& r) {
  const auto* req = r.envelope.body_as_LeaveGroupRequest();
  if (Status st = s.groups.leave(str(req->group()), str(req->member_id())); !st.is_ok()) {
    r.responder.fail(st);
    return;
  }
  flatbuffers::FlatBufferBuilder fbb(64);
  r.responder.reply(fbb, wire::Body::LeaveGroupResponse, wire::CreateLeaveGroupResponse(fbb).Union());
}

}  // namespace tidemq::broker::handlers
