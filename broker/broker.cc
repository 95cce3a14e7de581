#include "broker/broker.h"

#include <cstdlib>
#include <optional>
#include <thread>

#include "broker/delivery/group_coordinator.h"
#include "broker/delivery/long_poll.h"
#include "broker/delivery/rate_limiter.h"
#include "broker/dispatch/dispatcher.h"
#include "broker/dispatch/services.h"
#include "broker/dispatch/session_check_sender.h"
#include "broker/executors.h"
#include "broker/metrics/broker_metrics.h"
#include "broker/net/server.h"
#include "broker/net/session_registry.h"
#include "broker/net/write_pressure.h"
#include "broker/periodic_job.h"
#include "broker/schedule/delay_store.h"
#include "broker/schedule/retry_service.h"
#include "broker/store/disk_guard.h"
#include "broker/store/db.h"
#include "broker/store/group_config_store.h"
#include "broker/store/log_store.h"
#include "broker/store/offset_store.h"
#include "broker/store/topic_registry.h"
#include "broker/txn/txn_service.h"
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
  const Clock& clock = time;
  int64_t reported_step_ms = 0;  // the wall-clock step last logged
  leveldb::Env* env;
  FreeSpaceFn free_space;
  std::unique_ptr<Db> db;
  std::unique_ptr<TopicRegistry> topics;
  std::unique_ptr<LogStore> log;
  std::unique_ptr<OffsetStore> offsets;
  std::unique_ptr<GroupConfigStore> group_configs;
  std::unique_ptr<RateLimiters> rate_limiters;
  std::unique_ptr<GroupCoordinator> groups;
  std::unique_ptr<Executors> executors;
  std::unique_ptr<LongPoll> long_poll;
  SessionRegistry sessions;
  BrokerMetrics metrics;
  std::unique_ptr<DiskGuard> disk;
  std::unique_ptr<WritePressure> pressure;
  std::unique_ptr<Services> services;
  std::unique_ptr<Dispatcher> dispatcher;
  std::unique_ptr<Server> server;
  std::unique_ptr<asio::steady_timer> retention_timer;
  std::unique_ptr<asio::steady_timer> expiry_timer;
  std::unique_ptr<PeriodicJob> disk_job;   // statvfs of the data dir
  std::unique_ptr<SessionCheckSender> check_sender;
  std::unique_ptr<txn::TxnService> txn;
  std::unique_ptr<PeriodicJob> check_job;  // the check-back scheduler's rounds
  std::unique_ptr<DelayStore> delays;
  std::unique_ptr<RetryService> retries;
  std::unique_ptr<PeriodicJob> delay_job;  // moves due scheduled messages into their topics
  std::unique_ptr<PeriodicJob> step_job;   // logs wall-clock steps the broker ignores
  bool started = false;
  bool stopped = false;

  void schedule_retention() {
    retention_timer->expires_after(std::chrono::milliseconds(config.retention_check_ms));
    retention_timer->async_wait([this](const asio::error_code& ec) {
      if (ec) return;
      asio::post(executors->blocking(), [this] {
        auto n = log->apply_retention();
        if (!n.is_ok()) logging::get("store")->warn("retention: {}", n.status().to_string());
        metrics.retention_runs.fetch_add(1, std::memory_order_relaxed);
      });
      schedule_retention();
    });
  }

  // Opens LevelDB and loads what lives in memory: topics, partition ends, offsets, group configs.
  Status load_stores(const DbOptions& dbo) {
    auto opened = Db::open(dbo);
    if (!opened.is_ok()) return opened.status();
    db = std::move(opened).value();
    topics = std::make_unique<TopicRegistry>(*db, clock);
    TIDEMQ_RETURN_IF_ERROR(topics->load());
    log = std::make_unique<LogStore>(*db, *topics, clock);
    TIDEMQ_RETURN_IF_ERROR(log->open());
    offsets = std::make_unique<OffsetStore>(*db, clock);
    TIDEMQ_RETURN_IF_ERROR(offsets->load());
    group_configs = std::make_unique<GroupConfigStore>(*db, clock);
    return group_configs->load();
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
      if (size_t n = groups->expire(); n > 0) logging::get("groups")->info("{} member(s) expired", n);
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
  DbOptions dbo;
  dbo.path = m.config.data_dir;
  dbo.flush = m.config.flush;
  dbo.env = m.env;
  dbo.write_buffer_bytes = m.config.write_buffer_bytes;
  dbo.max_file_bytes = m.config.max_file_bytes;
  dbo.block_cache_bytes = m.config.block_cache_bytes;
  dbo.compression = m.config.compression;
  dbo.table_writeback_bytes = m.config.table_writeback_bytes;
  dbo.table_write_pace = m.config.table_write_pace;
  dbo.table_write_floor_bytes = m.config.table_write_floor_bytes;
  if (Status st = m.load_stores(dbo); !st.is_ok()) {
    // Damage the broker cannot repair (tests/integration/disk_fault_test.cc): say where, and stop.
    return Status(st.code(), "cannot load the stored data in '" + m.config.data_dir + "': " + st.message() +
                                 " (a damaged or cut-short file reads like this; mqbroker does not serve from "
                                 "it: restore the directory from a copy)");
  }
  m.rate_limiters = std::make_unique<RateLimiters>(m.clock);
  for (const auto& g : m.group_configs->list()) m.rate_limiters->configure(g);
  m.groups = std::make_unique<GroupCoordinator>(
      m.clock,
      [topics = m.topics.get()](const std::string& topic) {
        auto t = topics->find(topic);
        return t ? t->partitions : 0u;
      },
      [configs = m.group_configs.get()](const std::string& group) {
        GroupConfig c = configs->find_or_default(group);
        return std::make_pair(c.strategy, c.mode);
      });

  m.executors = std::make_unique<Executors>(m.config.io_threads, m.config.blocking_threads);
  m.long_poll = std::make_unique<LongPoll>(m.executors->io(), m.executors->blocking());
  m.log->set_append_listener([lp = m.long_poll.get()](uint32_t topic_id, uint32_t partition, uint64_t) {
    lp->notify(topic_id, partition);
  });
  m.disk = std::make_unique<DiskGuard>(m.config.data_dir, m.config.min_free_disk_bytes, m.free_space);
  m.disk->check();  // the first sample before serving (blocking is fine here)
  WritePressure::Options po;
  po.max_pending_bytes = m.config.max_pending_bytes;
  po.resume_bytes = WritePressure::resume_bytes_for(m.config.max_pending_bytes);
  po.busy_timeout_ms = m.config.busy_timeout_ms;
  m.pressure = std::make_unique<WritePressure>(m.executors->io().get_executor(),
                                               [log = m.log.get()] { return log->pending_bytes(); }, po, m.clock,
                                               m.metrics.backpressure_pauses);
  m.log->set_drain_listener([p = m.pressure.get()] { p->on_drained(); });
  m.groups->set_change_listener([lp = m.long_poll.get()](const std::string& group, uint32_t) {
    lp->notify_group(group);  // waiting group fetches answer now: members learn the new generation
  });
  m.check_sender = std::make_unique<SessionCheckSender>(m.sessions, *m.topics);
  m.txn = std::make_unique<txn::TxnService>(*m.db, *m.log, *m.topics, m.clock, txn::txn_options(m.config),
                                            *m.check_sender, m.executors->blocking());
  TIDEMQ_RETURN_IF_ERROR(m.txn->open());
  m.delays = std::make_unique<DelayStore>(*m.db, *m.log, m.clock, DelayOptions{m.config.delay_max_per_tick});
  TIDEMQ_RETURN_IF_ERROR(m.delays->open());
  m.retries = std::make_unique<RetryService>(*m.topics, *m.group_configs, *m.offsets, *m.log, *m.delays, m.clock,
                                             m.config.max_message_bytes,
                                             [g = m.groups.get()](const TopicConfig& t) { g->topic_changed(t.name); });
  m.services.reset(new Services{m.config, m.clock, *m.db, *m.topics, *m.log, *m.long_poll, *m.groups,
                                *m.offsets, *m.group_configs, *m.rate_limiters, m.sessions, m.metrics,
                                *m.pressure, *m.disk, *m.txn, *m.delays, *m.retries, m.executors->blocking(),
                                m.clock.monotonic_ms(), ""});
  m.dispatcher = std::make_unique<Dispatcher>(*m.services);
  SessionLimits limits;
  limits.max_frame_bytes = m.config.max_frame_bytes;
  limits.idle_timeout_ms = m.config.idle_timeout_ms;
  limits.frame_timeout_ms = m.config.frame_timeout_ms;
  limits.max_outbound_bytes = m.config.max_outbound_bytes;
  limits.max_inflight = m.config.max_inflight_per_connection;
  m.server = std::make_unique<Server>(m.executors->io(), *m.dispatcher, m.sessions, limits,
                                      m.config.max_connections, m.clock, m.pressure.get());
  TIDEMQ_RETURN_IF_ERROR(m.server->listen(m.config.listen_host(), m.config.listen_port()));
  m.services->listen = m.config.listen_host() + ":" + std::to_string(m.server->port());
  m.retention_timer = std::make_unique<asio::steady_timer>(m.executors->io());
  m.schedule_retention();
  m.expiry_timer = std::make_unique<asio::steady_timer>(m.executors->io());
  m.schedule_expiry();
  if (m.disk->enabled()) {
    m.disk_job = std::make_unique<PeriodicJob>(m.executors->io(), m.executors->blocking(),
                                               std::chrono::milliseconds(m.config.disk_check_ms),
                                               [d = m.disk.get()] { d->check(); });
    m.disk_job->start();
  }
  m.check_job = std::make_unique<PeriodicJob>(m.executors->io(), m.executors->blocking(),
                                              std::chrono::milliseconds(m.config.check_scan_ms),
                                              [t = m.txn.get()] { t->run_checks(); });
  m.check_job->start();
  m.delay_job = std::make_unique<PeriodicJob>(m.executors->io(), m.executors->blocking(),
                                              std::chrono::milliseconds(m.config.delay_tick_ms), [d = m.delays.get()] {
                                                auto n = d->move_due();
                                                if (!n.is_ok()) {
                                                  logging::get("schedule")->warn("moving due messages: {}",
                                                                                 n.status().to_string());
                                                }
                                              });
  m.delay_job->start();
  m.step_job = std::make_unique<PeriodicJob>(m.executors->io(), m.executors->blocking(), kStepCheckInterval,
                                             [&m] { m.report_clock_step(); });
  m.step_job->start();
  m.executors->start();
  return Status::ok();
}

