// WritePressure: admission, parking in arrival order, SYSTEM_BUSY after the busy timeout,
// hysteresis before reading resumes, shutdown. Manual clock and a hand-run io_context: no sleeps.
#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "broker/net/session.h"
#include "broker/net/write_pressure.h"
#include "common/clock.h"

using namespace tidemq;
using namespace tidemq::broker;

namespace {

class NullHandler final : public FrameHandler {
 public:
  void on_frame(const std::shared_ptr<Session>&, std::string) override {}
  void on_stream_error(const std::shared_ptr<Session>&, const Status&) override {}
  void on_close(Session&) override {}
};

struct Fixture {
  static constexpr size_t kMax = 1000;
  asio::io_context io;
  ManualClock clock;
  std::atomic<size_t> pending{0};
  std::atomic<uint64_t> pauses{0};
  std::atomic<int> level0{-1};  // LevelDB's level-0 file count as the pace sees it (-1: unknown)
  std::unique_ptr<WritePressure> pressure;
  std::vector<std::string> log;  // "admit N" / "reject N CODE", in the order they ran

  Fixture() {
    WritePressure::Options o;
    o.max_pending_bytes = kMax;
    o.resume_bytes = WritePressure::resume_bytes_for(kMax);
    o.busy_timeout_ms = 200;
    o.pace.min_bytes_per_sec = 1000;
    o.pace.decrease = 0.75;
    o.latency.min_bytes_per_sec = 1000;
    o.latency.round_cap_bytes = 4096;
    pressure = std::make_unique<WritePressure>(io.get_executor(), [this] { return pending.load(); }, o, clock, pauses,
                                               [this] { return level0.load(); });
  }
  ~Fixture() { pressure.reset(); }

  // A produce of `bytes` whose admission appends them (as LogStore::append would).
  void submit(int n, size_t bytes) {
    pressure->submit(
        bytes,
        [this, n, bytes] {
          pending += bytes;
          log.push_back("admit " + std::to_string(n));
        },
        [this, n](Status st) {
          log.push_back("reject " + std::to_string(n) + " " + std::string(status_code_name(st.code())));
        });
  }
  // The writer finished a round that took `bytes` out of the pending bytes.
  void drained(size_t bytes) {
    pending -= bytes;
    pressure->on_drained(bytes, 0);
    io.poll();
    io.restart();
  }
  void run() {
    io.poll();
    io.restart();
  }
};

std::vector<std::string> v(std::initializer_list<const char*> l) { return {l.begin(), l.end()}; }

}  // namespace

TEST_CASE("below the limit a produce is admitted at once and nothing pauses") {
  Fixture f;
  CHECK(f.pressure->admits_now());
  f.submit(1, 400);
  CHECK(f.log == v({"admit 1"}));
  f.pending = Fixture::kMax;  // at the limit still admits
  CHECK(f.pressure->admits_now());
  f.submit(2, 10);
  CHECK(f.log == v({"admit 1", "admit 2"}));
  CHECK_FALSE(f.pressure->paused());
  CHECK(f.pauses == 0);
  // Not paused: a writer round posts nothing.
  f.pressure->on_drained(0, 0);
  CHECK(f.io.poll() == 0);
}

TEST_CASE("over the limit requests park in arrival order and are admitted as the writer drains") {
  Fixture f;
  f.pending = Fixture::kMax + 1;
  CHECK_FALSE(f.pressure->admits_now());
  f.submit(1, 300);
  f.submit(2, 300);
  f.submit(3, 300);
  f.run();
  CHECK(f.log.empty());
  CHECK(f.pressure->paused());
  CHECK(f.pauses == 1);
  auto st = f.pressure->stats();
  CHECK(st.parked_requests == 3);
  CHECK(st.parked_bytes == 900);
  CHECK(st.parked_bytes_peak == 900);

  // Room for some: admitted while pending <= limit, in order; each admission adds its bytes.
  f.drained(501);  // pending 500: admits 1 (-> 800), 2 (-> 1100), stops
  CHECK(f.log == v({"admit 1", "admit 2"}));
  CHECK(f.pressure->paused());
  CHECK(f.pressure->stats().parked_requests == 1);
  f.drained(600);  // pending 500: admits 3 (-> 800); 800 is above the 750 low mark: still paused
  CHECK(f.log == v({"admit 1", "admit 2", "admit 3"}));
  CHECK(f.pressure->stats().parked_requests == 0);
  CHECK(f.pressure->paused());
  f.drained(50);  // 750: at the low mark, reading resumes
  CHECK_FALSE(f.pressure->paused());
  CHECK(f.pauses == 1);
}

