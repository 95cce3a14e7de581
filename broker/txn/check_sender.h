#pragma once
// How the check-back reaches producers. The broker implements it over its live sessions
// (net/session_registry); tests use a fake. TxnService never calls it while holding its lock.
#include <cstdint>
#include <string>
#include <vector>

namespace tidemq::broker::txn {

struct CheckRequest {
  uint64_t txn_id = 0;
  std::string producer_group;
  uint32_t topic_id = 0;
  uint32_t partition = 0;
  std::string batch;         // the half-message's record batch (one record)
  uint32_t check_count = 0;  // checks sent for this transaction, this one included
};

class CheckSender {
 public:
  virtual ~CheckSender() = default;
  // Session ids of the live connections whose Hello named `group`, sorted ascending. Called from
  // run_checks() and summary(). Must not block (a short lock is fine).
  virtual std::vector<uint64_t> live_producers(const std::string& group) = 0;
  // Queues a CheckTransaction on that session. Returns false if the session is gone (nothing
  // was sent); the scheduler then tries the group's next live producer. Called on a blocking-pool
  // thread. Must not block.
  virtual bool send(uint64_t session_id, const CheckRequest& request) = 0;
};

}  // namespace tidemq::broker::txn
