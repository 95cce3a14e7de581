#pragma once
// Connection: one TCP connection to the broker, with its own asio::io_context and I/O thread.
//
// - Connects lazily (the first request, or connect()) with ClientOptions::connect_timeout, then
//   says Hello; requests queued meanwhile are written once the Hello response has arrived.
// - Requests are pipelined: each has a correlation id and a handler; responses may come back in
//   any order. A request without a response after its timeout fails with Timeout (a sweep timer).
// - One reader (FrameDecoder + flatbuffers::Verifier on every frame) and one writer that drains
//   the outbound queue with one gathered async_write per round; no lock is held during I/O.
// - On connection loss every pending request fails with Unavailable; the next request reconnects
//   (and says Hello again, which may lease a different worker id: see set_session_listener).
// - A frame whose correlation id is not a pending request of ours and whose body is a request
//   (the broker asking us something, e.g. a transaction check-back) goes to the incoming handler,
//   stamped with the session it came on, so that the answer can go back on that session only.
//
// Threads: every public method may be called from any thread except the I/O thread itself
// (call() and close() block). Handlers and listeners run on the I/O thread and must not block.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "common/status.h"
#include "common/thread_annotations.h"
#include "schemas/envelope_generated.h"
#include "tidemq/options.h"

namespace tidemq::client {

// A received frame that passed the Verifier; envelope() points into `bytes`.
struct Frame {
  std::string bytes;
  uint64_t session = 0;  // the session (HelloInfo::session) it arrived on
  const wire::Envelope& envelope() const { return *wire::GetEnvelope(bytes.data()); }
};

// One outbound frame: the 4-byte header and the finished Envelope, written as two buffers.
struct OutFrame {
  char header[4] = {};
  flatbuffers::DetachedBuffer payload;
};

// What the broker said in its Hello response, plus which session (1, 2, ...) it belongs to.
struct HelloInfo {
  std::string broker_version;
  uint32_t protocol_version = 0;
  int32_t worker_id = -1;
  uint32_t max_frame_bytes = 0;
  uint32_t max_message_bytes = 0;
  std::string flush_mode;
  uint64_t session = 0;
};

struct ConnectionOptions {
  ClientOptions client;
  wire::ClientKind kind = wire::ClientKind::ADMIN;
  std::string producer_group;
};

// Finishes `fbb` as an Envelope around `body` and returns it as an outbound frame.
OutFrame finish_envelope(flatbuffers::FlatBufferBuilder& fbb, uint64_t correlation_id, wire::Body type,
                         flatbuffers::Offset<void> body);

// Checks the broker address ("host:port") and timeouts; fills client_id when empty.
Status validate_client_options(ClientOptions& options);

class Connection {
 public:
  // Called exactly once per request: with the response frame (whose envelope error is NONE), or
  // with the failure (envelope error, Timeout, Unavailable, ShuttingDown, ProtocolError).
  using ResponseHandler = std::function<void(Result<Frame>)>;
  using SessionListener = std::function<void(const HelloInfo&)>;
  using IncomingHandler = std::function<void(Frame)>;
  using LossListener = std::function<void(const Status& why)>;

  // Validates options and starts the I/O thread; does not connect yet.
  static Result<std::unique_ptr<Connection>> create(ConnectionOptions options);
  ~Connection();  // close()
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Set these before the first request. The session listener runs after every successful Hello.
  void set_session_listener(SessionListener listener);
  // Broker-initiated requests. Without a handler they are logged and dropped.
  void set_incoming_handler(IncomingHandler handler);
  // Runs when a live (Hello-answered) session is lost. Nothing reconnects by itself until the next
  // request or connect(): a client that must stay reachable (check-backs) reconnects from here.
  void set_loss_listener(LossListener listener);

  // Connects and says Hello if not connected; blocks. Returns the Hello of the live session.
  // Errors: Unavailable (cannot connect / lost), the Hello's own error, ShuttingDown.
  Result<HelloInfo> connect();
  // The Hello of the live session, if there is one.
  std::optional<HelloInfo> hello() const;

  uint64_t next_correlation_id();

  // Queues a request. `timeout` 0 means ClientOptions::request_timeout. The handler runs on the
  // I/O thread — except after close(), when it runs inline with ShuttingDown.
  void send(uint64_t correlation_id, OutFrame frame, ResponseHandler handler,
            std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  // Builds the envelope around `body` (already in `fbb`) and queues it.
  void send(flatbuffers::FlatBufferBuilder& fbb, wire::Body type, flatbuffers::Offset<void> body,
            ResponseHandler handler, std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  // Sends and waits for the response. Not on the I/O thread.
  Result<Frame> call(flatbuffers::FlatBufferBuilder& fbb, wire::Body type, flatbuffers::Offset<void> body,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  // Queues a frame that expects no response (answers to broker-initiated requests). Dropped if
  // there is no live session, or, with `session` != 0, if the live session is not that one (an
  // answer belongs to the connection its request came on; after a reconnect the broker asks again).
  void send_oneway(OutFrame frame, uint64_t session = 0);

  // Fails pending requests with ShuttingDown, closes the socket, joins the I/O thread. Idempotent.
  void close();

  const ConnectionOptions& options() const { return options_; }

 private:
  struct Session;
  struct Pending {
    ResponseHandler handler;
    std::chrono::steady_clock::time_point deadline;
  };
  enum class State { kIdle, kConnecting, kReady, kClosed };

  explicit Connection(ConnectionOptions options);

  // All below run on the I/O thread.
  void start_connect();
  void on_connected(const std::shared_ptr<Session>& s);
  void on_hello(const std::shared_ptr<Session>& s, Result<Frame> r);
  void start_read(const std::shared_ptr<Session>& s);
  bool handle_frame(const std::shared_ptr<Session>& s, std::string bytes);
  void do_write(const std::shared_ptr<Session>& s);
  // One vectored write of s->writing (header + payload per frame); on completion, do_write().
  void write_frames(const std::shared_ptr<Session>& s);
  void on_loss(const std::shared_ptr<Session>& s, Status why);
  void sweep();
  void arm_sweep();
  void notify_connect_waiters(const Result<HelloInfo>& r);

  struct Io;  // io_context, work guard, timers, resolver: Asio stays in connection.cc
  const ConnectionOptions options_;
  std::string host_;
  std::string port_;
  std::unique_ptr<Io> io_;
  std::mutex close_mu_;  // serialises close()
  std::thread thread_;
  std::shared_ptr<Session> session_;  // I/O thread only
  uint64_t session_counter_ = 0;       // I/O thread only

  mutable std::mutex mu_;
  std::condition_variable connect_cv_;
  State state_ GUARDED_BY(mu_) = State::kIdle;
  std::unordered_map<uint64_t, Pending> pending_ GUARDED_BY(mu_);
  std::vector<OutFrame> outbound_ GUARDED_BY(mu_);
  bool write_in_progress_ GUARDED_BY(mu_) = false;
  std::optional<HelloInfo> hello_ GUARDED_BY(mu_);
  uint64_t connect_attempts_done_ GUARDED_BY(mu_) = 0;
  Status last_connect_error_ GUARDED_BY(mu_);
  std::atomic<uint64_t> next_correlation_id_{1};
  SessionListener session_listener_;
  IncomingHandler incoming_handler_;
  LossListener loss_listener_;
};

}  // namespace tidemq::client
