// Session's outbound cap (SPEC §12 "a consumer that never reads is disconnected once its outbound
// buffer passes a cap"): answers on their way to the session's strand from other threads count
// too (T9's open finding), so a starved strand cannot pile them up. The io_context is not run
// while answers are sent, which is what a strand without a core looks like.
#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <string>

#include <flatbuffers/flatbuffers.h>

#include "broker/net/session.h"
#include "common/clock.h"

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
