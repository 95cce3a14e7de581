// CheckDispatcher without a connection: checks never run on the thread that hands them in (the
// I/O thread), answers carry the request's correlation id and session, max_pending_checks drops
// the excess, a throwing checker answers UNKNOWN. And the producer's txn requests (txn_requests).
#include "client/check_dispatcher.h"

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "client/txn_requests.h"
#include "tests/client/gated_checker.h"

namespace tidemq::client {
namespace {

using namespace std::chrono_literals;

// A CheckTransactionRequest frame as the broker sends it.
Frame check_frame(uint64_t corr, uint64_t txn_id, uint32_t check_count, uint64_t session = 1,
                  std::vector<std::pair<std::string, std::string>> props = {}) {
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<wire::KeyValue>> kvs;
  for (const auto& [k, v] : props) kvs.push_back(wire::CreateKeyValueDirect(fbb, k.c_str(), v.c_str()));
  auto view = wire::CreateMessageViewDirect(fbb, "orders", 2, 0, txn_id, "k", "", &kvs);
  auto req = wire::CreateCheckTransactionRequest(fbb, txn_id, fbb.CreateString("pg"), view, check_count);
  fbb.Finish(wire::CreateEnvelope(fbb, corr, wire::Body::CheckTransactionRequest, req.Union()));
  return Frame{std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()), session};
}

struct Sent {
  uint64_t corr = 0;
  uint64_t txn_id = 0;
  wire::TxnAction action = wire::TxnAction::UNKNOWN;
  uint64_t session = 0;
};

// Collects what the dispatcher answers.
struct Answers {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Sent> sent;
  CheckDispatcher::Answer sink() {
    return [this](OutFrame f, uint64_t session) {
      const auto* env = wire::GetEnvelope(f.payload.data());
      const auto* a = env->body_as_CheckTransactionResponse();
      REQUIRE(a != nullptr);
      std::lock_guard lock(mu);
      sent.push_back({env->correlation_id(), a->txn_id(), a->action(), session});
      cv.notify_all();
    };
  }
  bool wait_for(size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 10s, [&] { return sent.size() >= n; });
  }
};

using test::GatedChecker;

TEST_CASE("checks run on the checker pool, never on the thread that received them; answers keep the correlation id") {
  auto checker = std::make_shared<GatedChecker>();
  Answers answers;
  CheckDispatcher d(checker, 2, 100, answers.sink());
  const auto io_thread = std::this_thread::get_id();  // stands for the connection's I/O thread
  const uint64_t corr = (uint64_t{1} << 63) | 42;
  d.on_request(check_frame(corr, 0xabc, 3, /*session=*/5));
  d.on_request(check_frame(corr + 1, 0xdef, 1, 5));
  REQUIRE(answers.wait_for(2));
  {
    std::lock_guard lock(checker->mu);
    CHECK(checker->threads.count(io_thread) == 0);
    REQUIRE(checker->seen.size() == 2);
  }
  std::lock_guard lock(answers.mu);
  std::set<uint64_t> corrs;
  for (const auto& s : answers.sent) {
    corrs.insert(s.corr);
    CHECK(s.action == wire::TxnAction::COMMIT);
    CHECK(s.session == 5);
    CHECK(s.txn_id == (s.corr == corr ? 0xabcu : 0xdefu));
  }
  CHECK(corrs == std::set<uint64_t>{corr, corr + 1});
  CHECK(d.stats().received == 2);
  CHECK(d.stats().answered == 2);
}

TEST_CASE("the checker gets the half-message with TRANSACTION_CHECK_TIMES") {
  auto checker = std::make_shared<GatedChecker>();
  Answers answers;
  CheckDispatcher d(checker, 1, 10, answers.sink());
  d.on_request(check_frame(7, 0x1234, 4, 1, {{"a", "b"}, {std::string(kCheckTimesProperty), "99"}}));
  REQUIRE(answers.wait_for(1));
  std::lock_guard lock(checker->mu);
  const Message& m = checker->seen.at(0);
  CHECK(m.id == 0x1234);
  CHECK(m.topic == "orders");
  CHECK(m.partition == 2);
  CHECK(m.key == "k");
  int times = 0;
  for (const auto& [k, v] : m.properties) {
    if (k == kCheckTimesProperty) {
      ++times;
      CHECK(v == "4");  // the broker's count replaces what the message carried
    }
  }
  CHECK(times == 1);
}

