// Fuzz target: the broker's request handlers (broker/dispatch/), behind the real Dispatcher and a
// real Session (tests/fuzz/handler_broker.h).
//
// An input that verifies as an Envelope, exactly as the broker's session checks it, is sent as
// one request; anything else is dropped here (the broker closes such a connection before any
// handler runs, and fuzz_envelope covers that path). Checked, for every request:
//  - every frame the broker writes back verifies as an Envelope with a known body type;
//  - exactly one of them is a response, carrying the request's correlation id — except for the
//    one request the protocol defines as one-way (a CheckTransactionResponse with a body, the
//    client's answer to a check-back), which gets none; check-backs the broker sends on its own
//    (CheckTransactionRequest, after the fixture's clock moves) are counted, not responses;
//  - an error response carries a known ErrorCode and no body; a success carries a *Response body;
//  - no answer turns up after its request was answered (checked on the next input);
//  - nothing aborts, and every request is answered within 30 s.
// The broker state lives across inputs and is rebuilt every HandlerBroker::kInputsPerBroker inputs, which bounds
// the data directory and memory in long runs.
//
// The standalone run (fuzz_handlers_short) ends with a summary: the answers per request body type
// and error code, the CommitOffsets partitions the broker accepted and the EndTransaction answers
// whose state is COMMITTED or ROLLED_BACK, and the check-backs the broker sent. It fails unless
// each request that needs a live member or txn id (tests/fuzz/placeholders.h) succeeded at least
// once, a commit stored a partition's offset, an EndTransaction resolved a transaction and a
// check-back round asked the fixture about one: the seeds reach them, so losing one is a
// regression of the harness (or of the broker), not bad luck.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "schemas/envelope_generated.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/handler_broker.h"

namespace {

using namespace tidemq::wire;

// What the standalone summary reports.
constexpr Body kUnknownBodies = static_cast<Body>(static_cast<int>(Body::MAX) + 1);
struct Tally {
  std::map<std::pair<Body, ErrorCode>, size_t> answers;  // (request body type, answer's error)
  size_t partitions_committed = 0;  // CommitOffsetsResponse offsets with error NONE
  size_t transactions_ended = 0;    // EndTransactionResponse state COMMITTED or ROLLED_BACK
  size_t check_requests = 0;        // CheckTransactionRequests the broker sent (check-back rounds)
};
Tally g_tally;

// The success paths that need a live id (the seeds' placeholders).
constexpr Body kNeedLiveIds[] = {
    Body::HeartbeatRequest,      Body::LeaveGroupRequest, Body::CommitOffsetsRequest, Body::FetchOffsetsRequest,
    Body::EndTransactionRequest, Body::QueryHalfRequest,  Body::ResumeHalfRequest,    Body::EndHalfRequest};

const Envelope* verified(const std::string& frame) {
  flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(frame.data()), frame.size());
  if (!VerifyEnvelopeBuffer(v)) return nullptr;
  return GetEnvelope(frame.data());
}

void check_response(const Envelope& response, uint64_t correlation_id) {
  TIDEMQ_FUZZ_CHECK(response.correlation_id() == correlation_id);
  tidemq::fuzz::check_answer_shape(response);
}

void count(Body request, const Envelope& answer) {
  // Body types past Body::MAX share one row (they get UNSUPPORTED).
  g_tally.answers[{std::min(request, kUnknownBodies), answer.error()}]++;
  if (const auto* commit = answer.body_as_CommitOffsetsResponse(); commit && commit->offsets()) {
    for (const auto* o : *commit->offsets()) g_tally.partitions_committed += o->error() == ErrorCode::NONE;
  }
  if (const auto* end = answer.body_as_EndTransactionResponse()) {
    g_tally.transactions_ended += end->state() == TxnState::COMMITTED || end->state() == TxnState::ROLLED_BACK;
  }
}

}  // namespace

extern "C" int tidemq_fuzz_standalone_done() {
  std::printf("fuzz_handlers: answers per request body type (error code: count)\n");
  std::optional<Body> current;
  for (const auto& [key, n] : g_tally.answers) {
    if (key.first != current) {
      const char* name = key.first == kUnknownBodies ? "(unknown body types)" : EnumNameBody(key.first);
      std::printf("%s  %s:", current ? "\n" : "", name);
      current = key.first;
    }
    std::printf(" %s %zu", EnumNameErrorCode(key.second), n);
  }
  std::printf("\n  CommitOffsets partitions accepted: %zu; EndTransaction answers COMMITTED/ROLLED_BACK: %zu; "
              "check-backs sent: %zu\n",
              g_tally.partitions_committed, g_tally.transactions_ended, g_tally.check_requests);
  std::fflush(stdout);  // the summary before what is missing from it
  int missing = 0;
  for (Body request : kNeedLiveIds) {
    if (g_tally.answers.count({request, ErrorCode::NONE}) == 0) {
      std::fprintf(stderr, "fuzz_handlers: no %s succeeded\n", EnumNameBody(request));
      ++missing;
    }
  }
  if (g_tally.partitions_committed == 0) {
    std::fprintf(stderr, "fuzz_handlers: no CommitOffsets partition was accepted\n");
    ++missing;
  }
  if (g_tally.transactions_ended == 0) {
    std::fprintf(stderr, "fuzz_handlers: no EndTransaction answered COMMITTED or ROLLED_BACK\n");
    ++missing;
  }
  if (g_tally.check_requests == 0) {
    std::fprintf(stderr, "fuzz_handlers: the broker sent no CheckTransactionRequest\n");
    ++missing;
  }
  return missing;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  flatbuffers::Verifier verifier(data, size);
  if (!VerifyEnvelopeBuffer(verifier)) return 0;  // never hand unverified bytes to the broker
  const Envelope* request = GetEnvelope(data);
  const bool one_way = request->body_type() == Body::CheckTransactionResponse && request->body() != nullptr;
  const bool hello = request->body_type() == Body::HelloRequest;

  const std::string_view envelope(reinterpret_cast<const char*>(data), size);
  auto ex = tidemq::fuzz::HandlerBroker::shared().exchange(envelope, one_way, hello);
  TIDEMQ_FUZZ_CHECK(ex.stale == 0 && "an answer arrived after its request had been answered");
  g_tally.check_requests += ex.check_requests;

  size_t responses = 0;
  for (const std::string& frame : ex.frames) {
    const Envelope* env = verified(frame);
    TIDEMQ_FUZZ_CHECK(env != nullptr);
    TIDEMQ_FUZZ_CHECK(env->body_type() <= Body::MAX);
    ++responses;
    check_response(*env, request->correlation_id());
    count(request->body_type(), *env);
  }
  TIDEMQ_FUZZ_CHECK(responses == (one_way ? 0u : 1u));
  return 0;
}
