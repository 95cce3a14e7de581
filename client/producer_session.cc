#include "client/producer_session.h"

#include "common/logging.h"

namespace tidemq::client {

bool ProducerSession::on_hello(const HelloInfo& hello) {
  max_message_bytes_.store(hello.max_message_bytes, std::memory_order_relaxed);
  max_frame_bytes_.store(hello.max_frame_bytes, std::memory_order_relaxed);
  if (hello.worker_id < 0 || static_cast<uint32_t>(hello.worker_id) > kMaxWorkerId) {
    logging::get("producer")->error("broker leased no valid snowflake worker id ({})", hello.worker_id);
    return false;
  }
  const auto worker = static_cast<uint32_t>(hello.worker_id);
  std::lock_guard lock(mu_);
  if (current_ == nullptr || current_->worker_id() != worker) {
    generators_.push_back(std::make_unique<SnowflakeGenerator>(worker, clock_));
    current_ = generators_.back().get();
  }
  return true;
}

Result<uint64_t> ProducerSession::next_id() {
  SnowflakeGenerator* generator = nullptr;
  {
    std::lock_guard lock(mu_);
    generator = current_;
  }
  if (generator == nullptr) return Status::unavailable("no snowflake worker id leased by the broker");
  return generator->next();  // thread-safe; generators are never destroyed before the session
}

ConnectionOptions producer_connection_options(const ProducerOptions& options) {
  ConnectionOptions co;
  co.client = options.client;
  co.kind = wire::ClientKind::PRODUCER;
  co.producer_group = options.producer_group;
  return co;
}

Status connect_producer(Connection& conn) {
  TIDEMQ_ASSIGN_OR_RETURN(auto hello, conn.connect());
  if (hello.worker_id < 0) {
    return Status(StatusCode::kProtocolError, "the broker leased no snowflake worker id to this producer");
  }
  return Status::ok();
}

}  // namespace tidemq::client
