#include "broker/dispatch/message_view.h"

#include <vector>

#include "common/record_batch.h"

namespace tidemq::broker {

flatbuffers::Offset<wire::MessageView> message_view(flatbuffers::FlatBufferBuilder& fbb, std::string_view topic,
                                                    uint32_t partition, std::string_view batch, uint64_t offset) {
  flatbuffers::Offset<wire::MessageView> out;
  Status st = record::for_each_record(batch, [&](const record::RecordView& r) {
    if (r.offset != offset) return;
    std::vector<flatbuffers::Offset<wire::KeyValue>> props;
    for (const auto& [k, v] : r.properties) {
      props.push_back(wire::CreateKeyValue(fbb, fbb.CreateString(k.data(), k.size()), fbb.CreateString(v.data(), v.size())));
    }
    out = wire::CreateMessageView(fbb, fbb.CreateString(topic.data(), topic.size()), partition, r.offset, r.id,
                                  fbb.CreateString(r.key.data(), r.key.size()),
                                  fbb.CreateString(r.tags.data(), r.tags.size()), fbb.CreateVector(props),
                                  fbb.CreateVector(reinterpret_cast<const uint8_t*>(r.body.data()), r.body.size()),
                                  r.born_ms, r.store_ms, r.reconsume_times);
  });
  (void)st;  // stored batches were validated before they were stored
  return out;
}

flatbuffers::Offset<wire::MessageView> half_message_view(flatbuffers::FlatBufferBuilder& fbb, const TopicRegistry& topics,
                                                         uint32_t topic_id, uint32_t partition, std::string_view batch) {
  auto header = record::parse_header(batch);
  if (!header.is_ok()) return {};
  auto topic = topics.find_by_id(topic_id);
  return message_view(fbb, topic ? topic->name : std::string(), partition, batch, header->base_offset);
}

}  // namespace tidemq::broker
