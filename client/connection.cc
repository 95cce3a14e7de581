#include "client/connection.h"

#include <unistd.h>

#include <array>
#include <future>

#include <asio.hpp>

#include "client/wire_status.h"
#include "common/framing.h"
#include "common/logging.h"

namespace tidemq::client {

namespace {

// Frames the client accepts: fetch responses are bounded by the broker's own frame cap (16 MiB
// by default); this leaves room for a broker configured higher.
constexpr uint32_t kClientMaxFrameBytes = 64u << 20;
constexpr size_t kReadChunk = 128 * 1024;
constexpr auto kSweepPeriod = std::chrono::milliseconds(20);

std::shared_ptr<spdlog::logger> log() {
  static auto l = logging::get("client");
  return l;
}

bool is_request_body(wire::Body type) {
  std::string_view name = wire::EnumNameBody(type);
  return name.size() > 7 && name.substr(name.size() - 7) == "Request";
}

}  // namespace

OutFrame finish_envelope(flatbuffers::FlatBufferBuilder& fbb, uint64_t correlation_id, wire::Body type,
                         flatbuffers::Offset<void> body) {
  wire::EnvelopeBuilder eb(fbb);
  eb.add_correlation_id(correlation_id);
  eb.add_body_type(type);
  eb.add_body(body);
  fbb.Finish(eb.Finish());
  OutFrame out;
  framing::encode_header(out.header, static_cast<uint32_t>(fbb.GetSize()));
  out.payload = fbb.Release();
  return out;
}

Status validate_client_options(ClientOptions& options) {
  auto colon = options.broker.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == options.broker.size()) {
    return Status::invalid_argument("broker address must be host:port, got '" + options.broker + "'");
  }
  const std::string port = options.broker.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
      std::stoul(port) == 0 || std::stoul(port) > 65535) {
    return Status::invalid_argument("bad port in broker address '" + options.broker + "'");
  }
  if (options.connect_timeout.count() <= 0) return Status::invalid_argument("connect_timeout must be > 0");
  if (options.request_timeout.count() <= 0) return Status::invalid_argument("request_timeout must be > 0");
  if (options.client_id.empty()) {
    char host[256] = {};
    if (gethostname(host, sizeof(host) - 1) != 0) std::snprintf(host, sizeof(host), "localhost");
    options.client_id = std::string(host) + "-" + std::to_string(getpid());
  }
  return Status::ok();
}

