// QueryMessage: one message by (topic, partition, offset), or by id. An id lookup uses the
// snowflake's time bits: it searches each partition from the first batch stored a minute before
// the id's time to a minute after it, so no per-message index is written on the hot path.
#include <vector>

#include "broker/dispatch/handlers/handlers.h"
#include "broker/dispatch/message_view.h"
#include "common/record_batch.h"
#include "common/snowflake.h"

namespace tidemq::broker::handlers {

namespace {

constexpr int64_t kIdWindowMs = 60'000;
constexpr size_t kScanBytesPerPartition = 64u << 20;

struct Found {
  std::string topic;
  uint32_t partition;
  std::string batch;  // owns the bytes `offset` points into
  uint64_t offset;
};

// The stored batch holding `offset`, cut to that one batch.
Result<Found> by_offset(Services& s, const TopicConfig& t, uint32_t partition, uint64_t offset) {
  if (partition >= t.partitions) return Status(StatusCode::kInvalidPartition, "no partition " + std::to_string(partition));
  auto r = s.log.read(t.topic_id, partition, offset, 1);
  if (!r.is_ok()) return r.status();
  auto h = record::parse_header(r->batches);
  if (!h.is_ok() || offset < h->base_offset || offset >= h->base_offset + h->record_count) {
    return Status::not_found("no message at offset " + std::to_string(offset) + " (end offset " +
                             std::to_string(r->end_offset) + ")");
  }
  return Found{t.name, partition, r->batches.substr(0, h->batch_len), offset};
}

void by_id(Services& s, const TopicConfig& t, uint64_t id, std::vector<Found>& out) {
  int64_t at = SnowflakeGenerator::decode(id).unix_ms;
  for (uint32_t p = 0; p < t.partitions; ++p) {
    auto from = s.log.offset_for_time(t.topic_id, p, at - kIdWindowMs);
    if (!from.is_ok()) continue;
    uint64_t offset = *from;
    size_t scanned = 0;
    bool past_window = false;
    while (!past_window && scanned < kScanBytesPerPartition) {
      auto r = s.log.read(t.topic_id, p, offset, 1 << 20);
      if (!r.is_ok() || r->batches.empty()) break;
      scanned += r->batches.size();
      std::string_view rest = r->batches;
      while (!rest.empty()) {
        auto h = record::parse_header(rest);
        if (!h.is_ok() || h->batch_len > rest.size()) break;
        std::string_view batch = rest.substr(0, h->batch_len);
        if (static_cast<int64_t>(h->store_ms) > at + kIdWindowMs) past_window = true;
        (void)record::for_each_record(batch, [&](const record::RecordView& rec) {
          if (rec.id == id) out.push_back(Found{t.name, p, std::string(batch), rec.offset});
        });
        offset = h->base_offset + h->record_count;
        rest.remove_prefix(h->batch_len);
      }
    }
  }
}

}  // namespace

void query_message(Services& s, Request& r) {
  const auto* req = r.envelope.body_as_QueryMessageRequest();
  std::string topic = req->topic() ? req->topic()->str() : "";
  uint32_t partition = req->partition();
  uint64_t offset = req->offset();
  uint64_t id = req->id();
  if (id == 0 && topic.empty()) {
    r.responder.fail(Status::invalid_argument("query by offset needs a topic"));
    return;
  }
  asio::post(s.blocking, [&s, topic, partition, offset, id, responder = r.responder] {
    std::vector<Found> found;
    std::vector<TopicConfig> topics;
    if (!topic.empty()) {
      auto t = s.topics.find(topic);
      if (!t) {
        responder.fail(Status(StatusCode::kTopicNotFound, "topic '" + topic + "' does not exist"));
        return;
      }
      topics.push_back(*t);
    } else {
      topics = s.topics.list();
    }
    if (id == 0) {
      auto f = by_offset(s, topics[0], partition, offset);
      if (!f.is_ok()) {
        responder.fail(f.status());
        return;
      }
      found.push_back(std::move(f).value());
    } else {
      for (const auto& t : topics) by_id(s, t, id, found);
      if (found.empty()) {
        responder.fail(Status::not_found("no message with id " + SnowflakeGenerator::to_hex(id)));
        return;
      }
    }
    flatbuffers::FlatBufferBuilder fbb(1024);
    std::vector<flatbuffers::Offset<wire::MessageView>> views;
    for (const auto& f : found) views.push_back(message_view(fbb, f.topic, f.partition, f.batch, f.offset));
    auto body = wire::CreateQueryMessageResponse(fbb, fbb.CreateVector(views));
    responder.reply(fbb, wire::Body::QueryMessageResponse, body.Union());
  });
}

}  // namespace tidemq::broker::handlers
