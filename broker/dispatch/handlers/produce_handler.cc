// Produce: refuse when the store cannot take writes (sticky error, disk low-water mark), pass
// admission (producer back-pressure, broker/net/write_pressure.h), validate each partition's
// record batch (CPU only), queue it on the LogStore's group-commit writer, and answer once every
// partition of the request is durable. A batch with deliver_at_ms in the future goes to the
// delay store instead (SPEC §7, broker/schedule/).
#include <fmt/format.h>

#include <mutex>
#include <vector>

#include "broker/dispatch/error_codes.h"
#include "broker/dispatch/handlers/handlers.h"
#include "common/delay_levels.h"
#include "common/record_batch.h"

namespace tidemq::broker::handlers {

namespace {

struct Ack {
  uint32_t partition = 0;
  Status status;
  AppendResult result;
  bool scheduled = false;  // stored in the delay store (deliver_at_ms in the future)
};

// Collects the per-partition outcomes of one request; the last one to arrive replies.
struct ProduceCall {
  ProduceCall(Services& s, Responder r, std::string t, size_t n)
      : services(s), responder(std::move(r)), topic(std::move(t)), acks(n), remaining(n) {}
  Services& services;
  Responder responder;
  std::string topic;
  std::vector<Ack> acks;
  std::atomic<size_t> remaining;

  void complete(size_t index, Status status, AppendResult result = {}) {
    acks[index].status = std::move(status);
    acks[index].result = result;
    if (remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) reply();
  }

