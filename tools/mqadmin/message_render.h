#pragma once
// Rendering of one message for mqadmin (queryMsgByOffset, queryMsgById, consumeMessage --json,
// queryHalfMsg): `key: value` fields for people, a JSON object for scripts. Pure, unit-tested.
#include <string>
#include <utility>
#include <vector>

#include "tidemq/message.h"
#include "tools/mqadmin/render.h"

namespace tidemq::tools {

// {"id" (16 hex digits),"topic","partition","offset","key","tags","properties":{k:v},"body",
//  "body_bytes","born_ms","store_ms","reconsume_times"}
JsonValue message_json(const Message& m);
// "k1=v1, k2=v2"; "" without properties.
std::string properties_text(const Message& m);
// id, topic, partition, offset, key, tags, properties, born, stored, reconsume_times, body_bytes,
// body — in that order, as (name, value) pairs for render_fields().
std::vector<std::pair<std::string, std::string>> message_field_list(const Message& m);
// render_fields(message_field_list(m)).
std::string message_fields(const Message& m);

}  // namespace tidemq::tools
