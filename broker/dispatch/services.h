#pragma once
// What handlers may use: the broker's services, by reference. Built by the composition root
// (broker/broker.cc); handlers never create threads or own state of their own.
#include <cstdint>
#include <string>

#include <asio.hpp>

#include "broker/config.h"
#include "broker/delivery/group_coordinator.h"
#include "broker/delivery/long_poll.h"
#include "broker/delivery/rate_limiter.h"
#include "broker/metrics/broker_metrics.h"
#include "broker/net/session_registry.h"
#include "broker/net/write_pressure.h"
#include "broker/schedule/delay_store.h"
#include "broker/schedule/retry_service.h"
#include "broker/store/disk_guard.h"
#include "broker/store/db.h"
#include "broker/store/group_config_store.h"
#include "broker/store/log_store.h"
#include "broker/store/offset_store.h"
#include "broker/store/topic_registry.h"
#include "broker/txn/txn_service.h"
#include "common/clock.h"

namespace tidemq::broker {

struct Services {
  const BrokerConfig& config;
  const Clock& clock;
  Db& db;
  TopicRegistry& topics;
  LogStore& log;
  LongPoll& long_poll;
  GroupCoordinator& groups;
  OffsetStore& offsets;
  GroupConfigStore& group_configs;
  RateLimiters& rate_limiters;
  SessionRegistry& sessions;
  BrokerMetrics& metrics;
  WritePressure& pressure;         // producer back-pressure: admission of produce requests
  const DiskGuard& disk;           // disk low-water mark: refuse writes with DISK_FULL
  txn::TxnService& txn;            // half-messages, outcomes, check-backs
  DelayStore& delays;              // scheduled messages and retries, by due time
  RetryService& retries;           // send-back, %RETRY% / %DLQ% topics
  asio::any_io_executor blocking;  // blocking work: LevelDB reads, admin writes
  int64_t started_mono_ms = 0;
  std::string listen;              // the bound address, port resolved
};

}  // namespace tidemq::broker
