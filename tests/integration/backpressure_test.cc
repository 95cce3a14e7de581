// Producer back-pressure and the disk low-water mark (SPEC §5.3, last bullet), against a real
// broker in-process on port 0: a FaultEnv holds the store's fsyncs so the writer cannot finish,
// raw clients flood produce requests, and the public Producer rides out SYSTEM_BUSY.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <condition_variable>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/record_batch.h"
#include "tests/integration/in_process_broker.h"
#include "tests/integration/raw_client.h"
#include "tests/support/fault_env.h"
#include "tests/support/eventually.h"
#include "tidemq/admin.h"
#include "tidemq/producer.h"
#include "tidemq/reader.h"

using namespace tidemq;
using namespace std::chrono_literals;
using test::make_batch;
using test::produce_payload;
using test::RawClient;

namespace {

uint64_t stat(Admin& admin, const std::string& name) {
  auto status = admin.broker_status();
  REQUIRE_MESSAGE(status.is_ok(), status.status().to_string());
  for (const auto& [k, v] : status->stats) {
    if (k == name) return std::stoull(v);
  }
  FAIL("brokerStatus has no stat " << name);
  return 0;
}

// Polls brokerStatus (an admin connection is never paused) until `pred` holds, up to 20 s.
template <typename Pred>
bool eventually(Pred pred) {
  return test::eventually(pred, 20s);
}

uint64_t rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;  // kB
  }
  return 0;
}

// Every ack of a produce response is ok.
void check_produce_ok(const std::string& frame) {
  const auto& env = test::envelope_of(frame);
  REQUIRE_MESSAGE(env.error() == wire::ErrorCode::NONE, wire::EnumNameErrorCode(env.error()));
  REQUIRE(env.body_type() == wire::Body::ProduceResponse);
  for (const auto* ack : *env.body_as_ProduceResponse()->acks()) {
    CHECK_MESSAGE(ack->error() == wire::ErrorCode::NONE, wire::EnumNameErrorCode(ack->error()));
  }
}

// Releases held fsyncs when a test ends early (a failed REQUIRE), so the broker can shut down.
// Declare it after the broker: it is destroyed first.
struct ReleaseSyncsOnExit {
  test::FaultEnv& env;
  ~ReleaseSyncsOnExit() { env.release_syncs(); }
};

uint64_t total_end_offset(Admin& admin, const std::string& topic) {
  auto ts = admin.topic_status(topic);
  REQUIRE(ts.is_ok());
  uint64_t n = 0;
  for (const auto& p : ts->partitions) n += p.end_offset;
  return n;
}

// A raw producer connection writing frames without blocking, to see where the broker stops it.
struct Flooder {
  Flooder(uint16_t port, std::string topic, uint32_t partition, const std::string& batch)
      : client(port), topic(std::move(topic)), partition(partition), batch(batch) {
    test::hello(client);
  }
  int fd() { return client.socket().native_handle(); }
  // Writes until the socket would block or `cap` bytes went out; true if anything was written.
  bool pump(size_t cap) {
    bool any = false;
    while (sent < cap) {
      if (off == current.size()) {
        current = framing::encode_frame(produce_payload(100 + frames, topic, partition, batch));
        off = 0;
        ++frames;
      }
      ssize_t n = ::send(fd(), current.data() + off, current.size() - off, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        off += static_cast<size_t>(n);
        sent += static_cast<size_t>(n);
        any = true;
        continue;
      }
      REQUIRE_MESSAGE((n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)), "send: " << std::strerror(errno));
      break;
    }
    return any;
  }
  // Blocking: the rest of the frame started last.
  void finish_frame() {
    if (off < current.size()) client.send(std::string_view(current).substr(off));
    off = current.size();
  }
  // Finishes the frame started last and reads every answer: each one acknowledges its request.
  void expect_all_acked() {
    finish_frame();
    for (uint64_t i = 0; i < frames; ++i) {
      auto resp = client.read_frame();
      REQUIRE_MESSAGE(resp, "response " << i << " of " << frames << " missing");
      check_produce_ok(*resp);
      CHECK(test::envelope_of(*resp).correlation_id() == 100 + i);
    }
  }

  RawClient client;
  std::string topic;
  uint32_t partition;
  const std::string& batch;
  std::string current;
  size_t off = 0;
  uint64_t frames = 0;  // frames started; each is completed by finish_frame()
  size_t sent = 0;
};

}  // namespace

