#include "tests/fuzz/handler_broker.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <asio.hpp>

#include "broker/broker_core.h"
#include "broker/net/session.h"
#include "broker/version.h"
#include "common/clock.h"
#include "common/framing.h"
#include "common/logging.h"
#include "common/record_batch.h"
#include "schemas/envelope_generated.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/placeholders.h"
#include "tests/schemas/wire_samples.h"
#include "tests/support/temp_dir.h"

namespace tidemq::fuzz {

namespace {

namespace fb = flatbuffers;
using namespace tidemq::broker;

constexpr uint64_t kProbeId = 0xF0F0F0F0F0F0F0F0ull;
constexpr auto kAnswerTimeout = std::chrono::seconds(30);
constexpr int64_t kLongPollStepMs = 30'000;  // past the fetch handler's 20 s wait cap
// Steps (≤ 2 ms each) of one wait for the broker before the clock moves even though it is busy.
constexpr int kStepsPerClockMove = 64;
// The live members' session timeout: the longest the coordinator allows, so they outlive several
// long-poll clock steps (an expired one is joined again when next needed).
constexpr uint32_t kMemberSessionTimeoutMs = 300'000;
// The fixture's own txn ids (a SendHalf's record id is its txn id): far from the placeholders
// and from the wire samples' record ids.
constexpr uint64_t kFirstTxnId = 0x7E57'0000'0000'0001ull;

std::string finish(fb::FlatBufferBuilder& fbb, uint64_t id, wire::Body type, fb::Offset<void> body) {
  fbb.Finish(wire::CreateEnvelope(fbb, id, type, body));
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

std::string hello_request() {
  fb::FlatBufferBuilder fbb;
  auto body = wire::CreateHelloRequestDirect(fbb, "fuzz", wire::ClientKind::PRODUCER, kProtocolVersion,
                                             std::string(HandlerBroker::kProducerGroup).c_str());
  return finish(fbb, HandlerBroker::kHelloId, wire::Body::HelloRequest, body.Union());
}

std::string admin_hello_request() {
  fb::FlatBufferBuilder fbb;
  auto body = wire::CreateHelloRequestDirect(fbb, "fuzz-probe", wire::ClientKind::ADMIN, kProtocolVersion);
  return finish(fbb, HandlerBroker::kHelloId, wire::Body::HelloRequest, body.Union());
}

std::string create_topic_request(std::string_view name, uint32_t partitions) {
  fb::FlatBufferBuilder fbb;
  auto config = wire::CreateTopicConfigDirect(fbb, std::string(name).c_str(), partitions, 3'600'000, 1 << 20);
  return finish(fbb, 2, wire::Body::CreateTopicRequest, wire::CreateCreateTopicRequest(fbb, config).Union());
}

std::string update_group_request() {
  fb::FlatBufferBuilder fbb;
  auto config = wire::CreateGroupConfigDirect(fbb, std::string(HandlerBroker::kGroup).c_str(),
                                              wire::AssignStrategy::STICKY, wire::ConsumeMode::CLUSTERING,
                                              "earliest", 2000, 0, 100, nullptr, "exponential", 3);
  return finish(fbb, 3, wire::Body::UpdateGroupRequest, wire::CreateUpdateGroupRequest(fbb, config).Union());
}

std::string produce_request(uint32_t partition) {
  fb::FlatBufferBuilder fbb;
  std::string records = test::sample_record_batch(3);
  std::vector<fb::Offset<wire::PartitionBatch>> batches = {wire::CreatePartitionBatch(
      fbb, partition, fbb.CreateVector(reinterpret_cast<const uint8_t*>(records.data()), records.size()))};
  auto body = wire::CreateProduceRequestDirect(fbb, std::string(HandlerBroker::kTopic).c_str(), &batches);
  return finish(fbb, 4, wire::Body::ProduceRequest, body.Union());
}

// Member slot 0 subscribes to kTopic, slot 1 to kSmallTopic: each owns its topic's partitions.
std::string join_request(size_t slot) {
  fb::FlatBufferBuilder fbb;
  const std::string topic(slot == 0 ? HandlerBroker::kTopic : HandlerBroker::kSmallTopic);
  std::vector<fb::Offset<wire::Subscription>> subs = {wire::CreateSubscriptionDirect(fbb, topic.c_str(), "*")};
  auto body = wire::CreateJoinGroupRequestDirect(fbb, std::string(HandlerBroker::kGroup).c_str(), "", &subs,
                                                 kMemberSessionTimeoutMs);
  return finish(fbb, 5, wire::Body::JoinGroupRequest, body.Union());
}

std::string send_half_request(uint64_t txn_id, uint32_t partition, int64_t now_ms) {
  record::BatchBuilder b;
  record::RecordInput r;
  r.id = txn_id;
  r.born_ms = static_cast<uint64_t>(now_ms);
  r.body = "fuzz-half";
  b.add(r);
  std::string records = b.finish(/*producer_id=*/0, /*base_sequence=*/0);
  std::vector<uint8_t> bytes(records.begin(), records.end());
  fb::FlatBufferBuilder fbb;
  auto body = wire::CreateSendHalfRequestDirect(fbb, std::string(HandlerBroker::kTopic).c_str(), partition, &bytes,
                                                /*check_immunity_ms=*/0, /*first_attempt=*/true);
  return finish(fbb, 6, wire::Body::SendHalfRequest, body.Union());
}

std::string probe_request() {
  fb::FlatBufferBuilder fbb;
  return finish(fbb, kProbeId, wire::Body::ListTopicsRequest, wire::CreateListTopicsRequest(fbb).Union());
}

const wire::Envelope& parse(const std::string& frame) {
  fb::Verifier v(reinterpret_cast<const uint8_t*>(frame.data()), frame.size());
  TIDEMQ_FUZZ_CHECK(wire::VerifyEnvelopeBuffer(v));
  return *wire::GetEnvelope(frame.data());
}

bool is_broker_request(const std::string& frame) {
  return parse(frame).body_type() == wire::Body::CheckTransactionRequest;
}

}  // namespace

struct HandlerBroker::Impl {
  test::TempDir dir;
  ManualClock clock;
  std::unique_ptr<BrokerCore> core;  // its io_context runs on the fuzzing thread only
  SessionLimits limits;

