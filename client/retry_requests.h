#pragma once
// Retries and the dead-letter queue on the consumer's side (SPEC §7, schemas/retry.fbs): the
// names of a group's retry and DLQ topics, the SendBack request (the message re-encoded as the
// one-record batch the broker expects) and its answer, and the topic a redelivered message is
// handed to the user under. No state; the request builders are unit-tested without a broker.
#include <cstdint>
#include <string>
#include <string_view>

#include "client/connection.h"
#include "common/status.h"
#include "tidemq/message.h"

namespace tidemq::client {

inline constexpr std::string_view kRetryTopicPrefix = "%RETRY%";
inline constexpr std::string_view kDlqTopicPrefix = "%DLQ%";

std::string retry_topic_of(std::string_view group);  // "%RETRY%<group>"
std::string dlq_topic_of(std::string_view group);    // "%DLQ%<group>"
bool is_retry_topic(std::string_view topic);

// A message read from `read_topic`: if that is a retry topic and the message has an ORIGIN_TOPIC
// property, `topic` becomes that origin and `read_topic` keeps where it was read. Otherwise
// unchanged (read_topic stays empty).
void restore_origin_topic(Message& m, std::string_view read_topic);

// The topic a consumed message was read from: read_topic if set, else topic.
const std::string& topic_read_from(const Message& m);

// `m` as a one-record batch (common/record_batch.h), as it was received: id, born_ms,
// reconsume_times, key, tags, properties and body; producer id 0.
std::string send_back_records(const Message& m);

// The SendBackRequest body for `m` read by `group` (topic = topic_read_from(m)).
flatbuffers::Offset<void> build_send_back(flatbuffers::FlatBufferBuilder& fbb, const std::string& group,
                                          const Message& m, bool to_dlq);

struct SendBackAnswer {
  std::string destination;   // %RETRY%<group> or %DLQ%<group>
  uint32_t reconsume_times = 0;  // of the copy
  int64_t deliver_at_ms = 0;     // when the retry is due; 0 for the DLQ
};
// Errors: ProtocolError (not a SendBackResponse).
Result<SendBackAnswer> send_back_answer_from(const Frame& frame);

// Sends SendBack and waits for the answer (request_timeout). Errors: the envelope's (e.g.
// InvalidArgument, TopicNotFound), Timeout, Unavailable, ShuttingDown, ProtocolError.
Result<SendBackAnswer> send_back(Connection& conn, const std::string& group, const Message& m, bool to_dlq);

}  // namespace tidemq::client