struct Connection::Io {
  asio::io_context ctx{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{ctx.get_executor()};
  asio::steady_timer sweep_timer{ctx};
  asio::steady_timer connect_timer{ctx};
  asio::ip::tcp::resolver resolver{ctx};
  bool stopping = false;  // I/O thread only
};

// One TCP session (a connect attempt and, if it succeeds, its reads and writes). Handlers hold
// it by shared_ptr; a handler whose session is no longer session_ is stale and does nothing.
struct Connection::Session {
  Session(asio::io_context& ctx, uint64_t id) : socket(ctx), id(id), decoder(kClientMaxFrameBytes) {}
  asio::ip::tcp::socket socket;
  uint64_t id;
  bool connect_timed_out = false;
  bool write_active = false;  // an async_write is in flight: at most one at a time
  framing::FrameDecoder decoder;
  std::array<char, kReadChunk> read_buf;
  std::vector<OutFrame> writing;  // frames of the write in progress; kept alive until it completes
  std::vector<asio::const_buffer> buffers;
};

Result<std::unique_ptr<Connection>> Connection::create(ConnectionOptions options) {
  TIDEMQ_RETURN_IF_ERROR(validate_client_options(options.client));
  std::unique_ptr<Connection> c(new Connection(std::move(options)));
  return c;
}

Connection::Connection(ConnectionOptions options) : options_(std::move(options)), io_(std::make_unique<Io>()) {
  auto colon = options_.client.broker.rfind(':');
  host_ = options_.client.broker.substr(0, colon);
  port_ = options_.client.broker.substr(colon + 1);
  if (host_.size() > 2 && host_.front() == '[' && host_.back() == ']') host_ = host_.substr(1, host_.size() - 2);
  arm_sweep();
  thread_ = std::thread([this] {
    for (;;) {
      try {
        io_->ctx.run();
        return;
      } catch (const std::exception& e) {
        log()->error("client I/O thread: unexpected exception: {}", e.what());
      }
    }
  });
}

Connection::~Connection() { close(); }

void Connection::set_session_listener(SessionListener listener) { session_listener_ = std::move(listener); }
void Connection::set_incoming_handler(IncomingHandler handler) { incoming_handler_ = std::move(handler); }
void Connection::set_loss_listener(LossListener listener) { loss_listener_ = std::move(listener); }

uint64_t Connection::next_correlation_id() {
  return next_correlation_id_.fetch_add(1, std::memory_order_relaxed);
}

std::optional<HelloInfo> Connection::hello() const {
  std::lock_guard lock(mu_);
  if (state_ != State::kReady) return std::nullopt;
  return hello_;
}

Result<HelloInfo> Connection::connect() {
  std::unique_lock lock(mu_);
  if (state_ == State::kClosed) return Status(StatusCode::kShuttingDown, "connection closed");
  if (state_ == State::kReady && hello_) return *hello_;
  if (state_ == State::kIdle) {
    state_ = State::kConnecting;
    asio::post(io_->ctx, [this] { start_connect(); });
  }
  const uint64_t attempts = connect_attempts_done_;
  connect_cv_.wait(lock, [&] { return connect_attempts_done_ != attempts || state_ == State::kClosed; });
  if (state_ == State::kReady && hello_) return *hello_;
  if (state_ == State::kClosed) return Status(StatusCode::kShuttingDown, "connection closed");
  return last_connect_error_.is_ok() ? Status::unavailable("not connected") : last_connect_error_;
}

void Connection::send(uint64_t correlation_id, OutFrame frame, ResponseHandler handler,
                      std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0) timeout = options_.client.request_timeout;
  bool kick = false;
  bool start = false;
  {
    std::lock_guard lock(mu_);
    if (state_ != State::kClosed) {
      pending_.emplace(correlation_id, Pending{std::move(handler), std::chrono::steady_clock::now() + timeout});
      outbound_.push_back(std::move(frame));
      if (state_ == State::kReady && !write_in_progress_) {
        write_in_progress_ = true;
        kick = true;
      } else if (state_ == State::kIdle) {
        state_ = State::kConnecting;
        start = true;
      }
    }
  }
  if (kick) {
    asio::post(io_->ctx, [this] {
      if (session_) do_write(session_);
    });
  } else if (start) {
    asio::post(io_->ctx, [this] { start_connect(); });
  } else if (handler) {  // closed
    handler(Status(StatusCode::kShuttingDown, "connection closed"));
  }
}

void Connection::send(flatbuffers::FlatBufferBuilder& fbb, wire::Body type, flatbuffers::Offset<void> body,
                      ResponseHandler handler, std::chrono::milliseconds timeout) {
  uint64_t id = next_correlation_id();
  send(id, finish_envelope(fbb, id, type, body), std::move(handler), timeout);
}

Result<Frame> Connection::call(flatbuffers::FlatBufferBuilder& fbb, wire::Body type, flatbuffers::Offset<void> body,
                               std::chrono::milliseconds timeout) {
  std::promise<Result<Frame>> promise;
  auto future = promise.get_future();
  send(fbb, type, body, [&promise](Result<Frame> r) { promise.set_value(std::move(r)); }, timeout);
  return future.get();
}

void Connection::send_oneway(OutFrame frame, uint64_t session) {
  bool kick = false;
  {
    std::lock_guard lock(mu_);
    if (state_ != State::kReady) return;
    if (session != 0 && (!hello_ || hello_->session != session)) return;
    outbound_.push_back(std::move(frame));
    if (!write_in_progress_) {
      write_in_progress_ = true;
      kick = true;
    }
  }
  if (kick) {
    asio::post(io_->ctx, [this] {
      if (session_) do_write(session_);
    });
  }
}

void Connection::close() {
  std::lock_guard close_lock(close_mu_);
  if (!thread_.joinable()) return;  // closed before
  {
    std::lock_guard lock(mu_);
    state_ = State::kClosed;
  }
  connect_cv_.notify_all();
  TIDEMQ_CHECK(std::this_thread::get_id() != thread_.get_id(), "Connection::close on its own I/O thread");
  asio::post(io_->ctx, [this] {
    std::unordered_map<uint64_t, Pending> failed;
    {
      std::lock_guard lock(mu_);
      failed.swap(pending_);
      outbound_.clear();
    }
    if (session_) {
      asio::error_code ignored;
      session_->socket.close(ignored);
      session_.reset();
    }
    io_->sweep_timer.cancel();
    io_->connect_timer.cancel();
    io_->resolver.cancel();
    for (auto& [id, p] : failed) p.handler(Status(StatusCode::kShuttingDown, "connection closed"));
    io_->work.reset();
    // Handlers already queued (a sweep that re-arms, a stale read) must not keep run() alive;
    // whatever is left is destroyed with the io_context.
    io_->stopping = true;
    io_->ctx.stop();
  });
  thread_.join();
}

