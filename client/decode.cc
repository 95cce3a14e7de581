#include "client/decode.h"

namespace tidemq::client {

namespace {
std::string str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }
}  // namespace

Message message_from_view(const wire::MessageView& m) {
  Message out;
  out.topic = str(m.topic());
  out.partition = static_cast<int32_t>(m.partition());
  out.offset = m.offset();
  out.id = m.id();
  out.key = str(m.key());
  out.tags = str(m.tags());
  if (m.properties()) {
    out.properties.reserve(m.properties()->size());
    for (const auto* kv : *m.properties()) out.properties.emplace_back(str(kv->key()), str(kv->value()));
  }
  if (m.body()) out.body.assign(reinterpret_cast<const char*>(m.body()->data()), m.body()->size());
  out.born_ms = static_cast<int64_t>(m.born_ms());
  out.store_ms = static_cast<int64_t>(m.store_ms());
  out.reconsume_times = m.reconsume_times();
  return out;
}

Message message_from_record(const record::RecordView& r, std::string_view topic, uint32_t partition) {
  Message out;
  out.topic = topic;
  out.partition = static_cast<int32_t>(partition);
  out.offset = r.offset;
  out.id = r.id;
  out.key = r.key;
  out.tags = r.tags;
  out.properties.reserve(r.properties.size());
  for (const auto& [k, v] : r.properties) out.properties.emplace_back(std::string(k), std::string(v));
  out.body = r.body;
  out.born_ms = static_cast<int64_t>(r.born_ms);
  out.store_ms = static_cast<int64_t>(r.store_ms);
  out.reconsume_times = r.reconsume_times;
  return out;
}

TopicStatus topic_status_from_wire(const wire::TopicStatusResponse& r) {
  TopicStatus s;
  if (const auto* c = r.config()) {
    s.settings.name = str(c->name());
    s.settings.partitions = c->partitions();
    s.settings.retention_ms = c->retention_ms();
    s.settings.retention_bytes = c->retention_bytes();
  }
  if (r.partitions()) {
    for (const auto* p : *r.partitions()) {
      s.partitions.push_back(PartitionStatus{p->partition(), p->start_offset(), p->end_offset(),
                                             static_cast<int64_t>(p->last_store_ms())});
    }
  }
  return s;
}

}  // namespace tidemq::client
