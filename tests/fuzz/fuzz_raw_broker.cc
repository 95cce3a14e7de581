// Fuzz target: arbitrary bytes into a live broker connection — a real Session and the real
// Dispatcher over a socketpair (tests/fuzz/handler_broker.h, the fixture fuzz_handlers uses). The
// bytes are neither framed nor verified by the harness: the session's frame decoder, the
// Dispatcher's Verifier and (past a valid Hello) the handlers see them as a client sent them.
//
// Input: byte 0 is a set of flags, the rest is the byte stream.
//  - bits 0-5: the size of each write (1..63 bytes; 0: one write of everything). The broker takes
//    each write in (reads it, answers every complete frame in it) before the next is written;
//  - bit 6 (0x40): say Hello (a valid frame of the harness's) first, so the requests reach the
//    handlers instead of the "Hello first" refusal;
//  - bit 7 (0x80): end with an EOF (the client shuts down its write side) instead of completing a
//    frame the stream left unfinished and sending a probe request on the same connection.
//
// Checks, against a whole-stream parse of what was sent (the frames the session must take, and
// whether a zero length, a length past the cap or a frame that fails the Verifier ends them):
//  - every frame the broker writes back is whole, length-prefixed and verifies as an Envelope with
//    a known body type; an error answer has a known ErrorCode and no body, a success a *Response
//    body; answers carry the correlation id of a frame that was sent (0 for a stream error);
//  - while every complete frame is valid the connection stays open and each is answered (a
//    CheckTransactionResponse with a body may be one-way): between that many and all of them;
//    then a ListTopics on the same connection is answered (an error only without a Hello);
//  - a bad frame closes the connection with an error answer of its code (PROTOCOL_ERROR for an
//    empty or invalid frame, FRAME_TOO_LARGE past the cap), and nothing sent after it is answered;
//  - an EOF mid-stream closes the session; no session is left behind (the registry is back to its
//    size before the input), and a probe on a fresh connection (Hello + ListTopics listing the
//    fixture's topics) is answered: the broker keeps serving others;
//  - nothing hangs (every wait gives up after 30 s, aborting) and nothing aborts.
// The broker state lives across inputs and is rebuilt every HandlerBroker::kInputsPerBroker inputs, as
// fuzz_handlers does.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/coding.h"
#include "common/framing.h"
#include "schemas/envelope_generated.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/handler_broker.h"

namespace {

using namespace tidemq::wire;
using tidemq::fuzz::HandlerBroker;

// A frame the stream leaves unfinished is completed with zeros up to this many missing bytes;
// past it the input ends with an EOF instead.
constexpr size_t kMaxFill = 64 * 1024;
constexpr uint64_t kSameConnectionProbeId = 0x5052'4F42'4552'4157ull;

// What the session must make of the stream: a whole-stream reference parse (framing.h's layout).
struct Expected {
  enum class End { kOpen, kEmptyFrame, kOversize, kInvalidEnvelope };
  End end = End::kOpen;
  size_t frames = 0;             // complete valid frames before `end`
  size_t must_answer = 0;        // of them, those not one-way (a CheckTransactionResponse with a body)
  std::multiset<uint64_t> ids;   // their correlation ids
  size_t buffered = 0;           // kOpen: bytes of an unfinished frame (header included)
  size_t missing = 0;            // kOpen: bytes its body still needs (0 if the header is unfinished)
};

Expected expect(std::string_view s, uint32_t cap) {
  using tidemq::framing::kHeaderBytes;
  Expected e;
  size_t pos = 0;
  while (s.size() - pos >= kHeaderBytes) {
    const uint32_t len = tidemq::coding::get_u32(s.data() + pos);
    if (len == 0) {
      e.end = Expected::End::kEmptyFrame;
      return e;
    }
    if (len > cap) {
      e.end = Expected::End::kOversize;
      return e;
    }
    if (s.size() - pos - kHeaderBytes < len) {
      e.missing = len - (s.size() - pos - kHeaderBytes);
      break;
    }
    const std::string frame(s.substr(pos + kHeaderBytes, len));  // as the session hands it over
    flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(frame.data()), frame.size());
    if (!VerifyEnvelopeBuffer(v)) {
      e.end = Expected::End::kInvalidEnvelope;
      return e;
    }
    const Envelope* env = GetEnvelope(frame.data());
    ++e.frames;
    e.must_answer += !(env->body_type() == Body::CheckTransactionResponse && env->body() != nullptr);
    e.ids.insert(env->correlation_id());
    pos += kHeaderBytes + len;
  }
  e.buffered = s.size() - pos;
  return e;
}