TEST_CASE("back-pressure: a produce flood against a stuck writer is held in the sockets, bounded, and loses nothing") {
  constexpr size_t kMaxPending = 1u << 20;
  constexpr int kClients = 3;
  constexpr size_t kCapPerClient = 256u << 20;  // reaching it would mean nothing stopped the flood
  test::FaultEnv env;
  broker::BrokerConfig cfg;
  cfg.max_pending_bytes = kMaxPending;
  cfg.busy_timeout_ms = 120'000;  // this test wants every request admitted, none answered BUSY
  cfg.frame_timeout_ms = 300;     // a connection paused by the broker is not a slow-loris
  test::InProcessBroker broker(cfg, &env);
  ReleaseSyncsOnExit release_on_exit{env};
  auto admin = Admin::create(broker.client_options());
  REQUIRE(admin.is_ok());
  REQUIRE((*admin)->update_topic({"flood", kClients, -1, -1}).is_ok());

  const std::string batch = make_batch(60, 1000);
  const size_t frame_bytes = produce_payload(100, "flood", 0, batch).size();
  std::vector<std::unique_ptr<Flooder>> flooders;
  for (int i = 0; i < kClients; ++i) {
    flooders.push_back(std::make_unique<Flooder>(broker.port(), "flood", static_cast<uint32_t>(i), batch));
  }
  const uint64_t rss_before = rss_bytes();

  env.hold_syncs();  // the writer's first round blocks in its fsync; everything after piles up
  for (;;) {
    bool any = false;
    for (auto& f : flooders) any = f->pump(kCapPerClient) || any;
    for (auto& f : flooders) REQUIRE_MESSAGE(f->sent < kCapPerClient, "the broker never stopped reading");
    if (any) continue;
    // Every socket would block: wait for any to drain. None within 1 s: the writes have plateaued.
    std::vector<pollfd> fds;
    for (auto& f : flooders) fds.push_back({f->fd(), POLLOUT, 0});
    int ready = ::poll(fds.data(), fds.size(), 1000);
    REQUIRE(ready >= 0);
    if (ready == 0) break;
  }
  size_t sent = 0;
  for (auto& f : flooders) sent += f->sent;
  MESSAGE("plateau after ", sent, " bytes in ", kClients, " connections (", frame_bytes, " per frame)");

  // The broker stopped reading: what it holds is bounded, not what the clients tried to send.
  const uint64_t io_threads = broker::BrokerConfig{}.io_threads;
  CHECK(stat(**admin, "backpressure_active") == 1);
  CHECK(stat(**admin, "backpressure_pauses") >= 1);
  CHECK(stat(**admin, "pending_append_bytes_peak") <= kMaxPending + (io_threads + kClients) * frame_bytes);
  CHECK(stat(**admin, "parked_produce_bytes_peak") <= kClients * frame_bytes);
  CHECK(stat(**admin, "busy_rejections") == 0);
  const uint64_t rss_growth = rss_bytes() - std::min(rss_before, rss_bytes());
  MESSAGE("RSS growth during the flood: ", rss_growth, " bytes");
#if !defined(__SANITIZE_ADDRESS__)  // ASan's quarantine keeps freed memory resident
  CHECK(rss_growth < (48u << 20));
#endif

  // Let the writer go: the parked requests are admitted, reading resumes, every request is
  // acknowledged and stored.
  env.release_syncs();
  uint64_t frames = 0;
  for (auto& f : flooders) {
    f->expect_all_acked();
    frames += f->frames;
  }
  CHECK(total_end_offset(**admin, "flood") == frames * 60);
  CHECK(eventually([&] { return stat(**admin, "backpressure_active") == 0; }));
  CHECK(stat(**admin, "parked_produce_requests") == 0);
  // The bound held while the backlog drained too.
  CHECK(stat(**admin, "pending_append_bytes_peak") <= kMaxPending + (io_threads + kClients) * frame_bytes);
  CHECK(stat(**admin, "parked_produce_bytes_peak") <= kClients * frame_bytes);
  CHECK(stat(**admin, "busy_rejections") == 0);
}

