#include "tests/fuzz/handler_broker.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include <asio.hpp>

#include "broker/config.h"
#include "broker/delivery/group_coordinator.h"
#include "broker/delivery/long_poll.h"
#include "broker/delivery/rate_limiter.h"
#include "broker/dispatch/dispatcher.h"
#include "broker/dispatch/services.h"
#include "broker/dispatch/session_check_sender.h"
#include "broker/executors.h"
#include "broker/metrics/broker_metrics.h"
#include "broker/net/session.h"
#include "broker/net/session_registry.h"
#include "broker/net/write_pressure.h"
#include "broker/schedule/delay_store.h"
#include "broker/schedule/retry_service.h"
#include "broker/store/db.h"
#include "broker/store/disk_guard.h"
#include "broker/store/group_config_store.h"
#include "broker/store/log_store.h"
#include "broker/store/offset_store.h"
#include "broker/store/topic_registry.h"
#include "broker/txn/txn_service.h"
#include "broker/version.h"
#include "common/clock.h"
#include "common/framing.h"
#include "common/logging.h"
#include "schemas/envelope_generated.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/schemas/wire_samples.h"
#include "tests/support/temp_dir.h"

namespace tidemq::fuzz {

namespace {

namespace fb = flatbuffers;
using namespace tidemq::broker;

constexpr uint64_t kProbeId = 0xF0F0F0F0F0F0F0F0ull;
constexpr auto kAnswerTimeout = std::chrono::seconds(30);
constexpr int64_t kLongPollStepMs = 30'000;  // past the fetch handler's 20 s wait cap

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
  BrokerConfig config;
  std::unique_ptr<Db> db;
  std::unique_ptr<TopicRegistry> topics;
  std::unique_ptr<LogStore> log;
  std::unique_ptr<OffsetStore> offsets;
  std::unique_ptr<GroupConfigStore> group_configs;
  std::unique_ptr<RateLimiters> rate_limiters;
  std::unique_ptr<GroupCoordinator> groups;
  std::unique_ptr<Executors> executors;  // its io_context runs on the fuzzing thread only
  std::unique_ptr<LongPoll> long_poll;
  SessionRegistry sessions;
  BrokerMetrics metrics;
  std::unique_ptr<DiskGuard> disk;
  std::unique_ptr<WritePressure> pressure;
  std::unique_ptr<SessionCheckSender> check_sender;
  std::unique_ptr<txn::TxnService> txn;
  std::unique_ptr<DelayStore> delays;
  std::unique_ptr<RetryService> retries;
  std::unique_ptr<Services> services;
  std::unique_ptr<Dispatcher> dispatcher;
  SessionLimits limits;

  std::shared_ptr<Session> session;
  int fd = -1;  // the client's end of the socketpair
  uint64_t next_session_id = 1;
  framing::FrameDecoder decoder{64u << 20};

  Impl();
  ~Impl();

