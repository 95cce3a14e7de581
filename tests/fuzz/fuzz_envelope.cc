// Fuzz target: the wire Envelope (schemas/*.fbs) behind flatbuffers::Verifier.
//
// Every input goes through the Verifier exactly as the broker's session does. If it verifies,
// every field of every known body type is read — each string and byte vector byte by byte, each
// table vector element by element, record batches through common/record_batch — so that a read
// the Verifier did not cover shows up under ASan/UBSan. Unknown union types (which the 2.0.8
// Verifier accepts, see tests/schemas/envelope_verify_test.cc) are rejected the way the
// dispatcher does, by the range check, before body() is touched.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/record_batch.h"
#include "schemas/envelope_generated.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace fb = flatbuffers;
using namespace tidemq::wire;

struct Sink {
  uint64_t h = 1469598103934665603ull;
  void mix(uint64_t v) { h = (h ^ v) * 1099511628211ull; }
};

void walk(Sink& s, const fb::String* str) {
  if (!str) return;
  for (char c : str->string_view()) s.mix(static_cast<uint8_t>(c));
  s.mix(str->size());
}

void walk(Sink& s, const fb::Vector<uint8_t>* v) {
  if (!v) return;
  for (uint8_t b : *v) s.mix(b);
}

// Record batches inside Produce/Fetch bodies: unverified content, parsed with bounds checks.
void walk_records(Sink& s, const fb::Vector<uint8_t>* v) {
  walk(s, v);
  if (!v) return;
  std::string_view bytes(reinterpret_cast<const char*>(v->data()), v->size());
  (void)tidemq::record::validate(bytes, 4u << 20);
  (void)tidemq::record::for_each_record_in_batches(
      bytes, [&](const tidemq::record::RecordView& r) { s.mix(r.id ^ r.body.size()); });
}

template <typename T, typename Fn>
void walk_tables(Sink& s, const fb::Vector<fb::Offset<T>>* v, Fn&& fn) {
  if (!v) return;
  s.mix(v->size());
  for (fb::uoffset_t i = 0; i < v->size(); ++i) {
    const T* t = v->Get(i);
    TIDEMQ_FUZZ_CHECK(t != nullptr);  // the Verifier rejects null offsets in table vectors
    fn(t);
  }
}

void walk(Sink& s, const KeyValue* kv) {
  if (!kv) return;
  walk(s, kv->key());
  walk(s, kv->value());
}

void walk(Sink& s, const TopicConfig* c) {
  if (!c) return;
  walk(s, c->name());
  s.mix(c->partitions());
  s.mix(static_cast<uint64_t>(c->retention_ms()));
  s.mix(static_cast<uint64_t>(c->retention_bytes()));
}

void walk(Sink& s, const MessageView* m) {
  if (!m) return;
  walk(s, m->topic());
  s.mix(m->partition());
  s.mix(m->offset());
  s.mix(m->id());
  walk(s, m->key());
  walk(s, m->tags());
  walk_tables(s, m->properties(), [&](const KeyValue* kv) { walk(s, kv); });
  walk(s, m->body());
  s.mix(m->born_ms());
  s.mix(m->store_ms());
  s.mix(m->reconsume_times());
}

void walk_error(Sink& s, ErrorCode e, const fb::String* msg) {
  s.mix(static_cast<uint16_t>(e));
  s.mix(EnumNameErrorCode(e)[0]);  // range-checked name lookup ("" when unknown)
  walk(s, msg);
}