  void reply() {
    flatbuffers::FlatBufferBuilder fbb(128 + acks.size() * 48);
    std::vector<flatbuffers::Offset<wire::PartitionAck>> out;
    out.reserve(acks.size());
    for (const Ack& a : acks) {
      flatbuffers::Offset<flatbuffers::String> msg;
      if (!a.status.is_ok()) {
        msg = fbb.CreateString(a.status.message());
        services.metrics.request_errors.fetch_add(1, std::memory_order_relaxed);
      } else if (a.result.duplicate) {
        services.metrics.duplicate_batches.fetch_add(1, std::memory_order_relaxed);
      }
      out.push_back(wire::CreatePartitionAck(fbb, a.partition, to_wire(a.status.code()), msg, a.result.base_offset,
                                             a.result.record_count, static_cast<uint64_t>(a.result.store_ms),
                                             a.result.duplicate, a.scheduled));
    }
    auto topic_off = fbb.CreateString(topic);
    auto body = wire::CreateProduceResponse(fbb, topic_off, fbb.CreateVector(out));
    responder.reply(fbb, wire::Body::ProduceResponse, body.Union());
  }
};

// Hands one partition's outcome to the session's strand (from the writer or a blocking thread), so
// building the response never delays the next group commit.
void deliver(const std::shared_ptr<ProduceCall>& call, size_t i, Result<AppendResult> r) {
  asio::post(call->responder.session().strand(), [call, i, r = std::move(r)]() mutable {
    if (r.is_ok()) call->complete(i, Status::ok(), *r);
    else call->complete(i, r.status());
  });
}

// A batch due later goes to the delay store (SPEC §7); it must not be idempotent: the producer's
// sequence of the partition would otherwise see a gap until it is due.
void schedule(Services& s, const std::shared_ptr<ProduceCall>& call, size_t i, uint32_t topic_id,
              const record::BatchHeader& h, std::string_view bytes, uint64_t deliver_at_ms, int64_t now) {
  if (h.producer_id != 0) {
    call->complete(i, Status::invalid_argument("a scheduled batch (deliver_at_ms) must not be idempotent: "
                                               "send it with producer id 0"));
    return;
  }
  if (deliver_at_ms > static_cast<uint64_t>(now + kMaxDelayMs)) {
    call->complete(i, Status::invalid_argument(fmt::format(
                          "deliver_at_ms {} is more than 3 days ahead of the broker's clock ({})", deliver_at_ms, now)));
    return;
  }
  s.metrics.scheduled_messages.fetch_add(h.record_count, std::memory_order_relaxed);
  s.delays.schedule(topic_id, call->acks[i].partition, deliver_at_ms, std::string(bytes), [call, i](Status st) {
    asio::post(call->responder.session().strand(), [call, i, st = std::move(st)]() mutable {
      call->acks[i].scheduled = st.is_ok();
      call->complete(i, std::move(st));
    });
  });
}

void append_all(Services& s, const TopicConfig& topic, const wire::ProduceRequest& req, Responder responder) {
  const auto* batches = req.batches();
  auto call = std::make_shared<ProduceCall>(s, std::move(responder), topic.name, batches->size());
  for (flatbuffers::uoffset_t i = 0; i < batches->size(); ++i) {
    const wire::PartitionBatch* pb = batches->Get(i);
    call->acks[i].partition = pb->partition();
    if (pb->partition() >= topic.partitions) {
      call->complete(i, Status(StatusCode::kInvalidPartition,
                               "partition " + std::to_string(pb->partition()) + " of topic '" + topic.name +
                                   "' does not exist (it has " + std::to_string(topic.partitions) + ")"));
      continue;
    }
    if (pb->records() == nullptr) {
      call->complete(i, Status::corruption("no records"));
      continue;
    }
    std::string_view bytes(reinterpret_cast<const char*>(pb->records()->data()), pb->records()->size());
    auto header = record::validate(bytes, s.config.max_message_bytes);
    if (!header.is_ok()) {
      call->complete(i, header.status());
      continue;
    }
    s.metrics.messages_in.fetch_add(header->record_count, std::memory_order_relaxed);
    s.metrics.bytes_in.fetch_add(bytes.size(), std::memory_order_relaxed);
    if (const uint64_t at = pb->deliver_at_ms(); at != 0) {
      if (const int64_t now = s.clock.now_ms(); at > static_cast<uint64_t>(now)) {
        schedule(s, call, i, topic.topic_id, *header, bytes, at, now);
        continue;
      }
    }
    if (s.config.unsafe_ack_before_sync) [[unlikely]] {  // the reliability suite's canary
      AppendResult early;
      early.record_count = header->record_count;
      call->complete(i, Status::ok(), early);
      // Write-behind: the batch waits 200 ms in memory before it is queued.
      store_later(s, [&s, topic_id = topic.topic_id, partition = pb->partition(), data = std::string(bytes)]() mutable {
        s.log.append(topic_id, partition, std::move(data), [](Result<AppendResult>) {});
      });
      continue;
    }
    s.log.append(topic.topic_id, pb->partition(), std::string(bytes),
                 [&s, call, i, topic_id = topic.topic_id, h = *header](Result<AppendResult> r) {
                   if (r.status().code() == StatusCode::kDuplicateSequence) {
                     // Older than the writer's idempotence window: look up its original offset.
                     asio::post(s.blocking, [&s, call, i, topic_id, h, dup = r.status()] {
                       auto found = s.log.find_stored_batch(topic_id, call->acks[i].partition, h.producer_id,
                                                            h.base_sequence, h.record_count);
                       deliver(call, i, found.is_ok() ? found : Result<AppendResult>(dup));
                     });
                     return;
                   }
                   deliver(call, i, std::move(r));
                 });
  }
}

// The request passed admission: find (or auto-create) the topic and queue its batches.
void admitted(Services& s, const wire::ProduceRequest& req, const Responder& responder) {
  std::string name = req.topic()->str();
  if (auto topic = s.topics.find(name)) {
    append_all(s, *topic, req, responder);
    return;
  }
  if (!s.config.auto_create_topics) {
    responder.fail(Status(StatusCode::kTopicNotFound, "topic '" + name + "' does not exist (create it with mqadmin updateTopic)"));
    return;
  }
  // Auto-create (off by default): the registry write happens off the network thread; the request
  // bytes are copied since the frame does not outlive this call.
  flatbuffers::FlatBufferBuilder copy;
  std::vector<flatbuffers::Offset<wire::PartitionBatch>> bs;
  for (const auto* pb : *req.batches()) {
    const uint8_t* data = pb->records() ? pb->records()->data() : nullptr;
    auto recs = copy.CreateVector(data, pb->records() ? pb->records()->size() : 0);
    bs.push_back(wire::CreatePartitionBatch(copy, pb->partition(), recs, pb->deliver_at_ms()));
  }
  auto t = copy.CreateString(name);
  copy.Finish(wire::CreateProduceRequest(copy, t, copy.CreateVector(bs)));
  auto owned = std::make_shared<flatbuffers::DetachedBuffer>(copy.Release());
  asio::post(s.blocking, [&s, name, owned, responder] {
    TopicConfig cfg;
    cfg.name = name;
    cfg.partitions = s.config.default_partitions;
    if (Status st = validate_topic_name(name); !st.is_ok()) {
      responder.fail(st);
      return;
    }
    auto created = s.topics.create_or_update(cfg);
    if (!created.is_ok()) {
      responder.fail(created.status());
      return;
    }
    s.log.ensure_partitions(created->config.topic_id, created->config.partitions);
    s.groups.topic_changed(created->config.name);
    append_all(s, created->config, *flatbuffers::GetRoot<wire::ProduceRequest>(owned->data()), responder);
  });
}

}  // namespace

void produce(Services& s, Request& r) {
  s.metrics.produce_requests.fetch_add(1, std::memory_order_relaxed);
  const auto* req = r.envelope.body_as_ProduceRequest();
  if (req->topic() == nullptr || req->batches() == nullptr || req->batches()->size() == 0) {
    r.responder.fail(Status::invalid_argument("produce needs a topic and at least one batch"));
    return;
  }
  if (Status sticky = s.db.sticky_error(); !sticky.is_ok()) {
    r.responder.fail(sticky);  // stop acknowledging: the store cannot promise durability
    return;
  }
  if (s.disk.disk_low()) {
    s.metrics.disk_full_rejections.fetch_add(1, std::memory_order_relaxed);
    r.responder.fail(s.disk.write_status());
    return;
  }
  // This connection produces: from now on it stops being read under write back-pressure while
  // it waits for an answer.
  Session& session = r.responder.session();
  session.hold_writes();
  const bool only_request = session.inflight() == 1;
  // A light producer (one small request at a time, ~1 MiB/s or less) turns latency pacing on.
  if (only_request && session.client().produce.light_after(r.frame.size(), s.clock.monotonic_ms())) {
    s.pressure.note_light();
  }
  if (s.pressure.admits_now()) {
    admitted(s, *req, r.responder);
    return;
  }
  // Its only request in flight goes in even under back-pressure (WritePressure, "fairness").
  if (only_request && s.pressure.admit_out_of_turn(r.frame.size())) {
    admitted(s, *req, r.responder);
    return;
  }
  // Over --max-pending-bytes: park the request (it keeps its frame, no copy) until the writer has
  // room, or answer SYSTEM_BUSY after --busy-timeout-ms. Admission may still happen right now.
  auto frame = std::make_shared<std::string>(std::move(r.frame));
  s.pressure.submit(
      frame->size(),
      [&s, frame, responder = r.responder] {
        admitted(s, *wire::GetEnvelope(frame->data())->body_as_ProduceRequest(), responder);
      },
      [&s, responder = r.responder](Status st) {
        if (st.code() == StatusCode::kBusy) s.metrics.busy_rejections.fetch_add(1, std::memory_order_relaxed);
        responder.fail(st);
      });
}

}  // namespace tidemq::broker::handlers