// Checks every frame the broker wrote on the raw connection (HandlerBroker has already set aside
// the requests the broker sends on its own); returns them as answers.
std::vector<const Envelope*> answers(const std::vector<std::string>& frames, const Expected& e) {
  std::vector<const Envelope*> out;
  for (const std::string& frame : frames) {
    flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(frame.data()), frame.size());
    TIDEMQ_FUZZ_CHECK(VerifyEnvelopeBuffer(v));
    const Envelope* env = GetEnvelope(frame.data());
    TIDEMQ_FUZZ_CHECK(env->body_type() <= Body::MAX);
    tidemq::fuzz::check_answer_shape(*env);
    const uint64_t id = env->correlation_id();
    TIDEMQ_FUZZ_CHECK((e.ids.count(id) > 0 || id == kSameConnectionProbeId || (id == 0 && e.end != Expected::End::kOpen)) &&
                      "an answer to no request that was sent");
    out.push_back(env);
  }
  return out;
}

std::string list_topics_frame() {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(CreateEnvelope(fbb, kSameConnectionProbeId, Body::ListTopicsRequest, CreateListTopicsRequest(fbb).Union()));
  return tidemq::framing::encode_frame(
      std::string_view(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()));
}

void collect(std::vector<std::string>& all, HandlerBroker::RawRead&& r) {
  all.insert(all.end(), std::make_move_iterator(r.frames.begin()), std::make_move_iterator(r.frames.end()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t write_size = data[0] & 0x3f;
  const bool hello = data[0] & 0x40;
  const bool eof = data[0] & 0x80;
  std::string stream(reinterpret_cast<const char*>(data + 1), size - 1);

  HandlerBroker& b = HandlerBroker::shared();
  const size_t baseline = b.sessions();
  Expected e = expect(stream, b.max_frame_bytes());
  if (e.end == Expected::End::kOpen && e.missing > 0 && e.missing <= kMaxFill && !eof) {
    stream.append(e.missing, '\0');  // the unfinished frame is completed (and likely invalid)
    e = expect(stream, b.max_frame_bytes());
  }

  b.raw_open(hello);
  std::vector<std::string> frames;
  bool closed = false;
  const size_t step = write_size == 0 ? std::max<size_t>(stream.size(), 1) : write_size;
  for (size_t pos = 0; pos < stream.size() && !closed; pos += step) {
    HandlerBroker::RawRead r = b.raw_write(std::string_view(stream).substr(pos, step));
    closed = r.closed;
    collect(frames, std::move(r));
  }

  if (e.end == Expected::End::kOpen) {
    TIDEMQ_FUZZ_CHECK(!closed && "the broker closed a connection whose frames were all valid");
    HandlerBroker::RawRead r = b.raw_wait_answers(e.must_answer);
    TIDEMQ_FUZZ_CHECK(!r.closed && "the broker closed a connection whose frames were all valid");
    collect(frames, std::move(r));
    const size_t n = answers(frames, e).size();
    TIDEMQ_FUZZ_CHECK(n >= e.must_answer && n <= e.frames);
    if (e.buffered > 0 || eof) {
      r = b.raw_shutdown_write();
      TIDEMQ_FUZZ_CHECK(r.closed);
      collect(frames, std::move(r));
      TIDEMQ_FUZZ_CHECK(answers(frames, e).size() <= e.frames);
    } else {
      // The connection is still usable: a request on it is answered.
      const size_t before = frames.size();
      r = b.raw_write(list_topics_frame());
      collect(frames, std::move(r));
      r = b.raw_wait_answers(before + 1);
      TIDEMQ_FUZZ_CHECK(!r.closed);
      collect(frames, std::move(r));
      auto got = answers(frames, e);
      TIDEMQ_FUZZ_CHECK(got.size() == n + 1);
      const Envelope& probe = *got.back();
      TIDEMQ_FUZZ_CHECK(probe.correlation_id() == kSameConnectionProbeId);
      if (probe.error() == ErrorCode::NONE) {
        TIDEMQ_FUZZ_CHECK(probe.body_type() == Body::ListTopicsResponse);
      } else {
        TIDEMQ_FUZZ_CHECK(!hello && probe.error() == ErrorCode::PROTOCOL_ERROR);  // no Hello on it
      }
    }
  } else {
    if (!closed) collect(frames, b.raw_wait_closed());
    const ErrorCode code = e.end == Expected::End::kOversize ? ErrorCode::FRAME_TOO_LARGE : ErrorCode::PROTOCOL_ERROR;
    auto got = answers(frames, e);
    TIDEMQ_FUZZ_CHECK(std::any_of(got.begin(), got.end(), [code](const Envelope* a) {
                        return a->correlation_id() == 0 && a->error() == code;
                      }) && "a bad frame closed the connection without its error answer");
    // The frames before the bad one, and the bad one's error: nothing sent after it is answered.
    TIDEMQ_FUZZ_CHECK(got.size() <= e.frames + 1 && "a request sent after a bad frame was answered");
  }

  collect(frames, b.raw_close());
  answers(frames, e);
  TIDEMQ_FUZZ_CHECK(b.sessions() == baseline && "a closed connection left its session behind");
  b.probe();
  TIDEMQ_FUZZ_CHECK(b.sessions() == baseline);
  return 0;
}
