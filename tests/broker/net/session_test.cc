// Session's outbound cap (SPEC §12 "a consumer that never reads is disconnected once its outbound
// buffer passes a cap"): answers on their way to the session's strand from other threads count
// too (T9's open finding), so a starved strand cannot pile them up. The io_context is not run
// while answers are sent, which is what a strand without a core looks like.
// And a handler's close() (the Dispatcher's answer to a frame that fails the Verifier) stops the
// reader at once: a frame that came in the same read is not handled (found by fuzz_raw_broker).
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>

#include <flatbuffers/flatbuffers.h>

#include "broker/net/session.h"
#include "common/clock.h"
#include "common/framing.h"

using namespace tidemq;
using namespace tidemq::broker;

namespace {

class CountingHandler final : public FrameHandler {
 public:
  void on_frame(const std::shared_ptr<Session>&, std::string) override {}
  void on_stream_error(const std::shared_ptr<Session>&, const Status&) override {}
  void on_close(Session&) override { ++closes; }
  std::atomic<int> closes{0};
};

flatbuffers::DetachedBuffer answer_of(size_t bytes) {
  flatbuffers::FlatBufferBuilder fbb(bytes + 64);
  std::string body(bytes, 'x');
  fbb.Finish(fbb.CreateString(body));
  return fbb.Release();
}

// Refuses the stream at its first frame, as the Dispatcher refuses one that fails the Verifier:
// it closes the session from on_frame, on the strand.
class ClosingHandler final : public FrameHandler {
 public:
  void on_frame(const std::shared_ptr<Session>& session, std::string) override {
    ++frames;
    session->close("bad frame");
  }
  void on_stream_error(const std::shared_ptr<Session>&, const Status&) override { ++stream_errors; }
  void on_close(Session&) override {}
  int frames = 0;
  int stream_errors = 0;
};

// A session with a 1 MiB outbound cap on an io_context that runs only when the test says so.
struct Fixture {
  asio::io_context io;
  CountingHandler handler;
  SessionLimits limits{.max_outbound_bytes = 1 << 20};
  std::shared_ptr<Session> session =
      std::make_shared<Session>(asio::ip::tcp::socket(io), 1, handler, limits, Clock::system());
};

}  // namespace

TEST_CASE_FIXTURE(Fixture, "answers sent from other threads count against the outbound cap before the strand runs") {
  // Not on the strand (nothing runs io): each answer is in transit.
  size_t sent = 0;
  for (int i = 0; i < 10; ++i) {
    auto a = answer_of(256 << 10);
    const size_t before = session->unsent_bytes();
    session->send(std::move(a), /*completes_request=*/false);
    sent += session->unsent_bytes() > before;
  }
  CHECK(sent == 3);  // the 4th would pass 1 MiB: it and the rest are dropped at once
  CHECK(session->unsent_bytes() <= limits.max_outbound_bytes);
  CHECK_FALSE(session->closed());  // closing happens on the strand
  io.run();
  CHECK(session->closed());
  CHECK(handler.closes.load() == 1);
  CHECK(session->unsent_bytes() == 0);
}

TEST_CASE_FIXTURE(Fixture, "answers under the cap are queued, not dropped") {
  session->send(answer_of(100 << 10), false);
  session->send(answer_of(100 << 10), false);
  const size_t unsent = session->unsent_bytes();
  CHECK(unsent > 200 << 10);
  io.run();  // enqueued on the strand: still unsent (no writer runs), now queued, not in transit
  CHECK_FALSE(session->closed());
  CHECK(session->unsent_bytes() == unsent);
}

TEST_CASE("a session its handler closes takes no further frame, even one from the same read") {
  asio::io_context io;
  ClosingHandler handler;
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  asio::ip::tcp::socket socket(io);
  socket.assign(asio::ip::tcp::v4(), fds[0]);
  auto session = std::make_shared<Session>(std::move(socket), 1, handler, SessionLimits{}, Clock::system());
  // Written before the session reads: its first read takes both frames and the bad header after.
  const std::string bytes = framing::encode_frame("refused") + framing::encode_frame("next") + std::string(4, '\0');
  REQUIRE(::write(fds[1], bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  session->start();
  io.run();  // returns once the session has closed and its coroutines ended
  CHECK(session->closed());
  CHECK(handler.frames == 1);
  CHECK(handler.stream_errors == 0);
  ::close(fds[1]);
}
