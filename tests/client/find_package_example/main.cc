// Uses the installed tidemq client: options, a message id, and a failed create as a value (for the
// consumers too: their public headers compile without Asio or FlatBuffers).
#include <cstdio>

#include "tidemq/admin.h"
#include "tidemq/consumer.h"
#include "tidemq/producer.h"
#include "tidemq/push_consumer.h"
#include "tidemq/reader.h"

int main() {
  tidemq::ClientOptions client;
  client.broker = "not-an-address";  // no port: rejected before any connect
  tidemq::ProducerOptions options;
  options.client = client;
  auto producer = tidemq::Producer::create(options);
  if (producer.is_ok() || producer.status().code() != tidemq::StatusCode::kInvalidArgument) {
    std::printf("expected InvalidArgument, got %s\n", producer.status().to_string().c_str());
    return 1;
  }
  tidemq::PushConsumerOptions push;
  push.consumer.client = client;  // no group either
  auto consumer = tidemq::PushConsumer::create(push, [](const tidemq::Message&) {
    return tidemq::ConsumeStatus::kSuccess;
  });
  if (consumer.is_ok() || consumer.status().code() != tidemq::StatusCode::kInvalidArgument) {
    std::printf("expected InvalidArgument, got %s\n", consumer.status().to_string().c_str());
    return 1;
  }
  std::printf("tidemq ok %s\n", tidemq::format_message_id(1234).c_str());
  return 0;
}