void Connection::arm_sweep() {
  if (io_->stopping) return;
  io_->sweep_timer.expires_after(kSweepPeriod);
  io_->sweep_timer.async_wait([this](const asio::error_code& ec) {
    if (ec) return;  // cancelled at close
    sweep();
    arm_sweep();
  });
}

void Connection::sweep() {
  auto now = std::chrono::steady_clock::now();
  std::vector<ResponseHandler> expired;
  {
    std::lock_guard lock(mu_);
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.deadline <= now) {
        expired.push_back(std::move(it->second.handler));
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& h : expired) h(Status::timeout("no response within the request timeout"));
}

void Connection::notify_connect_waiters(const Result<HelloInfo>& r) {
  {
    std::lock_guard lock(mu_);
    ++connect_attempts_done_;
    last_connect_error_ = r.is_ok() ? Status::ok() : r.status();
  }
  connect_cv_.notify_all();
}

void Connection::start_connect() {
  {
    std::lock_guard lock(mu_);
    if (state_ != State::kConnecting) return;
  }
  auto s = std::make_shared<Session>(io_->ctx, ++session_counter_);
  session_ = s;
  io_->connect_timer.expires_after(options_.client.connect_timeout);
  io_->connect_timer.async_wait([this, s](const asio::error_code& ec) {
    if (ec || s != session_) return;
    s->connect_timed_out = true;
    io_->resolver.cancel();
    asio::error_code ignored;
    s->socket.close(ignored);
  });
  io_->resolver.async_resolve(
      host_, port_, [this, s](const asio::error_code& ec, asio::ip::tcp::resolver::results_type results) {
        if (s != session_) return;
        if (ec) {
          on_loss(s, Status::unavailable(s->connect_timed_out ? "connect timed out resolving " + host_
                                                               : "cannot resolve " + host_ + ": " + ec.message()));
          return;
        }
        asio::async_connect(s->socket, results, [this, s](const asio::error_code& ec, const asio::ip::tcp::endpoint&) {
          if (s != session_) return;
          if (ec) {
            on_loss(s, Status::unavailable(
                           "cannot connect to " + options_.client.broker + ": " +
                           (s->connect_timed_out ? std::string("connect timed out") : ec.message())));
            return;
          }
          io_->connect_timer.cancel();
          on_connected(s);
        });
      });
}

void Connection::on_connected(const std::shared_ptr<Session>& s) {
  asio::error_code ignored;
  s->socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  start_read(s);
  // Hello goes first, alone; queued requests follow once it is answered.
  flatbuffers::FlatBufferBuilder fbb(256);
  auto hello = wire::CreateHelloRequestDirect(fbb, options_.client.client_id.c_str(), options_.kind, 1,
                                              options_.producer_group.c_str(), "");
  uint64_t id = next_correlation_id();
  {
    std::lock_guard lock(mu_);
    pending_.emplace(id, Pending{[this, s](Result<Frame> r) { on_hello(s, std::move(r)); },
                                 std::chrono::steady_clock::now() + options_.client.request_timeout});
  }
  s->writing.push_back(finish_envelope(fbb, id, wire::Body::HelloRequest, hello.Union()));
  write_frames(s);  // then do_write() sends what queued up while Hello was answered
}

void Connection::on_hello(const std::shared_ptr<Session>& s, Result<Frame> r) {
  if (s != session_) return;
  if (!r.is_ok()) {
    Status st = r.status();
    on_loss(s, Status(st.code() == StatusCode::kTimeout ? StatusCode::kUnavailable : st.code(),
                      "hello failed: " + st.to_string()));
    return;
  }
  const auto* resp = r->envelope().body_as_HelloResponse();
  if (!resp) {
    on_loss(s, Status::protocol("hello answered with " + std::string(wire::EnumNameBody(r->envelope().body_type()))));
    return;
  }
  HelloInfo info;
  info.broker_version = resp->broker_version() ? resp->broker_version()->str() : "";
  info.protocol_version = resp->protocol_version();
  info.worker_id = resp->worker_id();
  info.max_frame_bytes = resp->max_frame_bytes() ? resp->max_frame_bytes() : framing::kDefaultMaxFrameBytes;
  info.max_message_bytes = resp->max_message_bytes() ? resp->max_message_bytes() : (4u << 20);
  info.flush_mode = resp->flush_mode() ? resp->flush_mode()->str() : "";
  info.session = s->id;
  if (session_listener_) session_listener_(info);
  bool write_now = false;
  {
    std::lock_guard lock(mu_);
    if (state_ != State::kConnecting) return;  // closed meanwhile
    hello_ = info;
    state_ = State::kReady;
    if (!outbound_.empty() && !write_in_progress_) {
      write_in_progress_ = true;
      write_now = true;
    }
  }
  notify_connect_waiters(info);
  if (write_now) do_write(s);
}

