#include "client/connection_keeper.h"

#include <algorithm>

#include "common/logging.h"

namespace tidemq::client {

ConnectionKeeper::ConnectionKeeper(Connection& conn, Options options) : conn_(conn), options_(options) {
  thread_ = std::thread([this] { run(); });
}

ConnectionKeeper::~ConnectionKeeper() { stop(); }

void ConnectionKeeper::on_loss() {
  {
    std::lock_guard lock(mu_);
    lost_ = true;
  }
  cv_.notify_all();
}

void ConnectionKeeper::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ConnectionKeeper::run() {
  std::unique_lock lock(mu_);
  auto next_heartbeat = std::chrono::steady_clock::now() + options_.heartbeat;
  while (!stop_) {
    if (lost_) {
      lost_ = false;
      if (!reconnect(lock)) return;
      next_heartbeat = std::chrono::steady_clock::now() + options_.heartbeat;
      continue;
    }
    if (options_.heartbeat.count() <= 0) {
      cv_.wait(lock, [&] { return stop_ || lost_; });
      continue;
    }
    if (cv_.wait_until(lock, next_heartbeat, [&] { return stop_ || lost_; })) continue;
    next_heartbeat = std::chrono::steady_clock::now() + options_.heartbeat;
    lock.unlock();
    send_heartbeat();
    lock.lock();
  }
}

bool ConnectionKeeper::reconnect(std::unique_lock<std::mutex>& lock) {
  auto backoff = options_.first_backoff;
  for (;;) {
    lock.unlock();
    auto hello = conn_.connect();
    lock.lock();
    if (hello.is_ok()) {
      logging::get("client")->info("reconnected to {} (session {})", conn_.options().client.broker, hello->session);
      return true;
    }
    if (stop_ || hello.status().code() == StatusCode::kShuttingDown) return false;
    logging::get("client")->warn("reconnect to {} failed, next try in {} ms: {}", conn_.options().client.broker,
                                 backoff.count(), hello.status().to_string());
    if (cv_.wait_for(lock, backoff, [&] { return stop_; })) return false;
    backoff = std::min(backoff * 2, options_.max_backoff);
    lost_ = false;  // this loop is reconnecting already
  }
}

void ConnectionKeeper::send_heartbeat() {
  // Only on a live session: a heartbeat must not reconnect (a loss is on_loss's business).
  if (!conn_.hello()) return;
  flatbuffers::FlatBufferBuilder fbb(64);
  auto body = wire::CreateBrokerStatusRequest(fbb);
  conn_.send(fbb, wire::Body::BrokerStatusRequest, body.Union(), [](Result<Frame>) {});
}

}  // namespace tidemq::client