TEST_CASE("with requests parked, a new one queues behind them even if the writer has room") {
  Fixture f;
  f.pending = Fixture::kMax + 1;
  f.submit(1, 100);
  f.pending = 0;  // the writer drained, but its poke has not run yet
  f.submit(2, 100);
  CHECK(f.log.empty());
  f.run();
  CHECK(f.log == v({"admit 1", "admit 2"}));
}

TEST_CASE("a request parked longer than the busy timeout is answered SYSTEM_BUSY; younger ones wait") {
  Fixture f;
  f.pending = Fixture::kMax + 1;
  f.submit(1, 100);
  f.clock.advance_ms(150);
  f.submit(2, 100);
  f.run();
  f.clock.advance_ms(50);  // request 1 waited exactly 200 ms
  f.pressure->poke();
  f.run();
  CHECK(f.log == v({"reject 1 SYSTEM_BUSY"}));
  CHECK(f.pressure->stats().parked_requests == 1);
  f.clock.advance_ms(149);
  f.pressure->poke();
  f.run();
  CHECK(f.log.size() == 1);
  f.clock.advance_ms(1);
  f.pressure->poke();
  f.run();
  CHECK(f.log == v({"reject 1 SYSTEM_BUSY", "reject 2 SYSTEM_BUSY"}));
  // Nothing parked, but the writer is still over the low mark: producers stay paused.
  CHECK(f.pressure->paused());
  f.drained(Fixture::kMax + 1);
  CHECK_FALSE(f.pressure->paused());
}

TEST_CASE("the SYSTEM_BUSY message names the wait, the pending bytes and the flags") {
  Fixture f;
  f.pending = 4242;
  Status got;
  f.pressure->submit(1, [] {}, [&](Status st) { got = st; });
  f.clock.advance_ms(200);
  f.pressure->poke();
  f.run();
  CHECK(got.code() == StatusCode::kBusy);
  CHECK(got.retriable());
  CHECK(got.message().find("--busy-timeout-ms") != std::string::npos);
  CHECK(got.message().find("--max-pending-bytes 1000") != std::string::npos);
  CHECK(got.message().find("4242 bytes") != std::string::npos);
}

TEST_CASE("a session registers to be woken only while paused") {
  Fixture f;
  NullHandler handler;
  auto session = std::make_shared<Session>(asio::ip::tcp::socket(f.io), 1, handler, SessionLimits{}, f.clock,
                                           f.pressure.get());
  CHECK_FALSE(f.pressure->wait(session));  // not paused: read on
  f.pending = Fixture::kMax + 1;
  f.submit(1, 10);
  CHECK(f.pressure->wait(session));
  f.drained(Fixture::kMax + 1);  // admits 1 (pending 10), resumes, wakes the session
  CHECK_FALSE(f.pressure->paused());
  CHECK_FALSE(f.pressure->wait(session));
}

TEST_CASE("stop answers parked requests ShuttingDown, and later ones too") {
  Fixture f;
  f.pending = Fixture::kMax + 1;
  f.submit(1, 10);
  f.pressure->stop();
  CHECK(f.log == v({"reject 1 SHUTTING_DOWN"}));
  CHECK_FALSE(f.pressure->paused());
  f.submit(2, 10);
  CHECK(f.log == v({"reject 1 SHUTTING_DOWN", "reject 2 SHUTTING_DOWN"}));
  f.pressure->stop();  // idempotent
  f.run();
}

