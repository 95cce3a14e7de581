#include "broker/net/server.h"

#include "common/logging.h"

namespace tidemq::broker {

Server::Server(asio::io_context& io, FrameHandler& handler, SessionRegistry& registry,
               const SessionLimits& limits, uint32_t max_connections, const Clock& clock,
               WritePressure* pressure)
    : io_(io),
      handler_(handler),
      registry_(registry),
      limits_(limits),
      max_connections_(max_connections),
      clock_(clock),
      pressure_(pressure),
      acceptor_(io) {}

Status Server::listen(const std::string& host, uint16_t port) {
  asio::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return Status::invalid_argument("listen: bad address '" + host + "': " + ec.message());
  asio::ip::tcp::endpoint ep(addr, port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::unavailable("cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(io_, accept_loop(), asio::detached);
  return Status::ok();
}

void Server::stop_accepting() {
  asio::post(io_, [this] {
    asio::error_code ignored;
    acceptor_.close(ignored);
  });
}

asio::awaitable<void> Server::accept_loop() {
  auto log = logging::get("net");
  for (;;) {
    asio::error_code ec;
    asio::ip::tcp::socket socket(io_);
    co_await acceptor_.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      log->warn("accept: {}", ec.message());
      if (ec == asio::error::no_descriptors) {  // EMFILE: back off instead of spinning
        asio::steady_timer t(io_, std::chrono::milliseconds(100));
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      continue;
    }
    if (registry_.size() >= max_connections_) {
      log->warn("refusing a connection: {} connections open (max-connections)", registry_.size());
      asio::error_code ignored;
      socket.close(ignored);
      continue;
    }
    auto session = std::make_shared<Session>(std::move(socket), next_session_id_++, handler_, limits_, clock_,
                                              pressure_);
    registry_.add(session);
    session->start();
  }
}

}  // namespace tidemq::broker