void walk_body(Sink& s, const Envelope& env) {
  switch (env.body_type()) {
    case Body::NONE:
      return;
    case Body::HelloRequest:
      if (auto* b = env.body_as_HelloRequest()) {
        walk(s, b->client_id());
        s.mix(static_cast<uint8_t>(b->client_kind()));
        s.mix(EnumNameClientKind(b->client_kind())[0]);
        s.mix(b->protocol_version());
        walk(s, b->producer_group());
        walk(s, b->auth_token());
      }
      return;
    case Body::HelloResponse:
      if (auto* b = env.body_as_HelloResponse()) {
        walk(s, b->broker_version());
        s.mix(b->protocol_version());
        s.mix(static_cast<uint32_t>(b->worker_id()));
        s.mix(b->max_frame_bytes());
        s.mix(b->max_message_bytes());
        walk(s, b->flush_mode());
      }
      return;
    case Body::ProduceRequest:
      if (auto* b = env.body_as_ProduceRequest()) {
        walk(s, b->topic());
        walk_tables(s, b->batches(), [&](const PartitionBatch* p) {
          s.mix(p->partition());
          walk_records(s, p->records());
        });
      }
      return;
    case Body::ProduceResponse:
      if (auto* b = env.body_as_ProduceResponse()) {
        walk(s, b->topic());
        walk_tables(s, b->acks(), [&](const PartitionAck* a) {
          s.mix(a->partition());
          walk_error(s, a->error(), a->error_message());
          s.mix(a->base_offset());
          s.mix(a->record_count());
          s.mix(a->store_ms());
          s.mix(a->duplicate());
        });
      }
      return;
    case Body::FetchRequest:
      if (auto* b = env.body_as_FetchRequest()) {
        walk(s, b->topic());
        walk_tables(s, b->partitions(), [&](const FetchPartition* p) {
          s.mix(p->partition());
          s.mix(p->offset());
          s.mix(p->max_bytes());
        });
        s.mix(b->max_wait_ms());
        s.mix(b->max_bytes());
      }
      return;
    case Body::FetchResponse:
      if (auto* b = env.body_as_FetchResponse()) {
        walk(s, b->topic());
        walk_tables(s, b->partitions(), [&](const FetchPartitionResult* p) {
          s.mix(p->partition());
          walk_error(s, p->error(), p->error_message());
          s.mix(p->start_offset());
          s.mix(p->end_offset());
          walk_records(s, p->records());
        });
      }
      return;
    case Body::CreateTopicRequest:
      if (auto* b = env.body_as_CreateTopicRequest()) walk(s, b->config());
      return;
    case Body::CreateTopicResponse:
      if (auto* b = env.body_as_CreateTopicResponse()) {
        walk(s, b->config());
        s.mix(b->created());
      }
      return;
    case Body::DeleteTopicRequest:
      if (auto* b = env.body_as_DeleteTopicRequest()) walk(s, b->name());
      return;
    case Body::DeleteTopicResponse:
      s.mix(env.body_as_DeleteTopicResponse() != nullptr);
      return;
    case Body::ListTopicsRequest:
      s.mix(env.body_as_ListTopicsRequest() != nullptr);
      return;
    case Body::ListTopicsResponse:
      if (auto* b = env.body_as_ListTopicsResponse()) {
        walk_tables(s, b->topics(), [&](const TopicConfig* c) { walk(s, c); });
      }
      return;
    case Body::TopicStatusRequest:
      if (auto* b = env.body_as_TopicStatusRequest()) walk(s, b->name());
      return;
    case Body::TopicStatusResponse:
      if (auto* b = env.body_as_TopicStatusResponse()) {
        walk(s, b->config());
        walk_tables(s, b->partitions(), [&](const PartitionStatus* p) {
          s.mix(p->partition());
          s.mix(p->start_offset());
          s.mix(p->end_offset());
          s.mix(p->last_store_ms());
        });
      }
      return;
    case Body::BrokerStatusRequest:
      s.mix(env.body_as_BrokerStatusRequest() != nullptr);
      return;
    case Body::BrokerStatusResponse:
      if (auto* b = env.body_as_BrokerStatusResponse()) {
        walk(s, b->version());
        walk(s, b->flush_mode());
        walk(s, b->data_dir());
        walk(s, b->listen());
        s.mix(b->uptime_ms());
        walk(s, b->storage_error());
        walk_tables(s, b->stats(), [&](const KeyValue* kv) { walk(s, kv); });
      }
      return;
    case Body::QueryMessageRequest:
      if (auto* b = env.body_as_QueryMessageRequest()) {
        walk(s, b->topic());
        s.mix(b->partition());
        s.mix(b->offset());
        s.mix(b->id());
      }
      return;
    case Body::QueryMessageResponse:
      if (auto* b = env.body_as_QueryMessageResponse()) {
        walk_tables(s, b->messages(), [&](const MessageView* m) { walk(s, m); });
      }
      return;
  }
  TIDEMQ_FUZZ_CHECK(false && "known body types are all handled above");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fb::Verifier verifier(data, size);
  if (!VerifyEnvelopeBuffer(verifier)) return 0;
  const Envelope* env = GetEnvelope(data);
  Sink s;
  s.mix(env->correlation_id());
  walk_error(s, env->error(), env->error_message());
  // The dispatcher's guard: the Verifier accepts union types it does not know.
  if (env->body_type() > Body::MAX) {
    TIDEMQ_FUZZ_CHECK(EnumNameBody(env->body_type())[0] == '\0');
    return 0;
  }
  walk_body(s, *env);
  volatile uint64_t keep = s.h;  // keep the reads from being optimised away
  (void)keep;
  return 0;
}
