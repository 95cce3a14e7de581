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
// Those transactions are never resolved by the fixture: as its clock moves they are checked back
// with its connection (the fuzzed CheckTransactionResponses may answer) and, past check_max, parked.
//
// fuzz_raw_broker uses the same broker with raw connections of its own, next to the fixture's: a
// new Session on a new socketpair (the fixture's limits) that the harness writes arbitrary bytes
// into, unframed and unverified, and a probe connection that checks the broker still serves.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tidemq::wire {
struct Envelope;
}

namespace tidemq::fuzz {

// The shape every answer of the broker must have (both targets check it): a known ErrorCode;
// an error has no body, a success a *Response body. Aborts (a fuzz failure) otherwise.
void check_answer_shape(const wire::Envelope& answer);

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
  // The fuzz target's broker: state lives across inputs, and a new broker (a new TempDir) replaces
  // it every kInputsPerBroker calls, which bounds the data dir and memory in long runs. The last
  // one is stopped and its TempDir removed at a normal exit.
  static constexpr int kInputsPerBroker = 2000;
  static HandlerBroker& shared();
  HandlerBroker(const HandlerBroker&) = delete;
  HandlerBroker& operator=(const HandlerBroker&) = delete;

  struct Exchange {
    std::vector<std::string> frames;  // every frame the session wrote back (Envelope payloads)
    size_t stale = 0;                 // frames that arrived after the previous exchange ended
    size_t check_requests = 0;        // CheckTransactionRequests the broker sent meanwhile (not in frames)
  };

  // Sends one Envelope (which the caller has verified) as one frame, its placeholders replaced by
  // live ids (unchanged if it has none, or on a fresh connection), and runs the broker until it
  // is answered: until a frame came back, then whatever is immediately ready. CheckTransactionRequests
  // the broker sends on its own are counted, not returned. A fetch parked in a long poll is
  // released by moving the clock 30 s on and waking the long polls; each such move is followed by
  // a check-back round (TxnService::run_checks, mqbroker's periodic job). `one_way` (a CheckTransactionResponse): a probe
  // request follows it and the exchange ends with the probe's answer, which is not returned.
  // `fresh_session`: the request is the first on a new connection (no Hello done); otherwise it
  // goes on a connection whose Hello (a transactional producer of kProducerGroup) succeeded.
  // Aborts (a fuzz failure) when nothing comes back within 30 s.
  Exchange exchange(std::string_view envelope, bool one_way, bool fresh_session);

  // --- Raw connections (fuzz_raw_broker). One at a time; exchange() is not used meanwhile. ---

  // The payload (an Envelope) of the Hello raw_open() sends: a transactional producer of
  // kProducerGroup, correlation id kHelloId.
  static constexpr uint64_t kHelloId = 1;
  static std::string hello_envelope();
  // Re-creates the fixture's topics and group config if a request deleted them, then opens a raw
  // connection. `hello`: first says Hello (hello_envelope(), framed) on it and waits for its
  // answer, which must succeed. Aborts if a raw connection is open.
  void raw_open(bool hello);
  struct RawRead {
    std::vector<std::string> frames;  // frames the broker wrote back meanwhile (Envelope payloads)
    bool closed = false;              // the broker has closed the raw connection
  };
  // Writes `bytes` as they are (no framing, no checks) and runs the broker until the session has
  // taken them in: it closed, or it read every byte written, nothing it took is still in flight
  // (every complete frame it read was answered, or was one-way) and nothing is ready to run. A
  // fetch parked in a long poll is released as exchange() does. Stops writing once the broker
  // closed. Aborts (a hang) after 30 s.
  RawRead raw_write(std::string_view bytes);
  // Runs the broker until the raw connection has written at least `answers` frames since it was
  // opened (not counting the Hello's answer), or closed; aborts after 30 s (complete frames left
  // unanswered). A muted reader (Session::mute_for) takes its frames only when the mute ends.
  RawRead raw_wait_answers(size_t answers);
  // Runs the broker until it closed the raw connection; aborts after 30 s.
  RawRead raw_wait_closed();
  // Shuts down the client's write side (EOF mid-stream) and runs until the broker closed.
  RawRead raw_shutdown_write();
  // Closes the raw connection from the client's side (if the broker has not) and waits until its
  // session is closed, gone from the registry and released by everything that held it (work its
  // requests started, a parked fetch). Aborts if that takes 30 s (a leak), or if the client's
  // decoder holds part of a frame (the broker wrote a frame only in part).
  RawRead raw_close();
  // Sessions in the broker's registry (the fixture's own connection is one).
  size_t sessions() const;
  // The sessions' frame cap (SessionLimits::max_frame_bytes: the broker's --max-frame-bytes).
  uint32_t max_frame_bytes() const;
  // On a fresh connection: a Hello (an admin client), then a ListTopicsRequest; both must be
  // answered without error (ListTopicsResponse listing kTopic and kSmallTopic, which are
  // re-created first if a request deleted them). The connection is closed afterwards.
  void probe();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tidemq::fuzz
