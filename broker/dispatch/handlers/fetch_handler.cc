// Fetch: a long poll. Reads run on the blocking pool; when nothing is there yet the request
// waits (up to max_wait, clamped to 20 s) for an append to any partition it covers.
//
// A group fetch (group set) also: checks that the member owns each partition (continuously since
// its generation), filters records by the member's subscription expression, caps the records by
// the group's token bucket (peak shaving: waits for tokens within max_wait), answers at once when
// the group's generation moved (so the member learns about a rebalance), and tells the member
// where to fetch next (next_offset).
#include <algorithm>
#include <atomic>
#include <optional>
#include <vector>

#include "broker/delivery/group_filter.h"
#include "broker/dispatch/error_codes.h"
#include "broker/dispatch/handlers/handlers.h"
#include "common/record_batch.h"

namespace tidemq::broker::handlers {

namespace {

constexpr uint32_t kMaxWaitMs = 20'000;
constexpr uint32_t kDefaultMaxBytes = 1 << 20;
constexpr uint32_t kMaxResponseBytes = 8u << 20;
// A group fetch whose records were all filtered out reads on, at most this many times per attempt.
constexpr int kMaxFilteredReads = 16;

struct PartitionWant {
  uint32_t partition;
  uint64_t offset;
  uint32_t max_bytes;
};

struct GroupPart {
  std::string group;
  std::string member;
  uint32_t generation = 0;
  TagFilter filter;
  std::shared_ptr<TokenBucket> bucket;  // nullptr: no rate limit
};

// Rotates the first partition served, so a rate cap does not starve the last partitions.
std::atomic<uint32_t> rotation{0};

struct FetchCall : std::enable_shared_from_this<FetchCall> {
  FetchCall(Services& s, Responder r) : services(s), responder(std::move(r)) {}
  Services& services;
  Responder responder;
  TopicConfig topic;
  std::vector<PartitionWant> wants;
  uint32_t max_bytes = kDefaultMaxBytes;
  size_t byte_limit = kDefaultMaxBytes;  // this attempt's: max_bytes, or less under a bytes/s limit
  int64_t deadline_mono_ms = 0;
  std::optional<GroupPart> group;

  struct Part {
    uint32_t partition = 0;
    Status status;
    ReadResult read;
    uint64_t next_offset = 0;
    uint64_t records = 0;
  };

  // One read attempt on the blocking pool. Replies, or waits for an append (or for tokens) and
  // tries again.
  void attempt(bool may_wait) {
    if (responder.session().closed()) {  // cut (e.g. a peer that never reads): nobody to read for
      responder.fail(Status::unavailable("connection closed"));  // only ends the request
      return;
    }
    int64_t now = services.clock.monotonic_ms();
    int64_t remaining = deadline_mono_ms - now;
    bool generation_moved = false;
    uint64_t cap = UINT64_MAX;
    byte_limit = max_bytes;
    if (group) {
      if (Status st = services.groups.touch(group->group, group->member); !st.is_ok()) {
        responder.fail(st);
        return;
      }
      generation_moved = services.groups.generation(group->group) != group->generation;
      if (group->bucket) {
        cap = group->bucket->available(UINT64_MAX, now);
        byte_limit = std::min<uint64_t>(byte_limit, std::max<uint64_t>(group->bucket->available_bytes(now), 1));
        if (cap == 0 && !generation_moved && may_wait && remaining > 0) {
          wait(std::min(group->bucket->wait_ms(now), remaining), /*for_data=*/false);
          return;
        }
      }
    }
    std::vector<Part> parts(wants.size());
    size_t total = 0;
    bool answer_now = generation_moved;
    uint64_t delivered = 0, delivered_bytes = 0;
    for (int round = 0;; ++round) {
      bool progressed = false;
      uint32_t first = group ? rotation.fetch_add(1, std::memory_order_relaxed) : 0;
      for (size_t k = 0; k < wants.size(); ++k) {
        size_t idx = (first + k) % wants.size();
        PartitionWant& w = wants[idx];
        Part& p = parts[idx];
        p.partition = w.partition;
        if (!p.status.is_ok()) continue;
        read_one(w, p, total, cap);
        if (!p.status.is_ok()) {
          answer_now = true;  // errors are answered at once
          continue;
        }
        if (p.records > 0 || (!group && !p.read.batches.empty())) answer_now = true;
        if (group) {
          cap -= std::min(cap, p.records);
          delivered += p.records;
          progressed |= p.next_offset > w.offset;
        }
      }
      // Everything read so far was filtered out: read on from where the filter stopped.
      if (answer_now || !progressed || round + 1 >= kMaxFilteredReads) break;
      for (size_t i = 0; i < wants.size(); ++i) {
        if (parts[i].status.is_ok()) wants[i].offset = parts[i].next_offset;
      }
    }
    if (group && group->bucket && delivered > 0) {
      for (const auto& p : parts) delivered_bytes += p.read.batches.size();
      group->bucket->charge(delivered, delivered_bytes, now);
    }
    if (!answer_now && may_wait && remaining > 0) {
      wait(remaining, /*for_data=*/true);
      return;
    }
    reply(parts, total);
  }

