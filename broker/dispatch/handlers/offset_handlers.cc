// Committed offsets: CommitOffsets and FetchOffsets. Ownership is checked on the strand (the
// coordinator is in memory) and again on the blocking pool inside the offset store's commit
// section, where the LevelDB work (the commit write, offset-for-time lookups) runs.
#include "broker/dispatch/handlers/group_wire.h"
#include "broker/dispatch/handlers/handlers.h"
#include "broker/dispatch/handlers/offset_positions.h"

namespace tidemq::broker::handlers {

namespace {

std::string str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

void reply_offsets(const Responder& responder, wire::Body type, const std::vector<OffsetOutcome>& out) {
  flatbuffers::FlatBufferBuilder fbb(128 + out.size() * 64);
  auto offsets = offsets_to_wire(fbb, out);
  flatbuffers::Offset<void> body = type == wire::Body::CommitOffsetsResponse
                                       ? wire::CreateCommitOffsetsResponse(fbb, offsets).Union()
                                       : wire::CreateFetchOffsetsResponse(fbb, offsets).Union();
  responder.reply(fbb, type, body);
}

}  // namespace

void commit_offsets(Services& s, Request& r) {
  const auto* req = r.envelope.body_as_CommitOffsetsRequest();
  std::string group = str(req->group());
  std::string member = str(req->member_id());
  auto client_id = s.groups.client_id(group, member);
  if (!client_id.is_ok()) {
    r.responder.fail(client_id.status());
    return;
  }
  struct Pending {
    std::vector<OffsetOutcome> out;
    std::vector<OffsetUpdate> updates;
    std::vector<size_t> update_index;  // out[] slot of each update
  };
  auto p = std::make_shared<Pending>();
  if (req->offsets() != nullptr) {
    for (const auto* o : *req->offsets()) {
      OffsetOutcome one{str(o->topic()), o->partition(), o->offset(), Status::ok(), true};
      auto topic = s.topics.find(one.topic);
      if (!topic) {
        one.status = Status(StatusCode::kTopicNotFound, "topic '" + one.topic + "' does not exist");
      } else if (one.partition >= topic->partitions) {
        one.status = Status(StatusCode::kInvalidPartition, "no partition " + std::to_string(one.partition));
      } else {
        one.status = s.groups.check_owner(group, member, req->generation(), {one.topic, one.partition});
        auto info = s.log.info(topic->topic_id, one.partition);
        if (one.status.is_ok() && info.is_ok() && one.offset > info->end_offset) {
          one.status = Status(StatusCode::kOffsetOutOfRange, "offset " + std::to_string(one.offset) +
                                                                 " is past the end " + std::to_string(info->end_offset));
        }
        if (one.status.is_ok()) {
          p->updates.push_back({topic->topic_id, one.partition, one.offset});
          p->update_index.push_back(p->out.size());
        }
      }
      p->out.push_back(std::move(one));
    }
  }
  std::string owner = offset_owner(s.group_configs.find_or_default(group), group, *client_id);
  auto store = [&s, p, owner, group, member, generation = req->generation()]() -> Status {
    if (p->updates.empty()) return Status::ok();
    // Ownership again, inside the store's commit section: an admin reset or a rebalance may
    // have fenced the member meanwhile, and a new owner's start offset (get_settled) is read
    // only after a commit admitted here is stored.
    auto stored = s.offsets.commit(owner, p->updates, [&](size_t i) {
      OffsetOutcome& one = p->out[p->update_index[i]];
      one.status = s.groups.check_owner(group, member, generation, {one.topic, one.partition});
      return one.status.is_ok();
    });
    if (!stored.is_ok()) return stored.status();
    for (size_t i = 0; i < p->update_index.size(); ++i) {
      OffsetOutcome& one = p->out[p->update_index[i]];
      if (one.status.is_ok()) one.offset = (*stored)[i];
    }
    return Status::ok();
  };
  if (s.config.unsafe_ack_before_sync) [[unlikely]] {  // the reliability suite's canary (T4c)
    // Acknowledged as asked, stored 200 ms later: a crash in that window loses acknowledged commits.
    reply_offsets(r.responder, wire::Body::CommitOffsetsResponse, p->out);
    store_later(s, [store] { (void)store(); });
    return;
  }
  asio::post(s.blocking, [p, store, responder = r.responder] {
    if (Status st = store(); !st.is_ok()) {
      responder.fail(st);
      return;
    }
    reply_offsets(responder, wire::Body::CommitOffsetsResponse, p->out);
  });
}

void fetch_offsets(Services& s, Request& r) {
  const auto* req = r.envelope.body_as_FetchOffsetsRequest();
  std::string group = str(req->group());
  auto client_id = s.groups.client_id(group, str(req->member_id()));
  if (!client_id.is_ok()) {
    r.responder.fail(client_id.status());
    return;
  }
  std::vector<TopicPartition> wanted;
  if (req->partitions() != nullptr) {
    for (const auto* a : *req->partitions()) {
      if (a->partitions() == nullptr) continue;
      for (uint32_t p : *a->partitions()) wanted.push_back({str(a->topic()), p});
    }
  }
  asio::post(s.blocking, [&s, group, client_id = *client_id, wanted, responder = r.responder] {
    GroupConfig config = s.group_configs.find_or_default(group);
    std::string owner = offset_owner(config, group, client_id);
    std::vector<OffsetOutcome> out;
    out.reserve(wanted.size());
    for (const auto& tp : wanted) {
      OffsetOutcome one{tp.topic, tp.partition, 0, Status::ok(), false};
      auto pos = start_position(s, owner, config.reset, tp);
      if (pos.is_ok()) {
        one.offset = pos->offset;
        one.committed = pos->committed;
      } else {
        one.status = pos.status();
      }
      out.push_back(std::move(one));
    }
    reply_offsets(responder, wire::Body::FetchOffsetsResponse, out);
  });
}

}  // namespace tidemq::broker::handlers
