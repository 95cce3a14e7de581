// Fetch: a long poll. Reads run on the blocking pool; when nothing is there yet the request
// waits (up to max_wait, clamped to 20 s) for an append to any partition it covers.
#include <algorithm>
#include <vector>

#include "broker/dispatch/error_codes.h"
#include "broker/dispatch/handlers/handlers.h"
#include "common/record_batch.h"

namespace tidemq::broker::handlers {

namespace {

constexpr uint32_t kMaxWaitMs = 20'000;
constexpr uint32_t kDefaultMaxBytes = 1 << 20;
constexpr uint32_t kMaxResponseBytes = 8u << 20;

struct PartitionWant {
  uint32_t partition;
  uint64_t offset;
  uint32_t max_bytes;
};

struct FetchCall : std::enable_shared_from_this<FetchCall> {
  FetchCall(Services& s, Responder r) : services(s), responder(std::move(r)) {}
  Services& services;
  Responder responder;
  TopicConfig topic;
  std::vector<PartitionWant> wants;
  uint32_t max_bytes = kDefaultMaxBytes;
  int64_t deadline_mono_ms = 0;

  // One read attempt on the blocking pool. Replies, or waits for an append and tries again.
  void attempt(bool may_wait) {
    struct Part {
      uint32_t partition;
      Status status;
      ReadResult read;
    };
    std::vector<Part> parts;
    parts.reserve(wants.size());
    size_t total = 0;
    bool any_data = false;
    for (const auto& w : wants) {
      Part p{w.partition, Status::ok(), {}};
      if (w.partition >= topic.partitions) {
        p.status = Status(StatusCode::kInvalidPartition, "partition " + std::to_string(w.partition) + " does not exist");
      } else if (total < max_bytes) {
        size_t budget = std::min<size_t>(w.max_bytes ? w.max_bytes : kDefaultMaxBytes, max_bytes - total);
        auto r = services.log.read(topic.topic_id, w.partition, w.offset, budget);
        if (r.is_ok()) {
          p.read = std::move(r).value();
          total += p.read.batches.size();
          any_data |= !p.read.batches.empty();
        } else {
          p.status = r.status();
        }
      } else if (auto info = services.log.info(topic.topic_id, w.partition); info.is_ok()) {
        p.read.start_offset = info->start_offset;
        p.read.end_offset = info->end_offset;
      }
      if (!p.status.is_ok()) any_data = true;  // errors are answered at once
      parts.push_back(std::move(p));
    }
    int64_t remaining = deadline_mono_ms - services.clock.monotonic_ms();
    if (!any_data && may_wait && remaining > 0) {
      wait(remaining);
      return;
    }
    flatbuffers::FlatBufferBuilder fbb(256 + total + parts.size() * 64);
    std::vector<flatbuffers::Offset<wire::FetchPartitionResult>> out;
    out.reserve(parts.size());
    uint64_t records_out = 0;
    for (const auto& p : parts) {
      flatbuffers::Offset<flatbuffers::String> msg;
      if (!p.status.is_ok()) msg = fbb.CreateString(p.status.message());
      auto recs = fbb.CreateVector(reinterpret_cast<const uint8_t*>(p.read.batches.data()), p.read.batches.size());
      out.push_back(wire::CreateFetchPartitionResult(fbb, p.partition, to_wire(p.status.code()), msg,
                                                     p.read.start_offset, p.read.end_offset, recs));
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
    auto body = wire::CreateFetchResponse(fbb, name, fbb.CreateVector(out));
    responder.reply(fbb, wire::Body::FetchResponse, body.Union());
  }

  void wait(int64_t remaining_ms) {
    std::vector<LongPoll::PartitionKey> keys;
    keys.reserve(wants.size());
    for (const auto& w : wants) keys.emplace_back(topic.topic_id, w.partition);
    auto self = shared_from_this();
    auto waiter = services.long_poll.wait(keys, std::chrono::milliseconds(remaining_ms),
                                          [self](bool timed_out) { self->attempt(!timed_out); });
    // An append that landed between the read and the registration would not wake us: look again.
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
  for (const auto* p : *req->partitions()) call->wants.push_back({p->partition(), p->offset(), p->max_bytes()});
  call->max_bytes = std::min(req->max_bytes() ? req->max_bytes() : kDefaultMaxBytes, kMaxResponseBytes);
  call->deadline_mono_ms = s.clock.monotonic_ms() + std::min(req->max_wait_ms(), kMaxWaitMs);
  asio::post(s.blocking, [call] { call->attempt(true); });
}

}  // namespace tidemq::broker::handlers
