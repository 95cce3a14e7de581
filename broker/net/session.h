#pragma once
// One client connection: one strand, one reader coroutine, one writer coroutine, one watchdog
// (STYLE habit 8). Frames are decoded incrementally (common/framing.h) and handed to the
// FrameHandler on the strand; responses come back through send() from any thread.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include <asio.hpp>
#include <flatbuffers/detached_buffer.h>

#include "broker/net/write_pressure.h"
#include "common/clock.h"
#include "common/framing.h"

namespace tidemq::broker {

class Session;

// What a session needs from the layer above (the dispatcher implements it).
class FrameHandler {
 public:
  virtual ~FrameHandler() = default;
  // Called on the session's strand with one complete frame payload.
  virtual void on_frame(const std::shared_ptr<Session>& session, std::string frame) = 0;
  // Called on the strand when the byte stream is bad (oversize or empty frame); the session
  // closes after whatever this queues is written.
  virtual void on_stream_error(const std::shared_ptr<Session>& session, const Status& error) = 0;
  // Called once when the session closes (any thread).
  virtual void on_close(Session& session) = 0;
};

struct SessionLimits {
  uint32_t max_frame_bytes = framing::kDefaultMaxFrameBytes;
  int64_t idle_timeout_ms = 120'000;
  int64_t frame_timeout_ms = 30'000;
  size_t max_outbound_bytes = 64u << 20;
  uint32_t max_inflight = 4096;
};

// Per-connection facts the handlers keep; touched only on the session's strand.
struct ClientInfo {
  bool hello_done = false;
  std::string client_id;
  uint8_t kind = 0;
  std::string producer_group;
  int32_t worker_id = -1;
  ProduceMeter produce;  // is it a light producer (latency pacing)
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  using Socket = asio::ip::tcp::socket;

  // `pressure` (may be null: no write back-pressure) must outlive the session's coroutines.
  Session(Socket socket, uint64_t id, FrameHandler& handler, const SessionLimits& limits,
          const Clock& clock, WritePressure* pressure = nullptr);
  ~Session();

  // Spawns the reader, writer and watchdog on the strand.
  void start();
  // Queues a finished FlatBuffer (an Envelope) for writing; the session adds the frame header.
  // Thread-safe. Counts one request as answered when `completes_request` is true.
  // max_outbound_bytes caps what is unsent: queued on the strand plus on its way there from
  // other threads (answers of the blocking pool). An answer past the cap is dropped at once and
  // the session closes: a peer that does not read cannot make the broker hold more.
  void send(flatbuffers::DetachedBuffer payload, bool completes_request = true);
  // Counts one received frame as answered without sending anything (a client's reply to a
  // broker-initiated request). Thread-safe.
  void request_done();
  // Writes what is queued, then closes. Thread-safe, idempotent. Called on the strand (from the
  // FrameHandler), the reader takes no further frame, even one already read.
  void close(std::string reason);
  // Stops reading new requests (shutdown phase 1). Thread-safe.
  void stop_reading();
  // From now on this connection stops reading while the broker is under write back-pressure
  // (WritePressure::paused()) and one of its requests is unanswered. The produce handler calls
  // it: connections that never produce (consumers, admin) keep being read. Strand only.
  void hold_writes() { holds_writes_ = true; }
  // Wakes a reader paused by write back-pressure so it re-checks (WritePressure calls it).
  // Thread-safe.
  void wake_reader();
  // Takes no further frame from this connection for `ms` (Kafka's channel muting on a quota
  // violation): a request refused for a broker limit mutes its connection, so a client that
  // retries at once cannot turn refusals into a CPU flood. Frames already taken are answered.
  // Thread-safe.
  void mute_for(int64_t ms);

  uint64_t id() const { return id_; }
  const std::string& remote() const { return remote_; }
  uint32_t inflight() const { return inflight_.load(std::memory_order_relaxed); }
  bool closed() const { return closed_.load(); }
  // Bytes of answers not written yet: queued on the strand and on their way to it.
  size_t unsent_bytes() const {
    return queued_bytes_.load(std::memory_order_relaxed) + in_transit_bytes_.load(std::memory_order_relaxed);
  }
  asio::strand<asio::any_io_executor>& strand() { return strand_; }
  ClientInfo& client() { return client_; }  // strand only

 private:
  asio::awaitable<void> read_loop();
  // Waits on `timer` without reading (no deadline runs meanwhile), then restarts the peer's
  // idle and slow-frame clocks. Strand.
  asio::awaitable<void> wait_without_reading(asio::steady_timer& timer);
  asio::awaitable<void> write_loop();
  asio::awaitable<void> watchdog();
  struct OutFrame {
    std::array<char, framing::kHeaderBytes> header;
    flatbuffers::DetachedBuffer payload;
  };
  void enqueue(flatbuffers::DetachedBuffer payload, bool completes_request);
  void close_over_cap(size_t unsent);  // strand
  void finish_request();  // strand: one request fewer in flight
  void do_close(const std::string& reason);
  bool read_paused() const;
  bool paused_by_inflight() const;

  Socket socket_;
  asio::strand<asio::any_io_executor> strand_;
  const uint64_t id_;
  FrameHandler& handler_;
  const SessionLimits limits_;
  const Clock& clock_;
  WritePressure* const pressure_;
  std::string remote_;
  ClientInfo client_;

  framing::FrameDecoder decoder_;
  asio::steady_timer write_signal_;
  asio::steady_timer resume_signal_;  // wakes a paused reader (in-flight cap or write pressure)
  asio::steady_timer watchdog_timer_;
  asio::steady_timer mute_timer_;
  int64_t muted_until_ms_ = 0;  // monotonic; strand only
  std::deque<OutFrame> outbound_;
  std::atomic<size_t> queued_bytes_{0};      // in outbound_ (changed on the strand only)
  std::atomic<size_t> in_transit_bytes_{0};  // posted by send() from other threads, not queued yet
  int64_t last_activity_ms_ = 0;
  int64_t frame_started_ms_ = 0;
  bool closing_ = false;
  bool stop_reading_ = false;
  bool holds_writes_ = false;   // has produced: pauses under write back-pressure
  bool reader_paused_ = false;  // the reader waits on resume_signal_: deadlines do not run
  std::atomic<uint32_t> inflight_{0};
  std::atomic<bool> closed_{false};
  bool close_notified_ = false;
};

}  // namespace tidemq::broker