TEST_CASE("a produce parked past --busy-timeout-ms gets SYSTEM_BUSY; the Producer's retry is stored exactly once") {
  test::FaultEnv env;
  broker::BrokerConfig cfg;
  cfg.max_pending_bytes = 64u << 10;
  cfg.busy_timeout_ms = 200;
  test::InProcessBroker broker(cfg, &env);
  ReleaseSyncsOnExit release_on_exit{env};
  auto admin = Admin::create(broker.client_options());
  REQUIRE(admin.is_ok());
  REQUIRE((*admin)->update_topic({"busy", 1, -1, -1}).is_ok());
  ProducerOptions po;
  po.client = broker.client_options();
  po.delivery_timeout = 30s;  // bounds how long a failed test waits for the send
  auto producer = Producer::create(po);  // its Hello leases a worker id on the writer: before the hold
  REQUIRE(producer.is_ok());

  // Wedge the writer with 100 KiB pending: over the 64 KiB limit until its fsync returns.
  env.hold_syncs();
  RawClient raw(broker.port());
  test::hello(raw);
  raw.send(framing::encode_frame(produce_payload(7, "busy", 0, make_batch(100, 1000))));
  env.wait_for_held_sync();
  REQUIRE(stat(**admin, "pending_append_bytes") > cfg.max_pending_bytes);

  // The Producer's first request is its connection's only one in flight: it goes in at once,
  // behind the held fsync (fairness, broker/net/write_pressure.h). Its second one is parked.
  Message first;
  first.topic = "busy";
  first.body = "first";
  const uint64_t pending_before = stat(**admin, "pending_append_bytes");
  auto first_sent = std::async(std::launch::async, [&] { return (*producer)->send(first); });
  REQUIRE(eventually([&] { return stat(**admin, "pending_append_bytes") > pending_before; }));
  CHECK(stat(**admin, "parked_produce_requests") == 0);

  Message m;
  m.topic = "busy";
  m.body = "exactly-once";
  const auto t0 = std::chrono::steady_clock::now();
  auto sent = std::async(std::launch::async, [&] { return (*producer)->send(m); });
  REQUIRE(eventually([&] { return stat(**admin, "busy_rejections") >= 1; }));
  // Held (parked) for the busy timeout, not bounced at once.
  CHECK(std::chrono::steady_clock::now() - t0 >= 190ms);
  CHECK(sent.wait_for(0ms) == std::future_status::timeout);  // the retry is waiting in the socket

  env.release_syncs();
  auto raw_ack = raw.read_frame();
  REQUIRE(raw_ack);
  check_produce_ok(*raw_ack);
  auto first_result = first_sent.get();
  REQUIRE_MESSAGE(first_result.is_ok(), first_result.status().to_string());
  CHECK(first_result->offset == 100);
  auto result = sent.get();
  REQUIRE_MESSAGE(result.is_ok(), result.status().to_string());
  CHECK(result->offset == 101);

  auto reader = PartitionReader::create(broker.client_options(), "busy");
  REQUIRE(reader.is_ok());
  auto f = (*reader)->fetch(0, 0, 0ms, 16u << 20);
  REQUIRE(f.is_ok());
  CHECK(f->end_offset == 102);
  int copies = 0;
  for (const auto& msg : f->messages) copies += msg.body == "exactly-once" ? 1 : 0;
  CHECK(copies == 1);
  // The retry was not bounced again: it waited, unread, in the paused connection.
  CHECK(stat(**admin, "busy_rejections") == 1);
}

