#include "broker/executors.h"

#include <pthread.h>

#include "common/logging.h"

namespace tidemq::broker {

Executors::Executors(unsigned io_threads, unsigned blocking_threads)
    : io_threads_(io_threads), io_(static_cast<int>(io_threads)), work_(io_.get_executor()), blocking_(blocking_threads) {}

Executors::~Executors() { join(); }

void Executors::start() {
  for (unsigned i = 0; i < io_threads_; ++i) {
    threads_.emplace_back([this] {
      pthread_setname_np(pthread_self(), "tmq-io");
      for (;;) {
        try {
          io_.run();
          return;
        } catch (const std::exception& e) {  // a handler threw: log and keep serving
          logging::get("net")->error("uncaught exception on an io thread: {}", e.what());
        }
      }
    });
  }
}

void Executors::join() {
  if (joined_) return;
  joined_ = true;
  blocking_.join();
  work_.reset();
  io_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace tidemq::broker