TEST_CASE("beyond max_pending_checks waiting, checks are dropped; the rest are answered") {
  auto checker = std::make_shared<GatedChecker>();
  checker->set_open(false);
  Answers answers;
  CheckDispatcher d(checker, 1, 3, answers.sink());
  d.on_request(check_frame(1, 1, 1));
  REQUIRE(checker->wait_calls(1));  // the one thread is busy: the next ones wait
  for (uint64_t i = 2; i <= 8; ++i) d.on_request(check_frame(i, i, 1));
  CHECK(d.stats().received == 8);
  CHECK(d.stats().dropped == 4);  // 3 wait, 4 dropped
  checker->set_open(true);
  REQUIRE(answers.wait_for(4));
  d.stop();
  std::lock_guard lock(answers.mu);
  CHECK(answers.sent.size() == 4);
  std::set<uint64_t> corrs;
  for (const auto& s : answers.sent) corrs.insert(s.corr);
  CHECK(corrs == std::set<uint64_t>{1, 2, 3, 4});  // the first ones, in order of arrival
  CHECK(d.stats().answered == 4);
}

TEST_CASE("a checker that throws answers UNKNOWN; a request that is not a check is dropped") {
  Answers answers;
  CheckDispatcher d(make_transaction_checker([](const Message&, uint64_t) -> TxnAction {
                      throw std::runtime_error("database down");
                    }),
                    1, 10, answers.sink());
  d.on_request(check_frame(9, 0x99, 1));
  flatbuffers::FlatBufferBuilder fbb;
  auto hello = wire::CreateHelloRequestDirect(fbb, "x");
  fbb.Finish(wire::CreateEnvelope(fbb, 10, wire::Body::HelloRequest, hello.Union()));
  d.on_request(Frame{std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()), 1});
  d.on_request(check_frame(11, 0x11, 1));
  REQUIRE(answers.wait_for(2));
  d.stop();
  std::lock_guard lock(answers.mu);
  REQUIRE(answers.sent.size() == 2);
  for (const auto& s : answers.sent) CHECK(s.action == wire::TxnAction::UNKNOWN);
  CHECK(d.stats().failed == 3);
}

TEST_CASE("txn requests: check immunity from the property or the default") {
  Message m;
  CHECK(*check_immunity_of(m, 0ms) == 0ms);
  CHECK(*check_immunity_of(m, 1500ms) == 1500ms);
  CHECK(!check_immunity_of(m, std::chrono::hours(2)).is_ok());
  m.properties.emplace_back(std::string(kCheckImmunityProperty), "30");
  CHECK(*check_immunity_of(m, 1500ms) == 30000ms);
  m.properties.back().second = "0.25";
  CHECK(*check_immunity_of(m, 0ms) == 250ms);
  m.properties.back().second = "3600";
  CHECK(*check_immunity_of(m, 0ms) == std::chrono::hours(1));
  for (const char* bad : {"", "x", "-1", "3601", "1e3", "5s", "nan"}) {
    m.properties.back().second = bad;
    auto r = check_immunity_of(m, 0ms);
    CHECK_MESSAGE(r.status().code() == StatusCode::kInvalidArgument, bad);
  }
}

TEST_CASE("txn requests: the check answer carries the request's correlation id; SendHalf / EndTransaction answers decode") {
  const uint64_t corr = (uint64_t{1} << 63) | 5;
  OutFrame f = check_answer(corr, 0x77, TxnAction::kRollback);
  flatbuffers::Verifier v(f.payload.data(), f.payload.size());
  REQUIRE(wire::VerifyEnvelopeBuffer(v));
  const auto* env = wire::GetEnvelope(f.payload.data());
  CHECK(env->correlation_id() == corr);
  REQUIRE(env->body_as_CheckTransactionResponse() != nullptr);
  CHECK(env->body_as_CheckTransactionResponse()->txn_id() == 0x77);
  CHECK(env->body_as_CheckTransactionResponse()->action() == wire::TxnAction::ROLLBACK);

  auto frame_of = [](auto make) {
    flatbuffers::FlatBufferBuilder fbb;
    auto [type, body] = make(fbb);
    fbb.Finish(wire::CreateEnvelope(fbb, 1, type, body));
    return Frame{std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()), 1};
  };
  Frame half = frame_of([](auto& fbb) {
    return std::make_pair(wire::Body::SendHalfResponse, wire::CreateSendHalfResponse(fbb, 0x55, 1234).Union());
  });
  auto h = half_result_from(half, 0x55, 3);
  REQUIRE(h.is_ok());
  CHECK(h->txn_id == 0x55);
  CHECK(h->partition == 3);
  CHECK(h->store_ms == 1234);
  CHECK(half_result_from(half, 0x56, 3).status().code() == StatusCode::kProtocolError);  // another txn's answer
  Frame end = frame_of([](auto& fbb) {
    return std::make_pair(wire::Body::EndTransactionResponse,
                          wire::CreateEndTransactionResponseDirect(fbb, wire::TxnState::COMMITTED, "orders", 2, 41)
                              .Union());
  });
  auto e = end_result_from(end);
  REQUIRE(e.is_ok());
  CHECK(e->state == TxnState::kCommitted);
  CHECK(e->topic == "orders");
  CHECK(e->partition == 2);
  CHECK(e->offset == 41);
  CHECK(end_result_from(half).status().code() == StatusCode::kProtocolError);
}

}  // namespace
}  // namespace tidemq::client
