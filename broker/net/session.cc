#include "broker/net/session.h"

#include <vector>

#include "common/logging.h"

namespace tidemq::broker {

namespace {
// A connection reads into kFirstReadChunk bytes until a read fills them; then (it sends a lot)
// into kReadChunk. Idle, admin and slow connections never hold the big buffer: with thousands of
// connections open (up to --max-connections) 64 KiB each was most of the broker's memory.
constexpr size_t kFirstReadChunk = 2 * 1024;
constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kMaxGather = 64;  // frames per vectored write
}  // namespace

Session::Session(Socket socket, uint64_t id, FrameHandler& handler, const SessionLimits& limits,
                 const Clock& clock, WritePressure* pressure)
    : socket_(std::move(socket)),
      strand_(asio::make_strand(socket_.get_executor())),
      id_(id),
      handler_(handler),
      limits_(limits),
      clock_(clock),
      pressure_(pressure),
      decoder_(limits.max_frame_bytes),
      write_signal_(strand_),
      resume_signal_(strand_),
      watchdog_timer_(strand_),
      mute_timer_(strand_) {
  asio::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  remote_ = ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  write_signal_.expires_at(asio::steady_timer::time_point::max());
  resume_signal_.expires_at(asio::steady_timer::time_point::max());
}

Session::~Session() = default;

void Session::start() {
  last_activity_ms_ = clock_.monotonic_ms();
  auto self = shared_from_this();
  auto on_done = [self](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        logging::get("net")->error("session {}: {}", self->id_, ex.what());
      }
      asio::post(self->strand_, [self] { self->do_close("internal error"); });
    }
  };
  asio::co_spawn(strand_, read_loop(), on_done);
  asio::co_spawn(strand_, write_loop(), on_done);
  asio::co_spawn(strand_, watchdog(), on_done);
}

bool Session::paused_by_inflight() const {
  return inflight_.load(std::memory_order_relaxed) >= limits_.max_inflight;
}

// Checked before every frame: the in-flight cap, and (for a connection that has produced and
// still waits for an answer) the broker-wide write back-pressure — relaxed loads.
bool Session::read_paused() const {
  return paused_by_inflight() || (holds_writes_ && pressure_ != nullptr && pressure_->paused() &&
                                  inflight_.load(std::memory_order_relaxed) > 0);
}

asio::awaitable<void> Session::read_loop() {
  auto self = shared_from_this();
  std::vector<char> buf(kFirstReadChunk);
  for (;;) {
    if (closing_ || stop_reading_) co_return;
    if (read_paused()) {
      // Back-pressure: stop taking frames (and then stop reading the socket) until responses go
      // out or the store's writer catches up. A write-pressure pause registers for its wake-up
      // first; both happen on the strand, so the posted wake-up cannot run before the wait.
      if (!paused_by_inflight() && !pressure_->wait(self)) continue;  // pressure just ended
      co_await wait_without_reading(resume_signal_);
      continue;
    }
    if (muted_until_ms_ != 0) {  // mute_for(): no frame before the time is up
      const int64_t left = muted_until_ms_ - clock_.monotonic_ms();
      muted_until_ms_ = 0;
      if (left > 0) {
        mute_timer_.expires_after(std::chrono::milliseconds(left));
        co_await wait_without_reading(mute_timer_);
        continue;
      }
    }
    // Frames already decoded go first (a pause may have left some in the decoder).
    if (auto frame = decoder_.next()) {
      inflight_.fetch_add(1, std::memory_order_relaxed);
      handler_.on_frame(self, std::move(*frame));
      continue;
    }
    if (!decoder_.error().is_ok()) {  // every good frame before the bad bytes was handled
      Status st = decoder_.error();
      handler_.on_stream_error(self, st);
      close(st.to_string());
      co_return;
    }
    asio::error_code ec;
    size_t n = co_await socket_.async_read_some(asio::buffer(buf),
                                                 asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec != asio::error::eof && ec != asio::error::operation_aborted) {
        logging::get("net")->debug("session {} read: {}", id_, ec.message());
      }
      do_close(ec == asio::error::eof ? "peer closed" : ec.message());
      co_return;
    }
    last_activity_ms_ = clock_.monotonic_ms();
    (void)decoder_.feed(std::string_view(buf.data(), n));  // an error stays in decoder_.error()
    if (n == buf.size() && buf.size() < kReadChunk) buf.resize(kReadChunk);  // a busy peer
    // Slow-loris guard: a frame that has started must complete within frame_timeout_ms.
    if (decoder_.buffered_bytes() == 0) {
      frame_started_ms_ = 0;
    } else if (frame_started_ms_ == 0 || decoder_.ready_frames() > 0) {
      frame_started_ms_ = last_activity_ms_;
    }
  }
}

