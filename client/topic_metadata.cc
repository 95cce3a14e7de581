#include "client/topic_metadata.h"

#include "client/decode.h"

namespace tidemq::client {

Result<TopicStatus> request_topic_status(Connection& conn, const std::string& topic) {
  flatbuffers::FlatBufferBuilder fbb(128 + topic.size());
  auto req = wire::CreateTopicStatusRequestDirect(fbb, topic.c_str());
  auto r = conn.call(fbb, wire::Body::TopicStatusRequest, req.Union());
  if (!r.is_ok()) return r.status();
  const auto* resp = r->envelope().body_as_TopicStatusResponse();
  if (!resp) return Status::protocol("expected TopicStatusResponse");
  TopicStatus s = topic_status_from_wire(*resp);
  if (s.settings.partitions == 0) s.settings.partitions = static_cast<uint32_t>(s.partitions.size());
  if (s.settings.partitions == 0) return Status(StatusCode::kTopicNotFound, "topic '" + topic + "' has no partitions");
  return s;
}

}  // namespace tidemq::client
