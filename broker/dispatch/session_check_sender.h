#pragma once
// Sends check-backs to live producer connections (txn::CheckSender over the SessionRegistry): a
// CheckTransactionRequest envelope queued on the session like a response, with a correlation id
// of the broker's own (high bit set, so it never clashes with the client's ids). The answer comes
// back as a CheckTransactionResponse frame (handlers::check_reply). Thread-safe, non-blocking.
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "broker/net/session_registry.h"
#include "broker/store/topic_registry.h"
#include "broker/txn/check_sender.h"

namespace tidemq::broker {

inline constexpr uint64_t kBrokerRequestIdBit = 1ull << 63;

class SessionCheckSender final : public txn::CheckSender {
 public:
  SessionCheckSender(SessionRegistry& sessions, const TopicRegistry& topics) : sessions_(sessions), topics_(topics) {}

  std::vector<uint64_t> live_producers(const std::string& group) override;
  bool send(uint64_t session_id, const txn::CheckRequest& req) override;

 private:
  SessionRegistry& sessions_;
  const TopicRegistry& topics_;
  std::atomic<uint64_t> next_id_{0};
};

}  // namespace tidemq::broker