TEST_CASE("fairness: under a flood, a producer waiting for each answer is read, admitted at once and written in the next round") {
  // One flood partition with far more than a round's share (1 MiB) queued behind a held fsync;
  // the victim produces one message to its own topic. Syncs are then let through one at a time,
  // so "how much of the flood was written before the victim's ack" is exact.
  constexpr size_t kMaxPending = 4u << 20;
  test::FaultEnv env;
  broker::BrokerConfig cfg;
  cfg.max_pending_bytes = kMaxPending;
  cfg.busy_timeout_ms = 120'000;
  cfg.frame_timeout_ms = 300;
  test::InProcessBroker broker(cfg, &env);
  ReleaseSyncsOnExit release_on_exit{env};
  auto admin = Admin::create(broker.client_options());
  REQUIRE(admin.is_ok());
  REQUIRE((*admin)->update_topic({"flood", 1, -1, -1}).is_ok());
  REQUIRE((*admin)->update_topic({"victim", 1, -1, -1}).is_ok());
  ProducerOptions po;
  po.client = broker.client_options();
  po.delivery_timeout = 60s;
  auto victim = Producer::create(po);  // its Hello uses the writer: before the hold
  REQUIRE(victim.is_ok());

  const std::string batch = make_batch(60, 1000);
  const size_t frame_bytes = produce_payload(100, "flood", 0, batch).size();
  std::vector<std::unique_ptr<Flooder>> flooders;
  for (int i = 0; i < 2; ++i) flooders.push_back(std::make_unique<Flooder>(broker.port(), "flood", 0, batch));
  env.hold_syncs();
  for (int i = 0; i < 200 && stat(**admin, "backpressure_active") == 0; ++i) {
    for (auto& f : flooders) f->pump(f->sent + frame_bytes);
  }
  REQUIRE(stat(**admin, "backpressure_active") == 1);
  env.wait_for_held_sync();
  const uint64_t flood_queued = stat(**admin, "pending_append_bytes");  // all flood
  REQUIRE(flood_queued >= kMaxPending);

  // The victim's connection has nothing in flight: it is read, and its produce is appended at
  // once although requests are parked.
  Message m;
  m.topic = "victim";
  m.body = "not behind the flood";
  auto sent = std::async(std::launch::async, [&] { return (*victim)->send(m); });
  REQUIRE(eventually([&] { return stat(**admin, "pending_append_bytes") > flood_queued; }));

  // Let rounds through one fsync at a time until the victim is acknowledged.
  int rounds = 0;
  do {
    REQUIRE(rounds < 20);
    const uint64_t syncs = env.sync_count();
    env.release_one_sync();
    ++rounds;
    REQUIRE(eventually([&] { return env.sync_count() > syncs; }));
    // The writer acks a round before it takes the next: once that one holds, an ack of the
    // victim is on its way (the wait covers loopback delivery).
    env.wait_for_held_sync();
  } while (sent.wait_for(1s) == std::future_status::timeout);
  auto result = sent.get();
  REQUIRE_MESSAGE(result.is_ok(), result.status().to_string());
  // The round that was being written, then one with the flood's share and the victim: most of
  // the flood queued before the victim is still unwritten (FIFO rounds would have written it all).
  const uint64_t flood_written = total_end_offset(**admin, "flood") / 60 * frame_bytes;
  MESSAGE("victim acked after ", rounds, " released syncs; flood written ", flood_written, " of ", flood_queued,
          " bytes queued before it");
  CHECK(rounds <= 3);
  CHECK(flood_written + (2u << 20) < flood_queued);

  env.release_syncs();
  for (auto& f : flooders) f->expect_all_acked();
}

TEST_CASE("disk low-water mark: produces get DISK_FULL with a clear message until space is back") {
  constexpr uint64_t kMiB = 1ull << 20;
  struct Disk {
    std::mutex mu;
    std::condition_variable cv;
    uint64_t free = 100 * kMiB;
    int calls = 0;
  };
  auto disk = std::make_shared<Disk>();
  broker::BrokerConfig cfg;
  cfg.min_free_disk_bytes = 512 * kMiB;
  cfg.disk_check_ms = 20;
  test::InProcessBroker broker(cfg, nullptr, [disk](const std::string&) -> Result<uint64_t> {
    std::lock_guard lock(disk->mu);
    ++disk->calls;
    disk->cv.notify_all();
    return disk->free;
  });
  auto admin = Admin::create(broker.client_options());
  REQUIRE(admin.is_ok());
  REQUIRE((*admin)->update_topic({"d", 1, -1, -1}).is_ok());  // admin writes are not produces
  ProducerOptions po;
  po.client = broker.client_options();
  auto producer = Producer::create(po);
  REQUIRE(producer.is_ok());

  // The first sample is taken at start-up: refused at once, not retried.
  Message m;
  m.topic = "d";
  m.body = "x";
  auto refused = (*producer)->send(m);
  REQUIRE_FALSE(refused.is_ok());
  CHECK(refused.status().code() == StatusCode::kDiskFull);
  const std::string& msg = refused.status().message();
  CHECK_MESSAGE(msg.find("104857600 bytes free") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("536870912") != std::string::npos, msg);
  CHECK_MESSAGE(msg.find("--min-free-disk-bytes") != std::string::npos, msg);
  CHECK(stat(**admin, "disk_low") == 1);
  CHECK(stat(**admin, "disk_free_bytes") == 100 * kMiB);
  CHECK(stat(**admin, "disk_full_rejections") >= 1);

  {
    std::unique_lock lock(disk->mu);
    disk->free = 10'000 * kMiB;
    // Two more samples: the first of them saw the new value and was applied before the second.
    const int target = disk->calls + 2;
    disk->cv.wait(lock, [&] { return disk->calls >= target; });
  }
  CHECK(stat(**admin, "disk_low") == 0);
  auto ok = (*producer)->send(m);
  REQUIRE_MESSAGE(ok.is_ok(), ok.status().to_string());
  CHECK(total_end_offset(**admin, "d") == 1);
}
