#pragma once
// ConnectionKeeper: keeps a Connection reachable for broker-initiated requests (check-backs)
// while nothing else uses it. A Connection reconnects only when it is next used; the keeper
// reconnects as soon as a live session is lost (the new Hello names the producer group again),
// backing off between failed attempts, and sends a heartbeat request every `heartbeat` while
// connected so the broker's idle timeout does not close a producer that only answers checks.
//
// Threads: one keeper thread. on_loss() is the connection's loss listener (I/O thread; never
// blocks); stop() from any thread but the I/O thread.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "client/connection.h"
#include "common/thread_annotations.h"

namespace tidemq::client {

class ConnectionKeeper {
 public:
  struct Options {
    std::chrono::milliseconds first_backoff{100};  // after the first failed reconnect
    std::chrono::milliseconds max_backoff{5000};   // doubling up to this
    std::chrono::milliseconds heartbeat{30000};    // 0 = no heartbeat
  };

  // `conn` must outlive the keeper. Starts the thread.
  ConnectionKeeper(Connection& conn, Options options);
  ~ConnectionKeeper();  // stop()
  ConnectionKeeper(const ConnectionKeeper&) = delete;
  ConnectionKeeper& operator=(const ConnectionKeeper&) = delete;

  // The connection lost its session: reconnect now.
  void on_loss();
  // Stops and joins the thread. A reconnect in progress ends within the connect timeout, or at
  // once if the connection is closed first. Idempotent.
  void stop();

 private:
  void run();
  // Connects until it works or stop(); false when stopped (or the connection closed).
  bool reconnect(std::unique_lock<std::mutex>& lock);
  void send_heartbeat();

  Connection& conn_;
  const Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool lost_ GUARDED_BY(mu_) = false;
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace tidemq::client