asio::awaitable<void> Session::wait_without_reading(asio::steady_timer& timer) {
  reader_paused_ = true;
  asio::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  reader_paused_ = false;
  // The peer was not slow or idle while we did not read: restart its clocks.
  last_activity_ms_ = clock_.monotonic_ms();
  if (frame_started_ms_ != 0) frame_started_ms_ = last_activity_ms_;
}

asio::awaitable<void> Session::write_loop() {
  auto self = shared_from_this();
  std::vector<asio::const_buffer> gather;
  std::vector<OutFrame> writing;
  for (;;) {
    if (outbound_.empty()) {
      if (closing_) break;
      asio::error_code ec;
      co_await write_signal_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (closed_) co_return;
      continue;
    }
    gather.clear();
    writing.clear();
    while (!outbound_.empty() && writing.size() < kMaxGather) {
      writing.push_back(std::move(outbound_.front()));
      outbound_.pop_front();
    }
    // Header and payload go out as two buffers of one vectored write: no copy of the payload.
    for (const OutFrame& f : writing) {
      gather.emplace_back(f.header.data(), f.header.size());
      gather.emplace_back(f.payload.data(), f.payload.size());
    }
    asio::error_code ec;
    size_t n = co_await asio::async_write(socket_, gather, asio::redirect_error(asio::use_awaitable, ec));
    const size_t queued = queued_bytes_.load(std::memory_order_relaxed);  // changed on the strand only
    queued_bytes_.store(queued - std::min(queued, n), std::memory_order_relaxed);
    if (ec) {
      do_close(ec.message());
      co_return;
    }
  }
  // closing_: everything queued has been written.
  asio::error_code ignored;
  socket_.shutdown(Socket::shutdown_both, ignored);
  do_close("closed");
}

asio::awaitable<void> Session::watchdog() {
  auto self = shared_from_this();
  for (;;) {
    watchdog_timer_.expires_after(std::chrono::milliseconds(
        std::max<int64_t>(50, std::min(limits_.idle_timeout_ms, limits_.frame_timeout_ms) / 4)));
    asio::error_code ec;
    co_await watchdog_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (closed_) co_return;
    if (reader_paused_) continue;  // we are not reading: neither deadline is the peer's fault
    int64_t now = clock_.monotonic_ms();
    if (frame_started_ms_ && now - frame_started_ms_ > limits_.frame_timeout_ms) {
      logging::get("net")->info("session {} ({}): frame not completed within {} ms, closing", id_,
                                remote_, limits_.frame_timeout_ms);
      do_close("frame timeout");
      co_return;
    }
    if (inflight_.load() == 0 && now - last_activity_ms_ > limits_.idle_timeout_ms) {
      logging::get("net")->info("session {} ({}): idle for {} ms, closing", id_, remote_,
                                limits_.idle_timeout_ms);
      do_close("idle timeout");
      co_return;
    }
  }
}