void Connection::start_read(const std::shared_ptr<Session>& s) {
  s->socket.async_read_some(asio::buffer(s->read_buf), [this, s](const asio::error_code& ec, size_t n) {
    if (s != session_) return;
    if (ec) {
      on_loss(s, Status::unavailable(ec == asio::error::eof ? std::string("connection closed by the broker")
                                                            : "read failed: " + ec.message()));
      return;
    }
    Status st = s->decoder.feed(std::string_view(s->read_buf.data(), n));
    if (!st.is_ok()) {
      on_loss(s, Status::protocol("bad frame from broker: " + st.to_string()));
      return;
    }
    while (auto payload = s->decoder.next()) {
      if (!handle_frame(s, std::move(*payload))) return;
    }
    start_read(s);
  });
}

bool Connection::handle_frame(const std::shared_ptr<Session>& s, std::string bytes) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  flatbuffers::Verifier verifier(data, bytes.size());
  if (!wire::VerifyEnvelopeBuffer(verifier)) {
    on_loss(s, Status::protocol("broker sent a frame that fails verification"));
    return false;
  }
  const wire::Envelope* env = wire::GetEnvelope(bytes.data());
  ResponseHandler handler;
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(env->correlation_id());
    if (it != pending_.end()) {
      handler = std::move(it->second.handler);
      pending_.erase(it);
    }
  }
  if (handler) {
    Status st = status_from_wire(env->error(), env->error_message());
    if (st.is_ok()) {
      handler(Frame{std::move(bytes), s->id});
    } else {
      handler(std::move(st));
    }
  } else if (is_request_body(env->body_type())) {
    if (incoming_handler_) {
      incoming_handler_(Frame{std::move(bytes), s->id});
    } else {
      log()->warn("dropping a broker request ({}) this client does not handle", wire::EnumNameBody(env->body_type()));
    }
  } else {
    log()->debug("dropping a response for unknown correlation id {} (timed out?)", env->correlation_id());
  }
  return s == session_;
}

void Connection::do_write(const std::shared_ptr<Session>& s) {
  if (s != session_ || s->write_active) return;
  {
    std::lock_guard lock(mu_);
    if (state_ != State::kReady || outbound_.empty()) {
      write_in_progress_ = false;
      return;
    }
    s->writing.swap(outbound_);
  }
  write_frames(s);
}

void Connection::write_frames(const std::shared_ptr<Session>& s) {
  s->buffers.clear();
  s->buffers.reserve(s->writing.size() * 2);
  for (const auto& f : s->writing) {
    s->buffers.emplace_back(f.header, 4);
    s->buffers.emplace_back(f.payload.data(), f.payload.size());
  }
  s->write_active = true;
  asio::async_write(s->socket, s->buffers, [this, s](const asio::error_code& ec, size_t) {
    s->write_active = false;
    s->writing.clear();
    if (s != session_) return;
    if (ec) {
      on_loss(s, Status::unavailable("write failed: " + ec.message()));
      return;
    }
    do_write(s);
  });
}

void Connection::on_loss(const std::shared_ptr<Session>& s, Status why) {
  if (s != session_) return;
  session_.reset();
  asio::error_code ignored;
  s->socket.close(ignored);
  io_->connect_timer.cancel();
  std::unordered_map<uint64_t, Pending> failed;
  bool was_ready = false;
  {
    std::lock_guard lock(mu_);
    was_ready = state_ == State::kReady;
    if (state_ != State::kClosed) state_ = State::kIdle;
    failed.swap(pending_);
    outbound_.clear();
    write_in_progress_ = false;
    hello_.reset();
  }
  if (was_ready) log()->warn("connection to {} lost: {}", options_.client.broker, why.to_string());
  if (!was_ready) notify_connect_waiters(why);
  Status st = why.code() == StatusCode::kProtocolError || why.code() == StatusCode::kUnavailable
                  ? Status::unavailable(why.message())
                  : why;
  for (auto& [id, p] : failed) p.handler(st);
  if (was_ready && loss_listener_) loss_listener_(why);
}

}  // namespace tidemq::client