  // A client connection: a Session on one end of a socketpair, the harness on the other.
  struct Conn {
    std::shared_ptr<Session> session;
    int fd = -1;         // the client's end of the socketpair
    int server_fd = -1;  // the session's end (its socket owns it): read only while it is open
    framing::FrameDecoder decoder{64u << 20};
    size_t answers = 0;  // frames read from it (raw connections: after the Hello's answer)
  };
  size_t check_requests = 0;  // CheckTransactionRequests read from any connection (not answers)
  Conn conn;  // the fixture's connection (exchange())
  Conn raw;   // fuzz_raw_broker's connection; no session when none is open
  uint64_t next_session_id = 1;

  // The live ids behind the placeholders (tests/fuzz/placeholders.h), made when first needed and
  // checked before each use: a member leaves with its connection, expires, or a request makes it
  // leave; a transaction is resolved by a request, or its topic was deleted.
  std::array<std::string, kMemberSlots> members;  // empty: none yet
  struct Half {
    uint64_t txn_id = 0;  // 0: none yet
    uint32_t topic_id = 0;
  };
  std::array<Half, kTxnSlots> halves;
  uint64_t next_txn_id = kFirstTxnId;

  Impl();
  ~Impl();

  asio::io_context& io() { return core->executors->io(); }
  Conn open_conn();
  // Closes `c` from the client's side and waits until its session is closed.
  void close_conn(Conn& c);
  void connect() { conn = open_conn(); }
  void disconnect() { close_conn(conn); }
  // A new connection whose Hello is the fixture's (a transactional producer of kProducerGroup).
  void reconnect_as_producer();
  void send_frame(std::string_view payload) { send_bytes(conn, framing::encode_frame(payload)); }
  // Writes all of `bytes` to `c`, running the broker while the socket is full. Returns false if
  // the broker closed the connection first (the rest is not written).
  bool send_bytes(Conn& c, std::string_view bytes);
  void drain(Conn& c, std::vector<std::string>& out);
  void drain(std::vector<std::string>& out) { drain(conn, out); }
  // What step() remembers between the steps of one wait.
  struct Steps {
    int idle = 0;         // steps in a row that ran nothing
    int taken = 0;        // steps since the clock last moved
    bool checks = false;  // run a check-back round after each clock move (exchange() only)
  };
  // One step of the broker: runs a ready handler or waits up to 2 ms for one. After two idle
  // steps with a fetch parked in a long poll, or after kStepsPerClockMove steps of any kind, moves
  // the clock past a fetch's longest wait and wakes every parked fetch; then, with `checks`, runs
  // the check-back scheduler's round (mqbroker's periodic job) at the new time.
  void step(Steps& s);
  // Runs the broker until `done()` or until the raw session closed; aborts after 30 s.
  template <typename Done>
  HandlerBroker::RawRead run_raw(Done done, const char* what);
  // Runs the broker until `done(frames)`; releases long polls when nothing else is happening.
  template <typename Done>
  std::vector<std::string> run_until(Done done);
  // Sends a request of the fixture's own, which must succeed; returns the answer.
  std::string setup_request(const std::string& request);
  // Re-creates the fixture's topics and group config if a request deleted them.
  void restore();
  // A member of kGroup in `slot` that is alive now: the last one, or a new one (JoinGroup).
  std::string live_member(size_t slot);
  // A transaction in `slot` that is pending (or parked) on kTopic as it is now: the last one, or a
  // new one (SendHalf).
  uint64_t live_txn(size_t slot);
  LiveIds live_ids();
};

HandlerBroker::Impl::Impl() {
  (void)logging::init("off");
  BrokerConfig config;
  config.data_dir = dir.str();
  config.flush = FlushMode::kAsync;
  config.max_message_bytes = kMaxMessageBytes;
  config.min_free_disk_bytes = 0;
  config.write_buffer_bytes = 1u << 20;
  config.block_cache_bytes = 1u << 20;
  config.io_threads = 1;
  auto opened = BrokerCore::open(config, clock);
  TIDEMQ_FUZZ_CHECK(opened.is_ok());
  core = std::move(opened).value();
  limits.max_frame_bytes = config.max_frame_bytes;
  limits.idle_timeout_ms = int64_t{1} << 50;  // the harness moves the clock; the connection must stay

  connect();
  setup_request(hello_request());
  restore();
  setup_request(produce_request(0));
  setup_request(produce_request(1));
}

HandlerBroker::Impl::~Impl() {
  // Broker::stop()'s order, without the listener.
  close_conn(raw);
  disconnect();
  core->long_poll->wake_all();
  core->txn->stop();
  core->log->stop();
  core->pressure->stop();
  core->executors->join();
  core.reset();
}

HandlerBroker::Impl::Conn HandlerBroker::Impl::open_conn() {
  int fds[2];
  TIDEMQ_FUZZ_CHECK(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  Conn c;
  c.fd = fds[1];
  c.server_fd = fds[0];
  TIDEMQ_FUZZ_CHECK(::fcntl(c.fd, F_SETFL, O_NONBLOCK) == 0);
  // The session's Socket is a tcp::socket; Asio does not check the family of an assigned fd, and
  // every call the session makes (recvmsg, sendmsg, shutdown) works on a stream socketpair.
  Session::Socket socket(io());
  socket.assign(asio::ip::tcp::v4(), fds[0]);
  c.session = std::make_shared<Session>(std::move(socket), next_session_id++, *core->dispatcher, limits, clock,
                                        core->pressure.get());
  core->sessions.add(c.session);
  c.session->start();
  return c;
}

void HandlerBroker::Impl::close_conn(Conn& c) {
  if (!c.session) return;
  c.session->close("fuzz harness: next connection");
  ::shutdown(c.fd, SHUT_RDWR);
  auto deadline = std::chrono::steady_clock::now() + kAnswerTimeout;
  while (!c.session->closed()) {
    io().run_one_for(std::chrono::milliseconds(5));
    TIDEMQ_FUZZ_CHECK(std::chrono::steady_clock::now() < deadline && "the session did not close");
  }
  io().poll();
  c.session.reset();
  ::close(c.fd);
  c.fd = -1;
  c.server_fd = -1;
}

void HandlerBroker::Impl::reconnect_as_producer() {
  disconnect();
  connect();
  setup_request(hello_request());
}

bool HandlerBroker::Impl::send_bytes(Conn& c, std::string_view rest) {
  while (!rest.empty()) {
    ssize_t n = ::send(c.fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n > 0) {
      rest.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {  // the broker closed the connection
      TIDEMQ_FUZZ_CHECK(c.session->closed());
      return false;
    }
    TIDEMQ_FUZZ_CHECK(n < 0 && errno == EAGAIN);  // the session reads while we wait
    io().run_one_for(std::chrono::milliseconds(1));
  }
  return true;
}

void HandlerBroker::Impl::drain(Conn& c, std::vector<std::string>& out) {
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    // The broker's frames: a length prefix (never 0, never past the cap) and that many bytes.
    TIDEMQ_FUZZ_CHECK(c.decoder.feed(std::string_view(buf, static_cast<size_t>(n))).is_ok());
  }
  while (auto frame = c.decoder.next()) {
    if (is_broker_request(*frame)) {  // the broker asks: not an answer (and it verified)
      ++check_requests;
      continue;
    }
    out.push_back(std::move(*frame));
    ++c.answers;
  }
}

void HandlerBroker::Impl::step(Steps& s) {
  s.idle = io().run_one_for(std::chrono::milliseconds(2)) > 0 ? 0 : s.idle + 1;
  // A fetch waits for data or tokens: let its time pass (a real-time wait would stall fuzzing).
  // Not only when the broker is idle: a token wait (a rate-limited group fetch) is a real timer of
  // the bucket's refill time, a millisecond or two, while the bucket refills on this ManualClock —
  // the timer fires, the fetch looks again on the blocking pool and waits again, for ever unless
  // the clock moves (and waiting() is 0 in the moment between two of its waits).
  if ((s.idle >= 2 && core->long_poll->waiting() > 0) || ++s.taken >= kStepsPerClockMove) {
    clock.advance_ms(kLongPollStepMs);
    (void)core->groups->expire();
    core->long_poll->wake_all();
    // Halves the clock made due are checked with the fixture's connection (a live producer of
    // their group, when its Hello is the fixture's); persisting and sending run on the blocking
    // pool and the session's strand, as in mqbroker. Past check_max checks a half is parked.
    if (s.checks) core->txn->run_checks();
    s.idle = 0;
    s.taken = 0;
  }
}

template <typename Done>
std::vector<std::string> HandlerBroker::Impl::run_until(Done done) {
  std::vector<std::string> frames;
  const auto deadline = std::chrono::steady_clock::now() + kAnswerTimeout;
  Steps steps{.checks = true};
  for (;;) {
    drain(frames);
    if (done(frames)) break;
    TIDEMQ_FUZZ_CHECK(std::chrono::steady_clock::now() < deadline && "a request was not answered in 30 s");
    TIDEMQ_FUZZ_CHECK(!conn.session->closed() && "the broker closed the connection");
    step(steps);
  }
  // What the broker writes right after the answer (a second answer would be a bug).
  io().poll();
  drain(frames);
  return frames;
}

std::string HandlerBroker::Impl::setup_request(const std::string& request) {
  send_frame(request);
  auto frames = run_until([](const std::vector<std::string>& f) { return !f.empty(); });
  TIDEMQ_FUZZ_CHECK(frames.size() == 1);
  const wire::Envelope& env = parse(frames[0]);
  if (env.error() != wire::ErrorCode::NONE) {
    std::fprintf(stderr, "fuzz broker setup: %s: %s\n", wire::EnumNameErrorCode(env.error()),
                 env.error_message() ? env.error_message()->c_str() : "");
  }
  TIDEMQ_FUZZ_CHECK(env.error() == wire::ErrorCode::NONE);
  return std::move(frames[0]);
}

void HandlerBroker::Impl::restore() {
  if (!core->topics->find(std::string(kTopic))) setup_request(create_topic_request(kTopic, 4));
  if (!core->topics->find(std::string(kSmallTopic))) setup_request(create_topic_request(kSmallTopic, 1));
  if (!core->group_configs->find(std::string(kGroup))) setup_request(update_group_request());
}

std::string HandlerBroker::Impl::live_member(size_t slot) {
  std::string& id = members[slot];
  if (id.empty() || !core->groups->client_id(std::string(kGroup), id).is_ok()) {
    std::string answer = setup_request(join_request(slot));
    id = parse(answer).body_as_JoinGroupResponse()->member_id()->str();
  }
  return id;
}

uint64_t HandlerBroker::Impl::live_txn(size_t slot) {
  Half& h = halves[slot];
  auto topic = core->topics->find(std::string(kTopic));  // restore() ran
  TIDEMQ_FUZZ_CHECK(topic.has_value());
  if (h.txn_id != 0 && h.topic_id == topic->topic_id) {
    auto record = core->txn->read_half(h.txn_id);  // a record while pending or parked
    if (record.is_ok() && record->has_value()) return h.txn_id;
  }
  // SendHalf needs the connection's Hello to name a producer group: after a fuzzed Hello that
  // named none (or another), the request goes on a connection of the fixture's instead.
  if (conn.session->client().producer_group != kProducerGroup) reconnect_as_producer();
  h.txn_id = next_txn_id++;
  h.topic_id = topic->topic_id;
  setup_request(send_half_request(h.txn_id, static_cast<uint32_t>(slot % topic->partitions), clock.now_ms()));
  return h.txn_id;
}

LiveIds HandlerBroker::Impl::live_ids() {
  return LiveIds{
      .member = [this](size_t slot) { return live_member(slot); },
      .generation = [this](size_t) { return core->groups->generation(std::string(kGroup)); },
      .txn = [this](size_t slot) { return live_txn(slot); },
  };
}

void check_answer_shape(const wire::Envelope& answer) {
  TIDEMQ_FUZZ_CHECK(wire::EnumNameErrorCode(answer.error())[0] != '\0');  // a known ErrorCode
  if (answer.error() != wire::ErrorCode::NONE) {
    TIDEMQ_FUZZ_CHECK(answer.body_type() == wire::Body::NONE);
    return;
  }
  const std::string_view name = wire::EnumNameBody(answer.body_type());
  TIDEMQ_FUZZ_CHECK(name.ends_with("Response"));
  TIDEMQ_FUZZ_CHECK(answer.body() != nullptr);
}

HandlerBroker::HandlerBroker() : impl_(std::make_unique<Impl>()) {}
HandlerBroker::~HandlerBroker() = default;

HandlerBroker& HandlerBroker::shared() {
  static HandlerBroker* current = nullptr;
  static int uses = 0;
  if (current == nullptr || ++uses >= kInputsPerBroker) {
    const bool first = current == nullptr;
    delete current;  // the old one (and its TempDir) goes first
    current = new HandlerBroker();
    uses = 0;
    // Registered after the broker's statics (spdlog's registry) exist, so it runs before they
    // are destroyed.
    if (first) std::atexit([] { delete current; });
  }
  return *current;
}

HandlerBroker::Exchange HandlerBroker::exchange(std::string_view envelope, bool one_way, bool fresh_session) {
  Impl& m = *impl_;
  Exchange out;
  const size_t checks_before = m.check_requests;
  std::vector<std::string> stale;
  m.io().poll();
  m.drain(stale);
  out.stale = stale.size();
  if (fresh_session) {
    m.disconnect();
    m.connect();
  } else if (!m.conn.session->client().hello_done) {  // the last request was a Hello that failed
    m.reconnect_as_producer();
  }
  std::optional<std::string> live;
  if (m.conn.session->client().hello_done) {
    m.restore();
    live = substitute_placeholders(envelope, m.live_ids());
  }
  m.send_frame(live ? *live : envelope);
  if (one_way) {
    m.send_frame(probe_request());
    out.frames = m.run_until([](const std::vector<std::string>& f) {
      return !f.empty() && parse(f.back()).correlation_id() == kProbeId &&
             parse(f.back()).body_type() == wire::Body::ListTopicsResponse;
    });
    out.frames.pop_back();
  } else {
    out.frames = m.run_until([](const std::vector<std::string>& f) { return !f.empty(); });
  }
  out.check_requests = m.check_requests - checks_before;
  return out;
}

// --- Raw connections (fuzz_raw_broker) ---

std::string HandlerBroker::hello_envelope() { return hello_request(); }

template <typename Done>
HandlerBroker::RawRead HandlerBroker::Impl::run_raw(Done done, const char* what) {
  RawRead out;
  const auto deadline = std::chrono::steady_clock::now() + kAnswerTimeout;
  Steps steps;
  for (;;) {
    drain(raw, out.frames);
    if (raw.session->closed()) {
      io().poll();  // what the session's close left ready (its registry entry goes)
      drain(raw, out.frames);
      out.closed = true;
      return out;
    }
    if (done()) return out;
    if (std::chrono::steady_clock::now() >= deadline) {
      std::fprintf(stderr, "fuzz raw connection: %s in 30 s (in flight: %u)\n", what, raw.session->inflight());
      TIDEMQ_FUZZ_CHECK(!"the broker hung on a raw connection");
    }
    step(steps);
  }
}

void HandlerBroker::raw_open(bool hello) {
  Impl& m = *impl_;
  TIDEMQ_FUZZ_CHECK(!m.raw.session && "a raw connection is open");
  m.restore();
  m.raw = m.open_conn();
  if (!hello) return;
  TIDEMQ_FUZZ_CHECK(m.send_bytes(m.raw, framing::encode_frame(hello_request())));
  RawRead r = m.run_raw([&m] { return m.raw.answers > 0; }, "the Hello was not answered");
  TIDEMQ_FUZZ_CHECK(!r.closed && r.frames.size() == 1);
  const wire::Envelope& env = parse(r.frames[0]);
  TIDEMQ_FUZZ_CHECK(env.correlation_id() == kHelloId && env.error() == wire::ErrorCode::NONE);
  TIDEMQ_FUZZ_CHECK(env.body_type() == wire::Body::HelloResponse);
  m.raw.answers = 0;  // raw_wait_answers() counts what the raw bytes got
}

HandlerBroker::RawRead HandlerBroker::raw_write(std::string_view bytes) {
  Impl& m = *impl_;
  TIDEMQ_FUZZ_CHECK(m.raw.session != nullptr);
  RawRead out;
  if (!m.raw.session->closed() && !m.send_bytes(m.raw, bytes)) {
    m.drain(m.raw, out.frames);
  }
  // Taken in: every byte read off the socket (nothing queued on the session's end), nothing in
  // flight, and no handler ready to run (the poll() is the last step of the check).
  Session& s = *m.raw.session;
  const int server_fd = m.raw.server_fd;
  RawRead r = m.run_raw(
      [&] {
        int unread = 0;
        TIDEMQ_FUZZ_CHECK(::ioctl(server_fd, FIONREAD, &unread) == 0);
        return unread == 0 && s.inflight() == 0 && s.unsent_bytes() == 0 && m.io().poll() == 0;
      },
      "the written bytes were not taken in");
  out.frames.insert(out.frames.end(), std::make_move_iterator(r.frames.begin()),
                    std::make_move_iterator(r.frames.end()));
  out.closed = r.closed;
  return out;
}

HandlerBroker::RawRead HandlerBroker::raw_wait_answers(size_t answers) {
  Impl& m = *impl_;
  TIDEMQ_FUZZ_CHECK(m.raw.session != nullptr);
  return m.run_raw([&m, answers] { return m.raw.answers >= answers; }, "complete frames were left unanswered");
}

HandlerBroker::RawRead HandlerBroker::raw_wait_closed() {
  Impl& m = *impl_;
  TIDEMQ_FUZZ_CHECK(m.raw.session != nullptr);
  return m.run_raw([] { return false; }, "the broker did not close a connection after a bad frame");
}

HandlerBroker::RawRead HandlerBroker::raw_shutdown_write() {
  Impl& m = *impl_;
  TIDEMQ_FUZZ_CHECK(m.raw.session != nullptr);
  ::shutdown(m.raw.fd, SHUT_WR);
  return m.run_raw([] { return false; }, "the broker did not close a connection its peer shut down");
}

HandlerBroker::RawRead HandlerBroker::raw_close() {
  Impl& m = *impl_;
  TIDEMQ_FUZZ_CHECK(m.raw.session != nullptr);
  RawRead out;
  out.closed = m.raw.session->closed();
  m.drain(m.raw, out.frames);
  const uint64_t id = m.raw.session->id();
  const std::weak_ptr<Session> gone = m.raw.session;
  m.close_conn(m.raw);
  // Work the connection's requests started (a DeleteTopic on the blocking pool, a parked fetch)
  // holds the session until it is done: wait for it, so the next input starts from a quiet
  // broker, and so a session that is never released (a leak) is caught.
  const auto deadline = std::chrono::steady_clock::now() + kAnswerTimeout;
  Impl::Steps steps;
  while (!gone.expired()) {
    TIDEMQ_FUZZ_CHECK(std::chrono::steady_clock::now() < deadline && "a closed session was never released");
    m.step(steps);
  }
  // Every frame the broker wrote was whole: nothing of one is left in the client's decoder.
  TIDEMQ_FUZZ_CHECK(m.raw.decoder.buffered_bytes() == 0 && "the broker wrote part of a frame");
  m.raw.decoder = framing::FrameDecoder(64u << 20);
  m.raw.answers = 0;
  TIDEMQ_FUZZ_CHECK(m.core->sessions.find(id) == nullptr && "a closed session is still registered");
  return out;
}

size_t HandlerBroker::sessions() const { return impl_->core->sessions.size(); }
uint32_t HandlerBroker::max_frame_bytes() const { return impl_->limits.max_frame_bytes; }

void HandlerBroker::probe() {
  Impl& m = *impl_;
  m.restore();
  Impl::Conn saved = std::move(m.raw);  // the probe borrows the raw connection's slot
  m.raw = m.open_conn();
  TIDEMQ_FUZZ_CHECK(m.send_bytes(m.raw, framing::encode_frame(admin_hello_request()) +
                                            framing::encode_frame(probe_request())));
  RawRead r = m.run_raw([&m] { return m.raw.answers >= 2; }, "the probe was not answered");
  TIDEMQ_FUZZ_CHECK(!r.closed && r.frames.size() == 2);
  const wire::Envelope& hello = parse(r.frames[0]);
  TIDEMQ_FUZZ_CHECK(hello.correlation_id() == kHelloId && hello.error() == wire::ErrorCode::NONE);
  const wire::Envelope& list = parse(r.frames[1]);
  TIDEMQ_FUZZ_CHECK(list.correlation_id() == kProbeId && list.error() == wire::ErrorCode::NONE);
  const auto* topics = list.body_as_ListTopicsResponse();
  TIDEMQ_FUZZ_CHECK(topics != nullptr && topics->topics() != nullptr);
  size_t known = 0;
  for (const auto* t : *topics->topics()) {
    known += t->name() && (t->name()->string_view() == kTopic || t->name()->string_view() == kSmallTopic);
  }
  TIDEMQ_FUZZ_CHECK(known == 2 && "the probe's ListTopics does not list the fixture's topics");
  (void)raw_close();
  m.raw = std::move(saved);
}

}  // namespace tidemq::fuzz
