#pragma once
// CheckDispatcher: the transactional producer's side of check-back (SPEC §6 step 4). The broker's
// CheckTransactionRequest frames arrive on the connection's I/O thread; each is queued for the
// checker pool (`threads` threads, never the I/O thread), where it is decoded, the
// TransactionChecker is asked, and the answer is handed to `answer` with the request's
// correlation id and the session it arrived on (the connection sends it on that session only).
// More than `max_pending` requests waiting: the new one is dropped with a warning — the broker
// asks again after its check interval (RocketMQ's checkRequestHoldMax).
//
// Threads: on_request() from the I/O thread (or any one thread); stop() and stats() from any
// thread but a checker thread.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include "client/connection.h"
#include "client/consume_pool.h"
#include "tidemq/transaction.h"

namespace tidemq::client {

class CheckDispatcher {
 public:
  using Answer = std::function<void(OutFrame frame, uint64_t session)>;

  CheckDispatcher(std::shared_ptr<TransactionChecker> checker, uint32_t threads, size_t max_pending, Answer answer);
  ~CheckDispatcher();  // stop()
  CheckDispatcher(const CheckDispatcher&) = delete;
  CheckDispatcher& operator=(const CheckDispatcher&) = delete;

  // Queues one broker request (never runs the checker on the calling thread).
  void on_request(Frame frame);
  // Drops the queued requests, waits for the running checks, joins the threads. Idempotent.
  void stop();
  CheckStats stats() const;

 private:
  void run(const Frame& frame);

  std::shared_ptr<TransactionChecker> checker_;
  const size_t max_pending_;
  Answer answer_;
  std::atomic<uint64_t> received_{0};
  std::atomic<uint64_t> answered_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> failed_{0};
  ConsumePool pool_;  // last: its threads stop before the members they use go away
};

}  // namespace tidemq::client
