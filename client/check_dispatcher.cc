#include "client/check_dispatcher.h"

#include <exception>

#include "client/txn_requests.h"
#include "common/logging.h"

namespace tidemq::client {

namespace {
std::shared_ptr<spdlog::logger> log() {
  static auto l = logging::get("txn");
  return l;
}
}  // namespace

CheckDispatcher::CheckDispatcher(std::shared_ptr<TransactionChecker> checker, uint32_t threads, size_t max_pending,
                                 Answer answer)
    : checker_(std::move(checker)), max_pending_(max_pending), answer_(std::move(answer)), pool_(threads) {}

CheckDispatcher::~CheckDispatcher() { stop(); }

void CheckDispatcher::on_request(Frame frame) {
  received_.fetch_add(1, std::memory_order_relaxed);
  auto shared = std::make_shared<Frame>(std::move(frame));
  if (!pool_.try_submit([this, shared] { run(*shared); }, max_pending_)) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    log()->warn("dropping a transaction check: {} checks already wait for a checker thread (the broker will ask again)",
                max_pending_);
  }
}

void CheckDispatcher::run(const Frame& frame) {
  auto req = check_request_from(frame);
  if (!req.is_ok()) {
    failed_.fetch_add(1, std::memory_order_relaxed);
    log()->warn("dropping a broker request: {}", req.status().to_string());
    return;
  }
  TxnAction action = TxnAction::kUnknown;
  try {
    action = checker_->check(req->half, req->txn_id);
  } catch (const std::exception& e) {
    failed_.fetch_add(1, std::memory_order_relaxed);
    log()->warn("transaction checker threw for txn {} (answering UNKNOWN): {}", format_message_id(req->txn_id),
                e.what());
  } catch (...) {
    failed_.fetch_add(1, std::memory_order_relaxed);
    log()->warn("transaction checker threw for txn {} (answering UNKNOWN)", format_message_id(req->txn_id));
  }
  answered_.fetch_add(1, std::memory_order_relaxed);  // first: whoever sees the answer sees the count
  answer_(check_answer(req->correlation_id, req->txn_id, action), frame.session);
}

void CheckDispatcher::stop() { pool_.stop(); }

CheckStats CheckDispatcher::stats() const {
  CheckStats s;
  s.received = received_.load(std::memory_order_relaxed);
  s.answered = answered_.load(std::memory_order_relaxed);
  s.dropped = dropped_.load(std::memory_order_relaxed);
  s.failed = failed_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace tidemq::client
