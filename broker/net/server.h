#pragma once
// Accepts connections, caps their number, and creates a Session per connection.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <asio.hpp>

#include "broker/net/session.h"
#include "broker/net/session_registry.h"
#include "broker/net/write_pressure.h"
#include "common/clock.h"
#include "common/status.h"

namespace tidemq::broker {

class Server {
 public:
  // `pressure` (may be null) is handed to every session; it must outlive them.
  Server(asio::io_context& io, FrameHandler& handler, SessionRegistry& registry,
         const SessionLimits& limits, uint32_t max_connections, const Clock& clock,
         WritePressure* pressure = nullptr);

  // Binds and starts accepting. Port 0 picks a free port (see port()).
  Status listen(const std::string& host, uint16_t port);
  uint16_t port() const { return port_; }
  // Stops accepting (shutdown phase 1). Idempotent.
  void stop_accepting();

 private:
  asio::awaitable<void> accept_loop();

  asio::io_context& io_;
  FrameHandler& handler_;
  SessionRegistry& registry_;
  const SessionLimits limits_;
  const uint32_t max_connections_;
  const Clock& clock_;
  WritePressure* const pressure_;
  asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<uint64_t> next_session_id_{1};
};

}  // namespace tidemq::broker
