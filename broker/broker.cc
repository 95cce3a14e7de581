#include "broker/broker.h"

#include <cstdlib>
#include <thread>

#include "broker/broker_core.h"
#include "broker/net/server.h"
#include "broker/periodic_job.h"
#include "common/logging.h"

namespace tidemq::broker {

namespace {
constexpr auto kShutdownGrace = std::chrono::seconds(10);
// How often members past their session timeout are expired: a dead member's partitions move
// within session timeout + this.
constexpr auto kGroupExpiryInterval = std::chrono::milliseconds(250);
// A wall-clock step of at least this much (from the last one reported) is logged.
constexpr int64_t kReportedStepMs = 1000;
constexpr auto kStepCheckInterval = std::chrono::seconds(1);
}

struct Broker::Impl {
  Impl(BrokerConfig c, const Clock& clk, leveldb::Env* e, FreeSpaceFn fs)
      : config(std::move(c)), time(clk), env(e), free_space(std::move(fs)) {}

  BrokerConfig config;
  // Everything in the broker runs on `time`: the injected clock's wall time, immune to steps
  // while the broker runs (common/clock.h, SPEC §12 T11).
  AnchoredClock time;
  int64_t reported_step_ms = 0;  // the wall-clock step last logged
  leveldb::Env* env;
  FreeSpaceFn free_space;
  std::unique_ptr<BrokerCore> core;  // stores, services, dispatcher (broker_core.h)
  std::unique_ptr<Server> server;
  std::unique_ptr<asio::steady_timer> retention_timer;
  std::unique_ptr<asio::steady_timer> expiry_timer;
  std::unique_ptr<PeriodicJob> disk_job;   // statvfs of the data dir
  std::unique_ptr<PeriodicJob> check_job;  // the check-back scheduler's rounds
  std::unique_ptr<PeriodicJob> delay_job;  // moves due scheduled messages into their topics
  std::unique_ptr<PeriodicJob> step_job;   // logs wall-clock steps the broker ignores
  bool started = false;
  bool stopped = false;

  void job(std::unique_ptr<PeriodicJob>& slot, std::chrono::milliseconds period, std::function<void()> fn) {
    slot = std::make_unique<PeriodicJob>(core->executors->io(), core->executors->blocking(), period, std::move(fn));
    slot->start();
  }

  void schedule_retention() {
    retention_timer->expires_after(std::chrono::milliseconds(config.retention_check_ms));
    retention_timer->async_wait([this](const asio::error_code& ec) {
      if (ec) return;
      asio::post(core->executors->blocking(), [this] {
        auto n = core->log->apply_retention();
        if (!n.is_ok()) logging::get("store")->warn("retention: {}", n.status().to_string());
        core->metrics.retention_runs.fetch_add(1, std::memory_order_relaxed);
      });
      schedule_retention();
    });
  }

  // An operator should know that the broker's time and the host's now differ (until a restart).
  void report_clock_step() {
    const int64_t step = time.step_ms();
    if (std::abs(step - reported_step_ms) < kReportedStepMs) return;
    reported_step_ms = step;
    logging::get("broker")->warn(
        "the wall clock stepped: it is {} ms {} the broker's time, which keeps running without the step until "
        "the broker restarts (retention, scheduled messages and timestamps use the broker's time)",
        std::abs(step), step > 0 ? "ahead of" : "behind");
  }

