#pragma once
// The broker without its network and timers: LevelDB, the stores, the group coordinator, the
// transaction and schedule services, write back-pressure and the dispatcher, wired in order.
// Broker (broker.h) adds the TCP server, the periodic jobs and the shutdown sequence;
// tests/fuzz/handler_broker.cc drives the same dispatcher through one Session with no listener.
//
// Threads: open() starts none (executors->start() does); the destructor releases in dependency
// order and expects the owner to have stopped the services and joined the executors first.
#include <memory>

#include <leveldb/env.h>

#include "broker/config.h"
#include "broker/delivery/group_coordinator.h"
#include "broker/delivery/long_poll.h"
#include "broker/delivery/rate_limiter.h"
#include "broker/dispatch/dispatcher.h"
#include "broker/dispatch/services.h"
#include "broker/dispatch/session_check_sender.h"
#include "broker/executors.h"
#include "broker/metrics/broker_metrics.h"
#include "broker/net/session_registry.h"
#include "broker/net/write_pressure.h"
#include "broker/schedule/delay_store.h"
#include "broker/schedule/retry_service.h"
#include "broker/store/db.h"
#include "broker/store/disk_guard.h"
#include "broker/store/group_config_store.h"
#include "broker/store/log_store.h"
#include "broker/store/offset_store.h"
#include "broker/store/topic_registry.h"
#include "broker/txn/txn_service.h"
#include "common/clock.h"
#include "common/status.h"

namespace tidemq::broker {

struct BrokerCore {
  // Opens config.data_dir (a load failure says where and why) and builds everything with
  // config.io_threads / blocking_threads executors. `clock`, `env` and everything `free_space`
  // uses must outlive the core.
  static Result<std::unique_ptr<BrokerCore>> open(BrokerConfig config, const Clock& clock,
                                                  leveldb::Env* env = nullptr, FreeSpaceFn free_space = nullptr);
  ~BrokerCore();
  BrokerCore(const BrokerCore&) = delete;
  BrokerCore& operator=(const BrokerCore&) = delete;

  BrokerConfig config;
  const Clock& clock;
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
  std::unique_ptr<SessionCheckSender> check_sender;
  std::unique_ptr<txn::TxnService> txn;
  std::unique_ptr<DelayStore> delays;
  std::unique_ptr<RetryService> retries;
  std::unique_ptr<Services> services;
  std::unique_ptr<Dispatcher> dispatcher;

 private:
  BrokerCore(BrokerConfig c, const Clock& clk) : config(std::move(c)), clock(clk) {}
  Status build(leveldb::Env* env, FreeSpaceFn free_space);
  Status load_stores(leveldb::Env* env);
};

}  // namespace tidemq::broker
