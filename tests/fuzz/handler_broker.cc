#include "tests/fuzz/handler_broker.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>

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
  return finish(fbb, 1, wire::Body::HelloRequest, body.Union());
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

  std::shared_ptr<Session> session;
  int fd = -1;  // the client's end of the socketpair
  uint64_t next_session_id = 1;
  framing::FrameDecoder decoder{64u << 20};

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
  void connect();
  void disconnect();
  // A new connection whose Hello is the fixture's (a transactional producer of kProducerGroup).
  void reconnect_as_producer();
  void send_frame(std::string_view payload);
  void drain(std::vector<std::string>& out);
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
  disconnect();
  core->long_poll->wake_all();
  core->txn->stop();
  core->log->stop();
  core->pressure->stop();
  core->executors->join();
  core.reset();
}

void HandlerBroker::Impl::connect() {
  int fds[2];
  TIDEMQ_FUZZ_CHECK(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  fd = fds[1];
  TIDEMQ_FUZZ_CHECK(::fcntl(fd, F_SETFL, O_NONBLOCK) == 0);
  // The session's Socket is a tcp::socket; Asio does not check the family of an assigned fd, and
  // every call the session makes (recvmsg, sendmsg, shutdown) works on a stream socketpair.
  Session::Socket socket(io());
  socket.assign(asio::ip::tcp::v4(), fds[0]);
  session = std::make_shared<Session>(std::move(socket), next_session_id++, *core->dispatcher, limits, clock,
                                      core->pressure.get());
  core->sessions.add(session);
  session->start();
  decoder = framing::FrameDecoder(64u << 20);
}

void HandlerBroker::Impl::disconnect() {
  if (!session) return;
  session->close("fuzz harness: next connection");
  ::shutdown(fd, SHUT_RDWR);
  auto deadline = std::chrono::steady_clock::now() + kAnswerTimeout;
  while (!session->closed()) {
    io().run_one_for(std::chrono::milliseconds(5));
    TIDEMQ_FUZZ_CHECK(std::chrono::steady_clock::now() < deadline && "the session did not close");
  }
  io().poll();
  session.reset();
  ::close(fd);
  fd = -1;
}

void HandlerBroker::Impl::reconnect_as_producer() {
  disconnect();
  connect();
  setup_request(hello_request());
}

void HandlerBroker::Impl::send_frame(std::string_view payload) {
  std::string bytes = framing::encode_frame(payload);
  std::string_view rest = bytes;
  std::vector<std::string> ignored;
  while (!rest.empty()) {
    ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n > 0) {
      rest.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    TIDEMQ_FUZZ_CHECK(n < 0 && errno == EAGAIN);  // the session reads while we wait
    io().run_one_for(std::chrono::milliseconds(1));
  }
}

void HandlerBroker::Impl::drain(std::vector<std::string>& out) {
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    TIDEMQ_FUZZ_CHECK(decoder.feed(std::string_view(buf, static_cast<size_t>(n))).is_ok());
  }
  while (auto frame = decoder.next()) out.push_back(std::move(*frame));
}

template <typename Done>
std::vector<std::string> HandlerBroker::Impl::run_until(Done done) {
  std::vector<std::string> frames;
  const auto deadline = std::chrono::steady_clock::now() + kAnswerTimeout;
  int idle = 0;
  for (;;) {
    drain(frames);
    if (done(frames)) break;
    TIDEMQ_FUZZ_CHECK(std::chrono::steady_clock::now() < deadline && "a request was not answered in 30 s");
    TIDEMQ_FUZZ_CHECK(!session->closed() && "the broker closed the connection");
    if (io().run_one_for(std::chrono::milliseconds(2)) > 0) {
      idle = 0;
    } else if (++idle >= 2 && core->long_poll->waiting() > 0) {
      // A fetch waits for data or tokens: let its time pass (a real-time wait would stall fuzzing).
      clock.advance_ms(kLongPollStepMs);
      (void)core->groups->expire();
      core->long_poll->wake_all();
      idle = 0;
    }
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
  if (session->client().producer_group != kProducerGroup) reconnect_as_producer();
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

HandlerBroker::HandlerBroker() : impl_(std::make_unique<Impl>()) {}
HandlerBroker::~HandlerBroker() = default;

HandlerBroker::Exchange HandlerBroker::exchange(std::string_view envelope, bool one_way, bool fresh_session) {
  Impl& m = *impl_;
  Exchange out;
  std::vector<std::string> stale;
  m.io().poll();
  m.drain(stale);
  out.stale = stale.size();
  if (fresh_session) {
    m.disconnect();
    m.connect();
  } else if (!m.session->client().hello_done) {  // the last request was a Hello that failed
    m.reconnect_as_producer();
  }
  std::optional<std::string> live;
  if (m.session->client().hello_done) {
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
    return out;
  }
  out.frames = m.run_until([](const std::vector<std::string>& f) {
    for (const auto& frame : f) {
      if (!is_broker_request(frame)) return true;
    }
    return false;
  });
  return out;
}

}  // namespace tidemq::fuzz