  // In memory and cheap (no I/O): runs on an io thread.
  void schedule_expiry() {
    expiry_timer->expires_after(kGroupExpiryInterval);
    expiry_timer->async_wait([this](const asio::error_code& ec) {
      if (ec) return;
      if (size_t n = core->groups->expire(); n > 0) logging::get("groups")->info("{} member(s) expired", n);
      schedule_expiry();
    });
  }
};

Broker::Broker(BrokerConfig config, const Clock& clock, leveldb::Env* env, FreeSpaceFn free_space)
    : impl_(std::make_unique<Impl>(std::move(config), clock, env, std::move(free_space))) {}

Broker::~Broker() { stop(); }

const BrokerConfig& Broker::config() const { return impl_->config; }

uint16_t Broker::port() const { return impl_->server ? impl_->server->port() : 0; }

Status Broker::start() {
  Impl& m = *impl_;
  TIDEMQ_CHECK(!m.started, "Broker::start called twice");
  m.started = true;
  TIDEMQ_ASSIGN_OR_RETURN(m.core, BrokerCore::open(m.config, m.time, m.env, m.free_space));
  BrokerCore& c = *m.core;
  SessionLimits limits;
  limits.max_frame_bytes = m.config.max_frame_bytes;
  limits.idle_timeout_ms = m.config.idle_timeout_ms;
  limits.frame_timeout_ms = m.config.frame_timeout_ms;
  limits.max_outbound_bytes = m.config.max_outbound_bytes;
  limits.max_inflight = m.config.max_inflight_per_connection;
  m.server = std::make_unique<Server>(c.executors->io(), *c.dispatcher, c.sessions, limits, m.config.max_connections,
                                      c.clock, c.pressure.get());
  TIDEMQ_RETURN_IF_ERROR(m.server->listen(m.config.listen_host(), m.config.listen_port()));
  c.services->listen = m.config.listen_host() + ":" + std::to_string(m.server->port());
  m.retention_timer = std::make_unique<asio::steady_timer>(c.executors->io());
  m.schedule_retention();
  m.expiry_timer = std::make_unique<asio::steady_timer>(c.executors->io());
  m.schedule_expiry();
  if (c.disk->enabled()) {
    m.job(m.disk_job, std::chrono::milliseconds(m.config.disk_check_ms), [d = c.disk.get()] { d->check(); });
  }
  m.job(m.check_job, std::chrono::milliseconds(m.config.check_scan_ms), [t = c.txn.get()] { t->run_checks(); });
  m.job(m.delay_job, std::chrono::milliseconds(m.config.delay_tick_ms), [d = c.delays.get()] {
    auto n = d->move_due();
    if (!n.is_ok()) logging::get("schedule")->warn("moving due messages: {}", n.status().to_string());
  });
  m.job(m.step_job, kStepCheckInterval, [&m] { m.report_clock_step(); });
  c.executors->start();
  return Status::ok();
}

void Broker::stop() {
  Impl& m = *impl_;
  if (m.stopped || !m.started) return;
  m.stopped = true;
  auto log = logging::get("broker");
  if (m.core) {
    BrokerCore& c = *m.core;
    if (m.server) {
      // Phase 1: no new connections, no new requests; long polls answer now.
      m.server->stop_accepting();
      for (auto& s : c.sessions.all()) s->stop_reading();
      c.long_poll->wake_all();
      // Phase 2: wait for in-flight requests to be answered.
      auto deadline = std::chrono::steady_clock::now() + kShutdownGrace;
      for (;;) {
        uint32_t inflight = 0;
        for (auto& s : c.sessions.all()) inflight += s->inflight();
        if (inflight == 0 || std::chrono::steady_clock::now() > deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      if (m.retention_timer) asio::post(c.executors->io(), [t = m.retention_timer.get()] { t->cancel(); });
      if (m.expiry_timer) asio::post(c.executors->io(), [t = m.expiry_timer.get()] { t->cancel(); });
      for (auto* j : {&m.disk_job, &m.check_job, &m.delay_job, &m.step_job}) {
        if (*j) (*j)->stop();
      }
    }
    c.txn->stop();  // its operations in flight complete (they need the writer and the pool)
    c.log->stop();  // writes whatever is queued
    // Requests still parked by back-pressure (the grace ran out) answer ShuttingDown; the paused
    // readers wake and see that reading stopped.
    c.pressure->stop();
    for (auto& s : c.sessions.all()) s->close("broker shutting down");
    c.executors->join();
  }
  // Asio objects (acceptor, timers, jobs) go before their io_context, which the core owns.
  m.server.reset();
  m.retention_timer.reset();
  m.expiry_timer.reset();
  m.disk_job.reset();
  m.check_job.reset();
  m.delay_job.reset();
  m.step_job.reset();
  m.core.reset();  // the rest, in dependency order; closes LevelDB
  log->info("stopped");
}

}  // namespace tidemq::broker
