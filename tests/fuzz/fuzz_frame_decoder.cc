// Fuzz target: the incremental FrameDecoder (common/framing.h).
//
// Input layout: byte 0 picks the cap (1 + byte0, so 1..256 bytes: small, so that oversize
// lengths are common); the rest is a list of chunks `[ctl][n bytes]` with n = ctl & 0x7f (cut
// short at the end of the input). Each chunk is one feed(); frames are drained after the feed
// unless ctl's high bit is set (so ready frames also pile up).
//
// Invariants: buffered_bytes() <= header + cap after every feed; an error is sticky (same code,
// nothing buffered or delivered after it); and the frames and final state equal those of a
// simple whole-stream reference parser, and of a second decoder fed the stream in one piece.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/coding.h"
#include "common/framing.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using tidemq::StatusCode;
using tidemq::framing::FrameDecoder;
using tidemq::framing::kHeaderBytes;

struct Reference {
  std::vector<std::string> frames;
  StatusCode error = StatusCode::kOk;
  size_t consumed = 0;  // bytes of complete frames
};

Reference reference_parse(std::string_view s, uint32_t cap) {
  Reference r;
  size_t pos = 0;
  while (s.size() - pos >= kHeaderBytes) {
    uint32_t len = tidemq::coding::get_u32(s.data() + pos);
    if (len == 0) {
      r.error = StatusCode::kProtocolError;
      break;
    }
    if (len > cap) {
      r.error = StatusCode::kFrameTooLarge;
      break;
    }
    if (s.size() - pos - kHeaderBytes < len) break;  // incomplete
    r.frames.emplace_back(s.substr(pos + kHeaderBytes, len));
    pos += kHeaderBytes + len;
  }
  r.consumed = pos;
  return r;
}

void drain(FrameDecoder& d, std::vector<std::string>& out) {
  while (auto f = d.next()) out.push_back(std::move(*f));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint32_t cap = 1u + data[0];
  FrameDecoder d(cap);
  std::string stream;  // the bytes fed while the decoder was healthy
  std::vector<std::string> got;
  size_t i = 1;
  while (i < size) {
    const uint8_t ctl = data[i++];
    const size_t n = std::min<size_t>(ctl & 0x7f, size - i);
    std::string_view chunk(reinterpret_cast<const char*>(data + i), n);
    i += n;

    const bool was_failed = !d.error().is_ok();
    const StatusCode old_code = d.error().code();
    const size_t before = d.buffered_bytes();
    tidemq::Status st = d.feed(chunk);
    TIDEMQ_FUZZ_CHECK(st.code() == d.error().code());
    if (was_failed) {
      TIDEMQ_FUZZ_CHECK(st.code() == old_code);
      TIDEMQ_FUZZ_CHECK(d.buffered_bytes() == before);
    } else {
      stream.append(chunk);
    }
    if (!st.is_ok()) {
      TIDEMQ_FUZZ_CHECK(st.code() == StatusCode::kFrameTooLarge ||
                        st.code() == StatusCode::kProtocolError);
    }
    TIDEMQ_FUZZ_CHECK(d.buffered_bytes() <= kHeaderBytes + cap);
    if (!(ctl & 0x80)) drain(d, got);
  }
  drain(d, got);

  const Reference ref = reference_parse(stream, cap);
  TIDEMQ_FUZZ_CHECK(got == ref.frames);
  TIDEMQ_FUZZ_CHECK(d.error().code() == ref.error);
  if (ref.error == StatusCode::kOk) {
    TIDEMQ_FUZZ_CHECK(d.buffered_bytes() == stream.size() - ref.consumed);
  }
  for (const auto& f : got) TIDEMQ_FUZZ_CHECK(!f.empty() && f.size() <= cap);

  // The split must not matter: one feed of the whole stream gives the same result.
  FrameDecoder one(cap);
  tidemq::Status st = one.feed(stream);
  std::vector<std::string> got_one;
  drain(one, got_one);
  TIDEMQ_FUZZ_CHECK(st.code() == ref.error);
  TIDEMQ_FUZZ_CHECK(got_one == got);
  TIDEMQ_FUZZ_CHECK(one.buffered_bytes() == d.buffered_bytes());
  return 0;
}