  // Reads one partition into `p` (for a group: shaped by filter and cap).
  void read_one(const PartitionWant& w, Part& p, size_t& total, uint64_t cap) {
    p.next_offset = w.offset;
    p.records = 0;
    p.read = {};
    if (w.partition >= topic.partitions) {
      p.status = Status(StatusCode::kInvalidPartition, "partition " + std::to_string(w.partition) + " does not exist");
      return;
    }
    if (group) {
      p.status = services.groups.check_owner(group->group, group->member, group->generation,
                                             {topic.name, w.partition});
      if (!p.status.is_ok()) return;
    }
    if (total >= byte_limit || cap == 0) {
      if (auto info = services.log.info(topic.topic_id, w.partition); info.is_ok()) {
        p.read.start_offset = info->start_offset;
        p.read.end_offset = info->end_offset;
      }
      return;
    }
    size_t budget = std::min<size_t>(w.max_bytes ? w.max_bytes : kDefaultMaxBytes, byte_limit - total);
    auto r = services.log.read(topic.topic_id, w.partition, w.offset, budget);
    if (!r.is_ok()) {
      p.status = r.status();
      return;
    }
    p.read = std::move(r).value();
    if (group) {
      auto shaped = shape_batches(p.read.batches, w.offset, group->filter, cap);
      if (!shaped.is_ok()) {
        p.status = shaped.status();
        return;
      }
      p.read.batches = std::move(shaped->batches);
      p.next_offset = shaped->next_offset;
      p.records = shaped->records;
    }
    total += p.read.batches.size();
  }

  void reply(const std::vector<Part>& parts, size_t total) {
    flatbuffers::FlatBufferBuilder fbb(256 + total + parts.size() * 64);
    std::vector<flatbuffers::Offset<wire::FetchPartitionResult>> out;
    out.reserve(parts.size());
    uint64_t records_out = 0;
    for (const auto& p : parts) {
      flatbuffers::Offset<flatbuffers::String> msg;
      if (!p.status.is_ok()) msg = fbb.CreateString(p.status.message());
      auto recs = fbb.CreateVector(reinterpret_cast<const uint8_t*>(p.read.batches.data()), p.read.batches.size());
      out.push_back(wire::CreateFetchPartitionResult(fbb, p.partition, to_wire(p.status.code()), msg,
                                                     p.read.start_offset, p.read.end_offset, recs,
                                                     group ? p.next_offset : 0));
      if (group) {
        records_out += p.records;
        continue;
      }
      std::string_view rest = p.read.batches;
      while (!rest.empty()) {  // headers only: cheap
        auto h = record::parse_header(rest);
        if (!h.is_ok() || h->batch_len > rest.size()) break;
        records_out += h->record_count;
        rest.remove_prefix(h->batch_len);
      }
    }
    services.metrics.messages_out.fetch_add(records_out, std::memory_order_relaxed);
    services.metrics.bytes_out.fetch_add(total, std::memory_order_relaxed);
    auto name = fbb.CreateString(topic.name);
    uint32_t generation = group ? services.groups.generation(group->group) : 0;
    auto body = wire::CreateFetchResponse(fbb, name, fbb.CreateVector(out), generation);
    responder.reply(fbb, wire::Body::FetchResponse, body.Union());
  }

  // Waits for an append to a covered partition (for_data) or just for `ms` (tokens); a group
  // fetch is also woken by a new generation.
  void wait(int64_t ms, bool for_data) {
    std::vector<LongPoll::PartitionKey> keys;
    if (for_data) {
      for (const auto& w : wants) keys.emplace_back(topic.topic_id, w.partition);
    }
    if (group) keys.push_back(LongPoll::group_key(group->group));
    auto self = shared_from_this();
    auto waiter = services.long_poll.wait(keys, std::chrono::milliseconds(ms), [self, for_data](bool timed_out) {
      self->attempt(!for_data || !timed_out);  // a token wait tries again until the deadline
    });
    // An append (or rebalance) that landed between the read and the registration would not wake
    // us: look again.
    if (group && services.groups.generation(group->group) != group->generation) {
      services.long_poll.wake(waiter);
      return;
    }
    if (!for_data) return;
    for (const auto& w : wants) {
      auto info = services.log.info(topic.topic_id, w.partition);
      if (info.is_ok() && info->end_offset > w.offset) {
        services.long_poll.wake(waiter);
        break;
      }
    }
  }
};

}  // namespace

void fetch(Services& s, Request& r) {
  s.metrics.fetch_requests.fetch_add(1, std::memory_order_relaxed);
  const auto* req = r.envelope.body_as_FetchRequest();
  if (req->topic() == nullptr || req->partitions() == nullptr || req->partitions()->size() == 0) {
    r.responder.fail(Status::invalid_argument("fetch needs a topic and at least one partition"));
    return;
  }
  auto topic = s.topics.find(req->topic()->str());
  if (!topic) {
    r.responder.fail(Status(StatusCode::kTopicNotFound, "topic '" + req->topic()->str() + "' does not exist"));
    return;
  }
  auto call = std::make_shared<FetchCall>(s, r.responder);
  call->topic = *topic;
  if (req->group() != nullptr && req->group()->size() > 0) {
    GroupPart g;
    g.group = req->group()->str();
    g.member = req->member_id() ? req->member_id()->str() : std::string();
    g.generation = req->generation();
    auto expression = s.groups.expression(g.group, g.member, topic->name);
    if (!expression.is_ok()) {
      r.responder.fail(expression.status());
      return;
    }
    auto filter = TagFilter::parse(*expression);
    if (!filter.is_ok()) {
      r.responder.fail(filter.status());
      return;
    }
    g.filter = std::move(filter).value();
    g.bucket = s.rate_limiters.find(g.group, topic->name);
    call->group = std::move(g);
  }
  for (const auto* p : *req->partitions()) call->wants.push_back({p->partition(), p->offset(), p->max_bytes()});
  call->max_bytes = std::min(req->max_bytes() ? req->max_bytes() : kDefaultMaxBytes, kMaxResponseBytes);
  call->deadline_mono_ms = s.clock.monotonic_ms() + std::min(req->max_wait_ms(), kMaxWaitMs);
  asio::post(s.blocking, [call] { call->attempt(true); });
}

}  // namespace tidemq::broker::handlers
