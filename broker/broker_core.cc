#include "broker/broker_core.h"

namespace tidemq::broker {

Result<std::unique_ptr<BrokerCore>> BrokerCore::open(BrokerConfig config, const Clock& clock, leveldb::Env* env,
                                                     FreeSpaceFn free_space) {
  std::unique_ptr<BrokerCore> core(new BrokerCore(std::move(config), clock));
  TIDEMQ_RETURN_IF_ERROR(core->build(env, std::move(free_space)));
  return core;
}

// Opens LevelDB and loads what lives in memory: topics, partition ends, offsets, group configs.
Status BrokerCore::load_stores(leveldb::Env* env) {
  DbOptions dbo;
  dbo.path = config.data_dir;
  dbo.flush = config.flush;
  dbo.env = env;
  dbo.write_buffer_bytes = config.write_buffer_bytes;
  dbo.max_file_bytes = config.max_file_bytes;
  dbo.block_cache_bytes = config.block_cache_bytes;
  dbo.compression = config.compression;
  dbo.table_writeback_bytes = config.table_writeback_bytes;
  dbo.table_write_pace = config.table_write_pace;
  dbo.table_write_floor_bytes = config.table_write_floor_bytes;
  auto opened = Db::open(dbo);
  if (!opened.is_ok()) return opened.status();
  db = std::move(opened).value();
  topics = std::make_unique<TopicRegistry>(*db, clock);
  TIDEMQ_RETURN_IF_ERROR(topics->load());
  log = std::make_unique<LogStore>(*db, *topics, clock, config.round_quantum_bytes);
  TIDEMQ_RETURN_IF_ERROR(log->open());
  offsets = std::make_unique<OffsetStore>(*db, clock);
  TIDEMQ_RETURN_IF_ERROR(offsets->load());
  group_configs = std::make_unique<GroupConfigStore>(*db, clock);
  return group_configs->load();
}

Status BrokerCore::build(leveldb::Env* env, FreeSpaceFn free_space) {
  if (Status st = load_stores(env); !st.is_ok()) {
    // Damage the broker cannot repair (tests/integration/disk_fault_test.cc): say where, and stop.
    return Status(st.code(), "cannot load the stored data in '" + config.data_dir + "': " + st.message() +
                                 " (a damaged or cut-short file reads like this; mqbroker does not serve from "
                                 "it: restore the directory from a copy)");
  }
  rate_limiters = std::make_unique<RateLimiters>(clock);
  for (const auto& g : group_configs->list()) rate_limiters->configure(g);
  groups = std::make_unique<GroupCoordinator>(
      clock,
      [t = topics.get()](const std::string& topic) {
        auto found = t->find(topic);
        return found ? found->partitions : 0u;
      },
      [c = group_configs.get()](const std::string& group) {
        GroupConfig g = c->find_or_default(group);
        return std::make_pair(g.strategy, g.mode);
      });

  executors = std::make_unique<Executors>(config.io_threads, config.blocking_threads);
  long_poll = std::make_unique<LongPoll>(executors->io(), executors->blocking());
  log->set_append_listener([lp = long_poll.get()](uint32_t topic_id, uint32_t partition, uint64_t) {
    lp->notify(topic_id, partition);
  });
  disk = std::make_unique<DiskGuard>(config.data_dir, config.min_free_disk_bytes, std::move(free_space));
  disk->check();  // the first sample before serving (blocking is fine here)
  WritePressure::Options po;
  po.max_pending_bytes = config.max_pending_bytes;
  po.resume_bytes = WritePressure::resume_bytes_for(config.max_pending_bytes);
  po.busy_timeout_ms = config.busy_timeout_ms;
  po.pace.start_files = config.ingest_pace_files;
  po.latency.target_us = config.round_latency_target_ms * 1000;
  WritePressure::Level0Fn level0;
  if (config.ingest_pace_files > 0) level0 = [d = db.get()] { return d->level0_files(); };
  pressure = std::make_unique<WritePressure>(executors->io().get_executor(), [l = log.get()] { return l->pending_bytes(); },
                                             po, clock, metrics.backpressure_pauses, std::move(level0));
  static_assert(ProduceMeter::kLightRequestBytes == LogStore::kSmallAppendBytes);
  log->set_drain_listener([p = pressure.get(), l = log.get()](size_t drained, int64_t write_us) {
    p->on_drained(drained, write_us);
    l->set_round_cap(p->round_cap());
  });
  groups->set_change_listener([lp = long_poll.get()](const std::string& group, uint32_t) {
    lp->notify_group(group);  // waiting group fetches answer now: members learn the new generation
  });
  check_sender = std::make_unique<SessionCheckSender>(sessions, *topics);
  txn = std::make_unique<txn::TxnService>(*db, *log, *topics, clock, txn::txn_options(config), *check_sender,
                                          executors->blocking());
  TIDEMQ_RETURN_IF_ERROR(txn->open());
  delays = std::make_unique<DelayStore>(*db, *log, clock, DelayOptions{config.delay_max_per_tick});
  TIDEMQ_RETURN_IF_ERROR(delays->open());
  retries = std::make_unique<RetryService>(*topics, *group_configs, *offsets, *log, *delays, clock,
                                           config.max_message_bytes,
                                           [g = groups.get()](const TopicConfig& t) { g->topic_changed(t.name); });
  services.reset(new Services{config, clock, *db, *topics, *log, *long_poll, *groups, *offsets, *group_configs,
                              *rate_limiters, sessions, metrics, *pressure, *disk, *txn, *delays, *retries,
                              executors->blocking(), clock.monotonic_ms(), ""});
  dispatcher = std::make_unique<Dispatcher>(*services);
  return Status::ok();
}

BrokerCore::~BrokerCore() {
  // Normally done by the owner already (idempotent): after a failed open() the writer may run.
  if (txn) txn->stop();
  if (log) log->stop();
  pressure.reset();  // its strand timer and parked requests (sessions) go before the io_context
  // The io_context's destruction frees the remaining coroutine frames while the dispatcher and
  // the stores they point to still exist.
  executors.reset();
  long_poll.reset();
  dispatcher.reset();
  services.reset();
  txn.reset();
  retries.reset();
  delays.reset();
  check_sender.reset();
  groups.reset();
  rate_limiters.reset();
  group_configs.reset();
  offsets.reset();
  log.reset();
  topics.reset();
  db.reset();  // closes LevelDB
}

}  // namespace tidemq::broker
