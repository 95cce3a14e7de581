// BrokerStatus: version, flush mode, data dir, uptime, sticky storage error and counters.
#include <vector>

#include "broker/dispatch/handlers/handlers.h"
#include "broker/version.h"

namespace tidemq::broker::handlers {

void broker_status(Services& s, Request& r) {
  auto stats = s.metrics.snapshot();
  stats.emplace_back("connections", s.sessions.size());
  stats.emplace_back("topics", s.topics.list().size());
  stats.emplace_back("pending_append_bytes", s.log.pending_bytes());
  stats.emplace_back("pending_append_bytes_peak", s.log.pending_bytes_peak());
  const WritePressure::Stats pressure = s.pressure.stats();
  stats.emplace_back("backpressure_active", pressure.paused ? 1 : 0);
  stats.emplace_back("parked_produce_requests", pressure.parked_requests);
  stats.emplace_back("parked_produce_bytes", pressure.parked_bytes);
  stats.emplace_back("parked_produce_bytes_peak", pressure.parked_bytes_peak);
  stats.emplace_back("ingest_pacing", pressure.pacing ? 1 : 0);
  stats.emplace_back("ingest_pace_bytes_per_sec", pressure.pace_bytes_per_sec);
  stats.emplace_back("latency_pacing", pressure.latency_pacing ? 1 : 0);
  stats.emplace_back("latency_pace_bytes_per_sec", pressure.latency_pace_bytes_per_sec);
  stats.emplace_back("disk_free_bytes", s.disk.free_bytes());
  stats.emplace_back("disk_low", s.disk.disk_low() ? 1 : 0);
  stats.emplace_back("long_poll_waiters", s.long_poll.waiting());
  stats.emplace_back("scheduled_backlog", s.delays.backlog());  // waiting in the delay store (also retries)
  stats.emplace_back("scheduled_moved", s.delays.moved());
  stats.emplace_back("scheduled_dropped", s.delays.dropped());  // their topic was deleted first
  const txn::HalfSummary half = s.txn.summary("");
  stats.emplace_back("half_pending", half.pending);
  stats.emplace_back("half_parked", half.parked);
  stats.emplace_back("half_oldest_age_ms", half.oldest_age_ms);
  stats.emplace_back("txn_checks_sent", half.checks_sent);
  stats.emplace_back("txn_committed", half.committed);
  stats.emplace_back("txn_rolled_back", half.rolled_back);

  flatbuffers::FlatBufferBuilder fbb(1024);
  std::vector<flatbuffers::Offset<wire::KeyValue>> kvs;
  for (const auto& [k, v] : stats) {
    kvs.push_back(wire::CreateKeyValue(fbb, fbb.CreateString(k), fbb.CreateString(std::to_string(v))));
  }
  Status sticky = s.db.sticky_error();
  auto body = wire::CreateBrokerStatusResponse(
      fbb, fbb.CreateString(std::string(kVersion)), fbb.CreateString(std::string(flush_mode_name(s.config.flush))),
      fbb.CreateString(s.config.data_dir), fbb.CreateString(s.listen),
      static_cast<uint64_t>(s.clock.monotonic_ms() - s.started_mono_ms),
      fbb.CreateString(sticky.is_ok() ? std::string() : sticky.to_string()), fbb.CreateVector(kvs));
  r.responder.reply(fbb, wire::Body::BrokerStatusResponse, body.Union());
}

}  // namespace tidemq::broker::handlers
