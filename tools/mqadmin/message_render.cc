#include "tools/mqadmin/message_render.h"

#include "common/snowflake.h"

namespace tidemq::tools {

JsonValue message_json(const Message& m) {
  auto props = JsonValue::object();
  for (const auto& [k, v] : m.properties) props.set(k, v);
  return JsonValue::object()
      .set("id", SnowflakeGenerator::to_hex(m.id))
      .set("topic", m.topic)
      .set("partition", m.partition)
      .set("offset", m.offset)
      .set("key", m.key)
      .set("tags", m.tags)
      .set("properties", std::move(props))
      .set("body", m.body)
      .set("body_bytes", m.body.size())
      .set("born_ms", m.born_ms)
      .set("store_ms", m.store_ms)
      .set("reconsume_times", m.reconsume_times);
}

std::string properties_text(const Message& m) {
  std::string out;
  for (const auto& [k, v] : m.properties) {
    if (!out.empty()) out += ", ";
    out += k + "=" + v;
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> message_field_list(const Message& m) {
  return {
      {"id", SnowflakeGenerator::to_hex(m.id)},
      {"topic", m.topic},
      {"partition", std::to_string(m.partition)},
      {"offset", std::to_string(m.offset)},
      {"key", m.key},
      {"tags", m.tags},
      {"properties", properties_text(m)},
      {"born", format_time_ms(m.born_ms)},
      {"stored", format_time_ms(m.store_ms)},
      {"reconsume_times", std::to_string(m.reconsume_times)},
      {"body_bytes", std::to_string(m.body.size())},
      {"body", m.body},
  };
}

std::string message_fields(const Message& m) { return render_fields(message_field_list(m)); }

}  // namespace tidemq::tools