  asio::io_context& io() { return executors->io(); }
  void connect();
  void disconnect();
  void send_frame(std::string_view payload);
  void drain(std::vector<std::string>& out);
  // Runs the broker until `done(frames)`; releases long polls when nothing else is happening.
  template <typename Done>
  std::vector<std::string> run_until(Done done);
  void setup_request(const std::string& request);
  // Re-creates the fixture's topics and group config if a request deleted them.
  void restore();
};

HandlerBroker::Impl::Impl() {
  (void)logging::init("off");
  config.data_dir = dir.str();
  config.flush = FlushMode::kAsync;
  config.max_message_bytes = kMaxMessageBytes;
  config.min_free_disk_bytes = 0;
  config.write_buffer_bytes = 1u << 20;
  config.block_cache_bytes = 1u << 20;
  DbOptions dbo;
  dbo.path = config.data_dir;
  dbo.flush = config.flush;
  dbo.write_buffer_bytes = config.write_buffer_bytes;
  dbo.block_cache_bytes = config.block_cache_bytes;
  auto opened = Db::open(dbo);
  TIDEMQ_FUZZ_CHECK(opened.is_ok());
  db = std::move(opened).value();
  topics = std::make_unique<TopicRegistry>(*db, clock);
  TIDEMQ_FUZZ_CHECK(topics->load().is_ok());
  log = std::make_unique<LogStore>(*db, *topics, clock);
  TIDEMQ_FUZZ_CHECK(log->open().is_ok());
  offsets = std::make_unique<OffsetStore>(*db, clock);
  TIDEMQ_FUZZ_CHECK(offsets->load().is_ok());
  group_configs = std::make_unique<GroupConfigStore>(*db, clock);
  TIDEMQ_FUZZ_CHECK(group_configs->load().is_ok());
  rate_limiters = std::make_unique<RateLimiters>(clock);
  groups = std::make_unique<GroupCoordinator>(
      clock,
      [t = topics.get()](const std::string& topic) {
        auto found = t->find(topic);
        return found ? found->partitions : 0u;
      },
      [c = group_configs.get()](const std::string& group) {
        GroupConfig g = c->find_or_default(group);
        return std::make_pair(g.strategy, g.mode);
      });
  executors = std::make_unique<Executors>(1, 2);
  long_poll = std::make_unique<LongPoll>(io(), executors->blocking());
  log->set_append_listener([lp = long_poll.get()](uint32_t topic_id, uint32_t partition, uint64_t) {
    lp->notify(topic_id, partition);
  });
  disk = std::make_unique<DiskGuard>(config.data_dir, config.min_free_disk_bytes);
  WritePressure::Options po;
  po.max_pending_bytes = config.max_pending_bytes;
  po.resume_bytes = WritePressure::resume_bytes_for(config.max_pending_bytes);
  po.busy_timeout_ms = config.busy_timeout_ms;
  pressure = std::make_unique<WritePressure>(io().get_executor(), [l = log.get()] { return l->pending_bytes(); }, po,
                                             clock, metrics.backpressure_pauses);
  log->set_drain_listener([p = pressure.get()] { p->on_drained(); });
  groups->set_change_listener([lp = long_poll.get()](const std::string& group, uint32_t) { lp->notify_group(group); });
  check_sender = std::make_unique<SessionCheckSender>(sessions, *topics);
  txn = std::make_unique<txn::TxnService>(*db, *log, *topics, clock, txn::txn_options(config), *check_sender,
                                          executors->blocking());
  TIDEMQ_FUZZ_CHECK(txn->open().is_ok());
  delays = std::make_unique<DelayStore>(*db, *log, clock, DelayOptions{config.delay_max_per_tick});
  TIDEMQ_FUZZ_CHECK(delays->open().is_ok());
  retries = std::make_unique<RetryService>(*topics, *group_configs, *offsets, *log, *delays, clock,
                                           config.max_message_bytes,
                                           [g = groups.get()](const TopicConfig& t) { g->topic_changed(t.name); });
  services.reset(new Services{config, clock, *db, *topics, *log, *long_poll, *groups, *offsets, *group_configs,
                              *rate_limiters, sessions, metrics, *pressure, *disk, *txn, *delays, *retries,
                              executors->blocking(), clock.monotonic_ms(), "fuzz"});
  dispatcher = std::make_unique<Dispatcher>(*services);
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
  long_poll->wake_all();
  txn->stop();
  log->stop();
  pressure->stop();
  executors->join();
  pressure.reset();
  executors.reset();  // frees the remaining coroutine frames while what they point to still exists
  long_poll.reset();
  dispatcher.reset();
  txn.reset();
  retries.reset();
  delays.reset();
  check_sender.reset();
  groups.reset();
  rate_limiters.reset();
  group_configs.reset();
  offsets.reset();
  log.reset();
  topics.reset();
  db.reset();
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
  session = std::make_shared<Session>(std::move(socket), next_session_id++, *dispatcher, limits, clock,
                                      pressure.get());
  sessions.add(session);
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
    } else if (++idle >= 2 && long_poll->waiting() > 0) {
      // A fetch waits for data or tokens: let its time pass (a real-time wait would stall fuzzing).
      clock.advance_ms(kLongPollStepMs);
      (void)groups->expire();
      long_poll->wake_all();
      idle = 0;
    }
  }
  // What the broker writes right after the answer (a second answer would be a bug).
  io().poll();
  drain(frames);
  return frames;
}

void HandlerBroker::Impl::setup_request(const std::string& request) {
  send_frame(request);
  auto frames = run_until([](const std::vector<std::string>& f) { return !f.empty(); });
  TIDEMQ_FUZZ_CHECK(frames.size() == 1);
  const wire::Envelope& env = parse(frames[0]);
  if (env.error() != wire::ErrorCode::NONE) {
    std::fprintf(stderr, "fuzz broker setup: %s: %s\n", wire::EnumNameErrorCode(env.error()),
                 env.error_message() ? env.error_message()->c_str() : "");
  }
  TIDEMQ_FUZZ_CHECK(env.error() == wire::ErrorCode::NONE);
}

void HandlerBroker::Impl::restore() {
  if (!topics->find(std::string(kTopic))) setup_request(create_topic_request(kTopic, 4));
  if (!topics->find(std::string(kSmallTopic))) setup_request(create_topic_request(kSmallTopic, 1));
  if (!group_configs->find(std::string(kGroup))) setup_request(update_group_request());
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
    m.disconnect();
    m.connect();
    m.setup_request(hello_request());
  }
  if (m.session->client().hello_done) m.restore();
  m.send_frame(envelope);
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
