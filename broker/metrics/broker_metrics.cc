#include "broker/metrics/broker_metrics.h"

namespace tidemq::broker {

std::vector<std::pair<std::string, uint64_t>> BrokerMetrics::snapshot() const {
  auto v = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  return {
      {"produce_requests", v(produce_requests)},
      {"messages_in", v(messages_in)},
      {"bytes_in", v(bytes_in)},
      {"duplicate_batches", v(duplicate_batches)},
      {"fetch_requests", v(fetch_requests)},
      {"messages_out", v(messages_out)},
      {"bytes_out", v(bytes_out)},
      {"request_errors", v(request_errors)},
      {"protocol_errors", v(protocol_errors)},
      {"busy_rejections", v(busy_rejections)},
      {"backpressure_pauses", v(backpressure_pauses)},
      {"disk_full_rejections", v(disk_full_rejections)},
      {"scheduled_messages", v(scheduled_messages)},
      {"retries_scheduled", v(retries_scheduled)},
      {"dlq_messages", v(dlq_messages)},
      {"retention_runs", v(retention_runs)},
  };
}

}  // namespace tidemq::broker