void Broker::stop() {
  Impl& m = *impl_;
  if (m.stopped || !m.started) return;
  m.stopped = true;
  auto log = logging::get("broker");
  if (m.server) {
    // Phase 1: no new connections, no new requests; long polls answer now.
    m.server->stop_accepting();
    for (auto& s : m.sessions.all()) s->stop_reading();
    m.long_poll->wake_all();
    // Phase 2: wait for in-flight requests to be answered.
    auto deadline = std::chrono::steady_clock::now() + kShutdownGrace;
    for (;;) {
      uint32_t inflight = 0;
      for (auto& s : m.sessions.all()) inflight += s->inflight();
      if (inflight == 0 || std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (m.retention_timer) asio::post(m.executors->io(), [t = m.retention_timer.get()] { t->cancel(); });
    if (m.expiry_timer) asio::post(m.executors->io(), [t = m.expiry_timer.get()] { t->cancel(); });
    if (m.disk_job) m.disk_job->stop();
    if (m.check_job) m.check_job->stop();
    if (m.delay_job) m.delay_job->stop();
    if (m.step_job) m.step_job->stop();
  }
  if (m.txn) m.txn->stop();  // its operations in flight complete (they need the writer and the pool)
  if (m.log) m.log->stop();  // writes whatever is queued
  // Requests still parked by back-pressure (the grace ran out) answer ShuttingDown; the paused
  // readers wake and see that reading stopped.
  if (m.pressure) m.pressure->stop();
  for (auto& s : m.sessions.all()) s->close("broker shutting down");
  if (m.executors) m.executors->join();
  // Asio objects (acceptor, timers) go before their io_context; the io_context's destruction then
  // frees the remaining coroutine frames while the dispatcher and store they point to still exist.
  m.server.reset();
  m.retention_timer.reset();
  m.expiry_timer.reset();
  m.disk_job.reset();
  m.check_job.reset();
  m.delay_job.reset();
  m.step_job.reset();
  m.pressure.reset();  // its strand timer and parked requests (sessions) go before the io_context
  m.executors.reset();
  m.long_poll.reset();
  m.dispatcher.reset();
  m.txn.reset();
  m.retries.reset();
  m.delays.reset();
  m.check_sender.reset();
  m.groups.reset();
  m.rate_limiters.reset();
  m.group_configs.reset();
  m.offsets.reset();
  m.log.reset();
  m.topics.reset();
  m.db.reset();  // closes LevelDB
  log->info("stopped");
}

}  // namespace tidemq::broker
