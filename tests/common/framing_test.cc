// Frame layout and the incremental FrameDecoder (SPEC §3): any split of a valid stream yields
// exactly its frames; the length cap is enforced before any allocation; errors are sticky.
#include "common/framing.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "common/coding.h"

// A counting global operator new: while `g_track` is set, the largest single allocation is
// recorded, so a test can prove the decoder did not allocate for an oversize length prefix.
namespace {
std::atomic<bool> g_track{false};
std::atomic<size_t> g_largest_alloc{0};

void* counted_alloc(size_t n) {
  if (g_track.load(std::memory_order_relaxed)) {
    size_t prev = g_largest_alloc.load(std::memory_order_relaxed);
    while (n > prev && !g_largest_alloc.compare_exchange_weak(prev, n)) {
    }
  }
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(size_t n) { return counted_alloc(n); }
void* operator new[](size_t n) { return counted_alloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace tidemq::framing {
namespace {

// Tracks the largest allocation made while it is alive.
class AllocWatch {
 public:
  AllocWatch() {
    g_largest_alloc = 0;
    g_track = true;
  }
  ~AllocWatch() { g_track = false; }
  size_t largest() const { return g_largest_alloc.load(); }
};

std::string header_bytes(uint32_t len) {
  std::string h(kHeaderBytes, '\0');
  encode_header(h.data(), len);
  return h;
}

std::vector<std::string> sample_payloads() {
  return {"a", std::string(1, '\0'), "hello frame", std::string(300, 'x'),
          std::string(4, '\xff'), std::string(70000, 'z'), "last"};
}

std::string encode_all(const std::vector<std::string>& payloads) {
  std::string out;
  for (const auto& p : payloads) out += encode_frame(p);
  return out;
}

std::vector<std::string> drain(FrameDecoder& d) {
  std::vector<std::string> out;
  while (auto f = d.next()) out.push_back(std::move(*f));
  return out;
}

// Feeds `stream` cut at the sorted positions `cuts`, draining after every feed.
std::vector<std::string> decode_with_cuts(const std::string& stream, const std::vector<size_t>& cuts,
                                          uint32_t cap = kDefaultMaxFrameBytes) {
  FrameDecoder d(cap);
  std::vector<std::string> out;
  size_t pos = 0;
  auto feed_to = [&](size_t end) {
    REQUIRE(d.feed(std::string_view(stream).substr(pos, end - pos)).is_ok());
    pos = end;
    for (auto& f : drain(d)) out.push_back(std::move(f));
  };
  for (size_t c : cuts) feed_to(c);
  feed_to(stream.size());
  CHECK(d.buffered_bytes() == 0);
  return out;
}

TEST_CASE("header encode/decode round trip, big-endian") {
  char h[kHeaderBytes];
  encode_header(h, 0x00A1B2C3);
  CHECK(h[0] == 0);
  CHECK(static_cast<uint8_t>(h[3]) == 0xC3);
  auto len = decode_header(h, kDefaultMaxFrameBytes);
  REQUIRE(len.is_ok());
  CHECK(*len == 0x00A1B2C3u);
  std::string f = encode_frame("abc");
  CHECK(f.size() == kHeaderBytes + 3);
  CHECK(coding::get_u32(f.data()) == 3);
  CHECK(f.substr(kHeaderBytes) == "abc");
}

TEST_CASE("decode_header: zero is a protocol error, the cap is inclusive") {
  CHECK(decode_header(header_bytes(0).data(), 100).status().code() == StatusCode::kProtocolError);
  CHECK(decode_header(header_bytes(100).data(), 100).is_ok());
  CHECK(decode_header(header_bytes(101).data(), 100).status().code() == StatusCode::kFrameTooLarge);
  CHECK(decode_header(header_bytes(0xFFFFFFFF).data(), kDefaultMaxFrameBytes).status().code() ==
        StatusCode::kFrameTooLarge);
}

TEST_CASE("one feed of several frames yields exactly those frames") {
  auto payloads = sample_payloads();
  CHECK(decode_with_cuts(encode_all(payloads), {}) == payloads);
}

TEST_CASE("every single cut point yields exactly the frames") {
  // Small payloads keep this O(n^2) loop quick while covering every header/body boundary.
  std::vector<std::string> payloads = {"a", "bc", std::string(1, '\0'), "hello", "xyz"};
  std::string stream = encode_all(payloads);
  for (size_t cut = 1; cut < stream.size(); ++cut) {
    CAPTURE(cut);
    CHECK(decode_with_cuts(stream, {cut}) == payloads);
  }
}

TEST_CASE("every pair of cut points yields exactly the frames") {
  std::vector<std::string> payloads = {"a", "bcd", "efghij"};
  std::string stream = encode_all(payloads);
  for (size_t a = 1; a < stream.size(); ++a) {
    for (size_t b = a; b < stream.size(); ++b) {
      CHECK(decode_with_cuts(stream, {a, b}) == payloads);
    }
  }
}

TEST_CASE("byte-by-byte feeding yields exactly the frames") {
  auto payloads = sample_payloads();
  std::string stream = encode_all(payloads);
  FrameDecoder d;
  std::vector<std::string> out;
  for (char c : stream) {
    REQUIRE(d.feed(std::string_view(&c, 1)).is_ok());
    CHECK(d.buffered_bytes() <= kHeaderBytes + kDefaultMaxFrameBytes);
    for (auto& f : drain(d)) out.push_back(std::move(f));
  }
  CHECK(out == payloads);
  CHECK(d.buffered_bytes() == 0);
}

TEST_CASE("random multi-cut splits yield exactly the frames") {
  auto payloads = sample_payloads();
  std::string stream = encode_all(payloads);
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<size_t> cuts(1 + rng() % 40);
    for (auto& c : cuts) c = rng() % stream.size();
    std::sort(cuts.begin(), cuts.end());
    CHECK(decode_with_cuts(stream, cuts) == payloads);
  }
}

TEST_CASE("frames are held until next() and come out in order") {
  FrameDecoder d;
  for (int i = 0; i < 100; ++i) REQUIRE(d.feed(encode_frame(std::to_string(i))).is_ok());
  for (int i = 0; i < 100; ++i) {
    auto f = d.next();
    REQUIRE(f.has_value());
    CHECK(*f == std::to_string(i));
  }
  CHECK_FALSE(d.next().has_value());
  CHECK(d.feed("").is_ok());
  CHECK_FALSE(d.next().has_value());
}

TEST_CASE("a truncated frame yields nothing and buffers only what it got") {
  const uint32_t cap = 1000;
  std::string frame = encode_frame(std::string(cap, 'q'));
  for (size_t len = 0; len < frame.size(); ++len) {
    FrameDecoder d(cap);
    REQUIRE(d.feed(std::string_view(frame).substr(0, len)).is_ok());
    CHECK_FALSE(d.next().has_value());
    CHECK(d.buffered_bytes() == len);
    CHECK(d.buffered_bytes() <= kHeaderBytes + cap);
  }
}

TEST_CASE("length prefix 0xFFFFFFFF fails with FrameTooLarge before any allocation") {
  for (size_t split : {size_t{0}, size_t{1}, size_t{3}}) {
    CAPTURE(split);
    FrameDecoder d;  // default 16 MiB cap
    std::string h = header_bytes(0xFFFFFFFF) + "more bytes that never get buffered";
    AllocWatch watch;
    Status first = d.feed(std::string_view(h).substr(0, split));
    Status st = d.feed(std::string_view(h).substr(split));
    size_t largest = watch.largest();
    CHECK(first.is_ok());
    CHECK(st.code() == StatusCode::kFrameTooLarge);
    CHECK(d.buffered_bytes() <= kHeaderBytes);
    CHECK(largest <= 1024);  // only the error message; never the announced 4 GiB
    CHECK_FALSE(d.next().has_value());
  }
}

TEST_CASE("length prefix cap+1 fails with FrameTooLarge before any allocation") {
  for (uint32_t cap : {uint32_t{1}, uint32_t{4096}, kDefaultMaxFrameBytes}) {
    CAPTURE(cap);
    FrameDecoder d(cap);
    std::string h = header_bytes(cap + 1);
    AllocWatch watch;
    Status st = d.feed(h);
    size_t largest = watch.largest();
    CHECK(st.code() == StatusCode::kFrameTooLarge);
    CHECK(d.buffered_bytes() <= kHeaderBytes);
    CHECK(largest <= 1024);
  }
  // Exactly the cap is accepted, and the decoder allocates at most the cap for it.
  const uint32_t cap = 64 * 1024;
  FrameDecoder d(cap);
  AllocWatch watch;
  REQUIRE(d.feed(header_bytes(cap)).is_ok());
  CHECK(watch.largest() <= cap + 64);
  REQUIRE(d.feed(std::string(cap, 'm')).is_ok());
  auto f = d.next();
  REQUIRE(f.has_value());
  CHECK(f->size() == cap);
}

TEST_CASE("zero length is an error") {
  FrameDecoder d;
  Status st = d.feed(header_bytes(0));
  CHECK(st.code() == StatusCode::kProtocolError);
  CHECK(d.error().code() == StatusCode::kProtocolError);
  CHECK_FALSE(d.next().has_value());
}

TEST_CASE("the error is sticky") {
  FrameDecoder d(100);
  REQUIRE(d.feed(encode_frame("ok")).is_ok());
  Status st = d.feed(header_bytes(101));
  REQUIRE(st.code() == StatusCode::kFrameTooLarge);
  size_t buffered = d.buffered_bytes();
  // Valid frames after the error are never decoded.
  for (int i = 0; i < 3; ++i) {
    CHECK(d.feed(encode_frame("later")).code() == StatusCode::kFrameTooLarge);
    CHECK(d.feed("").code() == StatusCode::kFrameTooLarge);
  }
  CHECK(d.error().code() == StatusCode::kFrameTooLarge);
  CHECK(d.buffered_bytes() == buffered);
  // The frame completed before the error is still delivered; nothing after it.
  CHECK(drain(d) == std::vector<std::string>{"ok"});
}

TEST_CASE("garbage after a valid frame: the frame is delivered, then incomplete or an error") {
  const uint32_t cap = 256;
  std::mt19937_64 rng(99);
  int errors = 0, incomplete = 0;
  for (int round = 0; round < 2000; ++round) {
    std::string valid = encode_frame("valid-" + std::to_string(round));
    std::string garbage(rng() % 64, '\0');
    for (auto& c : garbage) c = static_cast<char>(rng());
    // Both in one feed and in two feeds.
    for (bool split : {false, true}) {
      FrameDecoder d(cap);
      Status st;
      if (split) {
        REQUIRE(d.feed(valid).is_ok());
        st = d.feed(garbage);
      } else {
        st = d.feed(valid + garbage);
      }
      auto frames = drain(d);
      REQUIRE(!frames.empty());
      CHECK(frames.front() == "valid-" + std::to_string(round));
      CHECK(d.buffered_bytes() <= kHeaderBytes + cap);
      if (st.is_ok()) {
        ++incomplete;
      } else {
        ++errors;
        CHECK((st.code() == StatusCode::kFrameTooLarge || st.code() == StatusCode::kProtocolError));
        CHECK(d.feed(valid).code() == st.code());  // sticky
      }
    }
  }
  CHECK(errors > 0);
  CHECK(incomplete > 0);
}

}  // namespace
}  // namespace tidemq::framing