TEST_CASE("ingest pacing: from 6 level-0 files, admission follows the pace; small out-of-turn produces pay too") {
  Fixture f;
  f.level0 = 5;
  f.drained(0);
  f.clock.advance_ms(1000);
  f.level0 = 6;
  f.pressure->on_drained(100'000, 0);  // 100,000 bytes written in the last second: pace 75,000 B/s
  f.run();
  auto st = f.pressure->stats();
  REQUIRE(st.pacing);
  CHECK(st.pace_bytes_per_sec == 75'000);
  CHECK_FALSE(f.pressure->admits_now());  // every produce goes through submit() now

  // 750 bytes take 10 ms at the pace; 10 ms of credit.
  f.submit(1, 750);
  f.pending = 0;
  f.submit(2, 750);
  f.pending = 0;
  f.submit(3, 750);  // not paid for yet: parked, although the writer has room
  f.run();
  CHECK(f.log == v({"admit 1", "admit 2"}));
  CHECK(f.pressure->paused());
  f.clock.advance_ms(9);
  f.pressure->poke();
  f.run();
  CHECK(f.log.size() == 2);
  f.clock.advance_ms(1);
  f.pressure->poke();
  f.run();
  CHECK(f.log == v({"admit 1", "admit 2", "admit 3"}));
  f.pending = 0;

  // A connection's only request in flight goes in out of turn if it is small (at most 10 ms of
  // the pace: 750 bytes), and its bytes are charged.
  f.clock.advance_ms(10);
  CHECK_FALSE(f.pressure->admit_out_of_turn(751));
  CHECK(f.pressure->admit_out_of_turn(750));
  f.submit(4, 750);
  f.run();
  CHECK(f.log.size() == 3);
  // Level 0 back under 6: pacing ends and the parked request goes in at once.
  f.level0 = 3;
  f.pressure->on_drained(0, 0);
  f.run();
  CHECK(f.log == v({"admit 1", "admit 2", "admit 3", "admit 4"}));
  CHECK_FALSE(f.pressure->stats().pacing);
  CHECK(f.pressure->admits_now());
  CHECK(f.pressure->admit_out_of_turn(1u << 30));  // without pacing, any size
}

TEST_CASE("latency pacing: while a light producer is active, slow rounds pace the others; light requests go in at once") {
  Fixture f;
  f.drained(0);  // the first round, at 0 (level 0 unknown: no ingest pacing)
  CHECK(f.pressure->round_cap() == 0);
  f.clock.advance_ms(50);
  f.pressure->on_drained(5'000, 16'000);  // 100,000 B/s, a 16 ms write: but no light producer
  f.run();
  CHECK_FALSE(f.pressure->stats().latency_pacing);
  CHECK(f.pressure->admits_now());

  f.pressure->note_light();
  f.clock.advance_ms(50);
  f.pressure->on_drained(5'000, 16'000);  // twice the 8 ms target: pace at 1/2 the 100,000 B/s
  f.run();
  auto st = f.pressure->stats();
  REQUIRE(st.latency_pacing);
  CHECK(st.latency_pace_bytes_per_sec == 50'000);
  CHECK(f.pressure->round_cap() == 4096);  // the writer's rounds are capped while it is active
  CHECK_FALSE(f.pressure->admits_now());
  // A small only-request (a light producer's, or a new connection's) goes in at once; a large
  // one does not.
  CHECK(f.pressure->admit_out_of_turn(ProduceMeter::kLightRequestBytes));
  CHECK_FALSE(f.pressure->admit_out_of_turn(ProduceMeter::kLightRequestBytes + 1));

  // The others pay for their bytes in time: 500 bytes take 10 ms at the pace; 10 ms of credit.
  f.submit(1, 500);
  f.pending = 0;
  f.submit(2, 500);
  f.pending = 0;
  f.submit(3, 500);
  f.run();
  CHECK(f.log == v({"admit 1", "admit 2"}));
  f.clock.advance_ms(10);
  f.pressure->poke();
  f.run();
  CHECK(f.log == v({"admit 1", "admit 2", "admit 3"}));
  f.pending = 0;

  // A second after the last light request, pacing and the round cap end.
  f.clock.advance_ms(1'000);
  f.pressure->on_drained(0, 0);
  f.run();
  CHECK_FALSE(f.pressure->stats().latency_pacing);
  CHECK(f.pressure->round_cap() == 0);
  CHECK(f.pressure->admits_now());
}
