#pragma once
// The composition root: the stores and services (BrokerCore, broker_core.h), then the network,
// timers and periodic jobs, in order; taken down in reverse (STYLE habit 9). Usable in-process by
// tests (listen on port 0).
#include <memory>

#include <leveldb/env.h>

#include "broker/config.h"
#include "broker/store/disk_guard.h"
#include "common/clock.h"
#include "common/status.h"

namespace tidemq::broker {

class Broker {
 public:
  // `env` (LevelDB) and `clock` are injected for tests; both must outlive the broker.
  // `free_space` replaces statvfs for the disk low-water mark (tests); it runs on the blocking pool.
  explicit Broker(BrokerConfig config, const Clock& clock = Clock::system(), leveldb::Env* env = nullptr,
                  FreeSpaceFn free_space = nullptr);
  ~Broker();  // stop()

  // Opens the store (recovering offsets), binds the listener and starts serving.
  Status start();
  // The bound port (useful with --listen host:0).
  uint16_t port() const;
  const BrokerConfig& config() const;

  // Two-phase shutdown: stop accepting and reading, answer in-flight requests (long polls are
  // answered early), drain the writer, close connections and LevelDB. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tidemq::broker
