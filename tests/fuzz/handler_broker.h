#pragma once
// The broker fuzz_handlers talks to: a BrokerCore (the broker's stores, services and real
// Dispatcher, wired as mqbroker wires them) in a TempDir on a ManualClock, and one client connection — a real Session whose socket is one end
// of an AF_UNIX socketpair (no network). The harness writes a framed request into the other end
// and collects the frames the session writes back. Everything Asio runs on the calling thread
// (io_context::run_one_for); LevelDB work runs on the broker's blocking pool and log writer.
//
// Setup (through the same session, as a client would): topics kTopic (4 partitions) and
// kSmallTopic (1), the consumer-group config kGroup, and a few records in kTopic. A topic or the
// group config that a request deleted is created again before the next request.
//
// Live ids for the placeholders of tests/fuzz/placeholders.h, also through the session and made
// when a request first needs them: member slot 0 is a member of kGroup subscribed to kTopic, slot 1
// one subscribed to kSmallTopic (JoinGroup, session timeout 5 min); txn slot i is a pending
// transaction of kProducerGroup on kTopic partition i (SendHalf, one record). Before each use the
// fixture checks, in process, that the member is still in the group (it leaves with its
// connection, by a LeaveGroup or by expiry) and that the transaction is still pending on the topic
// as it is now (a request may have resolved it, or deleted the topic); if not, it makes a new one.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tidemq::fuzz {

class HandlerBroker {
 public:
  // The names tests/schemas/wire_samples.cc uses, so its sample requests hit existing state.
  static constexpr std::string_view kTopic = "orders";
  static constexpr std::string_view kSmallTopic = "payments";
  static constexpr std::string_view kGroup = "billing";
  static constexpr std::string_view kProducerGroup = "order-pg";
  static constexpr uint32_t kMaxMessageBytes = 4096;

  HandlerBroker();
  ~HandlerBroker();
  HandlerBroker(const HandlerBroker&) = delete;
  HandlerBroker& operator=(const HandlerBroker&) = delete;

  struct Exchange {
    std::vector<std::string> frames;  // every frame the session wrote back (Envelope payloads)
    size_t stale = 0;                 // frames that arrived after the previous exchange ended
  };

  // Sends one Envelope (which the caller has verified) as one frame, its placeholders replaced by
  // live ids (unchanged if it has none, or on a fresh connection), and runs the broker until it
  // is answered: until a frame other than a broker-initiated CheckTransactionRequest came back,
  // then whatever is immediately ready. A fetch parked in a long poll is released by moving the
  // clock 30 s on and waking the long polls. `one_way` (a CheckTransactionResponse): a probe
  // request follows it and the exchange ends with the probe's answer, which is not returned.
  // `fresh_session`: the request is the first on a new connection (no Hello done); otherwise it
  // goes on a connection whose Hello (a transactional producer of kProducerGroup) succeeded.
  // Aborts (a fuzz failure) when nothing comes back within 30 s.
  Exchange exchange(std::string_view envelope, bool one_way, bool fresh_session);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tidemq::fuzz