void Session::send(flatbuffers::DetachedBuffer payload, bool completes_request) {
  if (strand_.running_in_this_thread()) {
    enqueue(std::move(payload), completes_request);
    return;
  }
  auto self = shared_from_this();
  const size_t bytes = framing::kHeaderBytes + payload.size();
  const size_t in_transit = in_transit_bytes_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  const size_t unsent = in_transit + queued_bytes_.load(std::memory_order_relaxed);
  if (unsent > limits_.max_outbound_bytes) {
    in_transit_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
    payload = {};  // freed now, not when the strand gets to it
    asio::post(strand_, [self, completes_request, unsent] {
      if (completes_request) self->finish_request();
      self->close_over_cap(unsent);
    });
    return;
  }
  auto holder = std::make_shared<flatbuffers::DetachedBuffer>(std::move(payload));
  asio::post(strand_, [self, holder, completes_request, bytes] {
    self->in_transit_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
    self->enqueue(std::move(*holder), completes_request);
  });
}

void Session::request_done() {
  asio::post(strand_, [self = shared_from_this()] { self->finish_request(); });
}

void Session::finish_request() {
  uint32_t before = inflight_.fetch_sub(1, std::memory_order_relaxed);
  // A reader paused at the cap, or paused by write back-pressure until its last answer went out.
  if (before == limits_.max_inflight || (before == 1 && reader_paused_)) resume_signal_.cancel();
}

void Session::enqueue(flatbuffers::DetachedBuffer payload, bool completes_request) {
  if (completes_request) finish_request();
  if (closed_) return;
  OutFrame frame{{}, std::move(payload)};
  framing::encode_header(frame.header.data(), static_cast<uint32_t>(frame.payload.size()));
  const size_t queued = queued_bytes_.load(std::memory_order_relaxed) + framing::kHeaderBytes + frame.payload.size();
  queued_bytes_.store(queued, std::memory_order_relaxed);
  outbound_.push_back(std::move(frame));
  if (queued > limits_.max_outbound_bytes) {
    close_over_cap(queued);
    return;
  }
  write_signal_.cancel_one();
}

void Session::close_over_cap(size_t unsent) {
  if (closed_) return;
  logging::get("net")->warn("session {} ({}): {} bytes unsent (cap {}); the peer is not reading, closing", id_,
                            remote_, unsent, limits_.max_outbound_bytes);
  do_close("outbound buffer over cap");
}

void Session::close(std::string reason) {
  auto self = shared_from_this();
  auto begin_close = [self, reason = std::move(reason)] {
    if (self->closing_) return;
    self->closing_ = true;
    logging::get("net")->debug("session {} closing: {}", self->id_, reason);
    self->write_signal_.cancel();
    self->resume_signal_.cancel();
    self->mute_timer_.cancel();
  };
  // On the strand (a handler refusing the stream, from the reader's on_frame) it takes effect at
  // once: the reader takes no further frame, not even one that came in the same read.
  if (strand_.running_in_this_thread()) {
    begin_close();
  } else {
    asio::post(strand_, std::move(begin_close));
  }
}

void Session::stop_reading() {
  auto self = shared_from_this();
  asio::post(strand_, [self] {
    self->stop_reading_ = true;
    self->resume_signal_.cancel();
    self->mute_timer_.cancel();
    asio::error_code ignored;
    self->socket_.shutdown(Socket::shutdown_receive, ignored);
  });
}

void Session::mute_for(int64_t ms) {
  asio::post(strand_, [self = shared_from_this(), ms] {
    self->muted_until_ms_ = std::max(self->muted_until_ms_, self->clock_.monotonic_ms() + ms);
  });
}

void Session::wake_reader() {
  asio::post(strand_, [self = shared_from_this()] { self->resume_signal_.cancel(); });
}

void Session::do_close(const std::string& reason) {
  closing_ = true;
  if (closed_.exchange(true)) return;
  logging::get("net")->debug("session {} ({}) closed: {}", id_, remote_, reason);
  asio::error_code ignored;
  socket_.close(ignored);
  write_signal_.cancel();
  resume_signal_.cancel();
  watchdog_timer_.cancel();
  mute_timer_.cancel();
  outbound_.clear();
  queued_bytes_.store(0, std::memory_order_relaxed);  // in-transit answers subtract themselves
  handler_.on_close(*this);
}

}  // namespace tidemq::broker
