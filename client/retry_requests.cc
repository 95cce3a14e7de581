#include "client/retry_requests.h"

#include "common/record_batch.h"

namespace tidemq::client {

std::string retry_topic_of(std::string_view group) {
  std::string t(kRetryTopicPrefix);
  t += group;
  return t;
}

std::string dlq_topic_of(std::string_view group) {
  std::string t(kDlqTopicPrefix);
  t += group;
  return t;
}

bool is_retry_topic(std::string_view topic) { return topic.starts_with(kRetryTopicPrefix); }

void restore_origin_topic(Message& m, std::string_view read_topic) {
  if (!is_retry_topic(read_topic)) return;
  for (const auto& [k, v] : m.properties) {
    if (k == kOriginTopicProperty && !v.empty()) {
      m.read_topic = read_topic;
      m.topic = v;
      return;
    }
  }
}

const std::string& topic_read_from(const Message& m) { return m.read_topic.empty() ? m.topic : m.read_topic; }

std::string send_back_records(const Message& m) {
  record::RecordInput in;
  in.id = m.id;
  in.born_ms = static_cast<uint64_t>(m.born_ms);
  in.reconsume_times = m.reconsume_times;
  in.key = m.key;
  in.tags = m.tags;
  in.properties = &m.properties;
  in.body = m.body;
  record::BatchBuilder b;
  b.add(in);
  return b.finish(/*producer_id=*/0, /*base_sequence=*/0);
}

flatbuffers::Offset<void> build_send_back(flatbuffers::FlatBufferBuilder& fbb, const std::string& group,
                                          const Message& m, bool to_dlq) {
  const std::string batch = send_back_records(m);
  auto records = fbb.CreateVector(reinterpret_cast<const uint8_t*>(batch.data()), batch.size());
  auto g = fbb.CreateString(group);
  auto t = fbb.CreateString(topic_read_from(m));
  return wire::CreateSendBackRequest(fbb, g, t, records, to_dlq).Union();
}

Result<SendBackAnswer> send_back_answer_from(const Frame& frame) {
  const auto* resp = frame.envelope().body_as_SendBackResponse();
  if (resp == nullptr) return Status::protocol("expected SendBackResponse");
  SendBackAnswer a;
  if (resp->destination()) a.destination = resp->destination()->str();
  a.reconsume_times = resp->reconsume_times();
  a.deliver_at_ms = static_cast<int64_t>(resp->deliver_at_ms());
  return a;
}

Result<SendBackAnswer> send_back(Connection& conn, const std::string& group, const Message& m, bool to_dlq) {
  flatbuffers::FlatBufferBuilder fbb(256 + m.body.size() + m.key.size() + m.tags.size());
  auto body = build_send_back(fbb, group, m, to_dlq);
  auto r = conn.call(fbb, wire::Body::SendBackRequest, body);
  if (!r.is_ok()) return r.status();
  return send_back_answer_from(*r);
}

}  // namespace tidemq::client
