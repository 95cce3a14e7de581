#pragma once
// A broker running inside the test process on 127.0.0.1:0 with its data in a temp dir.
// restart() stops it and starts a new one on the same data dir (a clean restart).
#include <memory>
#include <string>

#include <doctest/doctest.h>

#include "broker/broker.h"
#include "common/logging.h"
#include "tests/support/temp_dir.h"
#include "tidemq/options.h"

namespace tidemq::test {

class InProcessBroker {
 public:
  // `env` (optional, e.g. a FaultEnv) must outlive the broker. `free_space` (optional) replaces
  // statvfs for the disk low-water mark. `clock` (optional, e.g. a ManualClock) must outlive it too.
  explicit InProcessBroker(broker::BrokerConfig config = {}, leveldb::Env* env = nullptr,
                           broker::FreeSpaceFn free_space = nullptr, const Clock& clock = Clock::system())
      : config_(std::move(config)), env_(env), free_space_(std::move(free_space)), clock_(clock) {
    config_.data_dir = dir_.str();
    config_.listen = "127.0.0.1:0";
    config_.log_level = "warn";
    (void)logging::init(config_.log_level);
    start();
  }
  ~InProcessBroker() { broker_.reset(); }

  void start() {
    broker_ = std::make_unique<broker::Broker>(config_, clock_, env_, free_space_);
    auto st = broker_->start();
    REQUIRE_MESSAGE(st.is_ok(), st.to_string());
    config_.listen = "127.0.0.1:" + std::to_string(broker_->port());  // keep the port on restart
  }
  void stop() { broker_.reset(); }
  void restart() {
    stop();
    start();
  }

  std::string address() const { return config_.listen; }
  uint16_t port() const { return static_cast<uint16_t>(std::stoi(config_.listen.substr(config_.listen.rfind(':') + 1))); }
  ClientOptions client_options() const {
    ClientOptions o;
    o.broker = address();
    o.request_timeout = std::chrono::milliseconds(10000);
    return o;
  }
  const std::string& data_dir() const { return config_.data_dir; }

 private:
  TempDir dir_;
  broker::BrokerConfig config_;
  leveldb::Env* env_;
  broker::FreeSpaceFn free_space_;
  const Clock& clock_;
  std::unique_ptr<broker::Broker> broker_;
};

}  // namespace tidemq::test
