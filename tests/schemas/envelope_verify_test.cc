// The Verifier is the broker's only line of defence before any field of a received Envelope is
// read (SPEC §3): valid envelopes of every body kind verify; truncated, random and corrupted
// buffers do not. Unknown union types are a documented gap of the verifier that the dispatcher
// closes with a range check, tested here as observed behaviour.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "schemas/envelope_generated.h"
#include "tests/schemas/wire_samples.h"

namespace tidemq::wire {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes to_bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

// Verifies an exact-size heap copy, so a sanitizer sees any read past the end.
bool verifies(const uint8_t* data, size_t n) {
  Bytes copy(data, data + n);
  flatbuffers::Verifier v(copy.data(), copy.size());
  return VerifyEnvelopeBuffer(v);
}
bool verifies(const Bytes& b) { return verifies(b.data(), b.size()); }

uint32_t read_u32le(const Bytes& b, size_t pos) {
  uint32_t v;
  std::memcpy(&v, b.data() + pos, 4);
  return v;
}
void write_u32le(Bytes& b, size_t pos, uint32_t v) { std::memcpy(b.data() + pos, &v, 4); }

size_t find(const Bytes& b, const std::string& needle) {
  auto it = std::search(b.begin(), b.end(), needle.begin(), needle.end());
  REQUIRE(it != b.end());
  return static_cast<size_t>(it - b.begin());
}

// Where the Envelope's body_type byte lives in `b` (the field must be present).
size_t body_type_pos(Bytes& b) {
  auto* table = flatbuffers::GetMutableRoot<flatbuffers::Table>(b.data());
  uint8_t* p = table->GetAddressOf(Envelope::VT_BODY_TYPE);
  REQUIRE(p != nullptr);
  return static_cast<size_t>(p - b.data());
}

// What the broker's dispatcher does before looking a handler up: the union type must be a
// value this build knows. The Verifier alone does not guarantee it (see below).
bool known_body_type(const Envelope& env) { return env.body_type() <= Body::MAX; }

TEST_CASE("a valid Envelope of every body kind verifies and reads back") {
  for (Body kind : test::all_body_kinds()) {
    CAPTURE(EnumNameBody(kind));
    Bytes b = to_bytes(test::sample_envelope(kind, 77));
    REQUIRE(verifies(b));
    const Envelope* env = GetEnvelope(b.data());
    CHECK(env->correlation_id() == 77);
    CHECK(env->body_type() == kind);
    CHECK(known_body_type(*env));
    CHECK((kind == Body::NONE) == (env->body() == nullptr));
    REQUIRE(env->error_message() != nullptr);
    CHECK(env->error_message()->str() == "sample-error-message");
  }
  // Spot-check that nested fields survive: produce batches (one scheduled) and a fetch result.
  Bytes produce = to_bytes(test::sample_envelope(Body::ProduceRequest));
  const auto* req = GetEnvelope(produce.data())->body_as_ProduceRequest();
  REQUIRE(req != nullptr);
  CHECK(req->topic()->str() == "orders");
  REQUIRE(req->batches()->size() == 3);
  CHECK(req->batches()->Get(1)->partition() == 2);
  CHECK(req->batches()->Get(1)->deliver_at_ms() == 0);
  CHECK(req->batches()->Get(2)->deliver_at_ms() == 1'767'225'660'000u);  // a scheduled batch
  CHECK(req->batches()->Get(0)->records()->size() == test::sample_record_batch(3).size());
}

TEST_CASE("random bytes never verify") {
  std::mt19937_64 rng(20260101);
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes b(rng() % 300);
    for (auto& c : b) c = static_cast<uint8_t>(rng());
    accepted += verifies(b);
  }
  CHECK(accepted == 0);
}

TEST_CASE("every proper prefix of a valid buffer fails, except trailing padding") {
  // FlatBuffers builds back to front, so the bytes at the end of a buffer belong to the first
  // object written; only zero padding after the last non-zero byte can be dropped without the
  // Verifier noticing (that padding carries no data). Everything shorter must fail.
  for (Body kind : test::all_body_kinds()) {
    CAPTURE(EnumNameBody(kind));
    Bytes b = to_bytes(test::sample_envelope(kind));
    size_t last_nonzero = b.size() - 1;
    while (b[last_nonzero] == 0) --last_nonzero;
    for (size_t len = 0; len < b.size(); ++len) {
      CAPTURE(len);
      bool ok = verifies(b.data(), len);
      if (len <= last_nonzero) CHECK_FALSE(ok);
    }
  }
}

TEST_CASE("a root offset outside the buffer fails") {
  Bytes b = to_bytes(test::sample_envelope(Body::HelloRequest));
  for (uint32_t root : {uint32_t(b.size()), uint32_t(b.size() + 4), 0xFFFFFFFCu, 0x7FFFFFFCu}) {
    Bytes c = b;
    write_u32le(c, 0, root);
    CHECK_FALSE(verifies(c));
  }
}

TEST_CASE("a corrupted vtable offset fails") {
  Bytes b = to_bytes(test::sample_envelope(Body::FetchRequest));
  const size_t table = read_u32le(b, 0);
  const auto size = static_cast<int64_t>(b.size());
  // The table starts with soffset_t: vtable = table - soffset. Point the vtable outside the
  // buffer in both directions, and at an odd (misaligned) address.
  for (int64_t soff : {int64_t(INT32_MAX), int64_t(INT32_MIN) + 1, int64_t(table) + 2,
                       int64_t(table) - size, int64_t(table) - size + 1, int64_t(3)}) {
    CAPTURE(soff);
    Bytes c = b;
    write_u32le(c, table, static_cast<uint32_t>(static_cast<int32_t>(soff)));
    CHECK_FALSE(verifies(c));
  }
  // A vtable whose own length runs past the end of the buffer.
  int32_t soff;
  std::memcpy(&soff, b.data() + table, 4);
  size_t vtable = static_cast<size_t>(static_cast<int64_t>(table) - soff);
  Bytes c = b;
  c[vtable] = 0xFE;
  c[vtable + 1] = 0xFF;
  CHECK_FALSE(verifies(c));
}

TEST_CASE("an out-of-bounds string length fails") {
  Bytes b = to_bytes(test::sample_envelope(Body::HelloRequest, 1, "marker-string"));
  size_t chars = find(b, "marker-string");
  size_t len_pos = chars - 4;
  REQUIRE(read_u32le(b, len_pos) == std::string("marker-string").size());
  for (uint32_t bad : {0x7FFFFFFFu, 0xFFFFFFFFu, uint32_t(b.size()),
                       uint32_t(b.size() - chars), uint32_t(b.size() - chars + 1)}) {
    CAPTURE(bad);
    Bytes c = b;
    write_u32le(c, len_pos, bad);
    CHECK_FALSE(verifies(c));
  }
  // A string must be NUL-terminated inside the buffer.
  Bytes c = b;
  c[chars + std::string("marker-string").size()] = 'x';
  CHECK_FALSE(verifies(c));
}

TEST_CASE("an out-of-bounds byte vector length fails") {
  Bytes b = to_bytes(test::sample_envelope(Body::ProduceRequest));
  // The first partition's records vector holds a record batch starting with magic "TMQ1".
  size_t data = find(b, "TMQ1");
  size_t len_pos = data - 4;
  for (uint32_t bad : {0xFFFFFFFFu, 0x7FFFFFFFu, uint32_t(b.size() - data + 1)}) {
    CAPTURE(bad);
    Bytes c = b;
    write_u32le(c, len_pos, bad);
    CHECK_FALSE(verifies(c));
  }
}

TEST_CASE("unknown union type: the Verifier accepts it, the range check rejects it") {
  // Observed FlatBuffers 2.0.8 behaviour: the generated VerifyBody() ends in `default: return
  // true`, so an Envelope whose body_type is outside the union verifies (forward compatibility:
  // an old reader must accept a newer writer's union members). The body's *offset* is still
  // bounds-checked, its table is not. The dispatcher must therefore reject
  // body_type() > Body::MAX before touching body(); this test pins both facts, so an upgrade
  // that changes either shows up here.
  Bytes b = to_bytes(test::sample_envelope(Body::HelloRequest));
  const size_t pos = body_type_pos(b);
  for (int type : {static_cast<int>(Body::MAX) + 1, 200, 255}) {
    CAPTURE(type);
    Bytes c = b;
    c[pos] = static_cast<uint8_t>(type);
    CHECK(verifies(c));  // the gap
    const Envelope* env = GetEnvelope(c.data());
    CHECK_FALSE(known_body_type(*env));  // the dispatcher's guard
    CHECK(std::string(EnumNameBody(env->body_type())).empty());
    CHECK(env->body_as_HelloRequest() == nullptr);
  }

  // Built directly: type 200 with no body at all also verifies.
  flatbuffers::FlatBufferBuilder fbb;
  EnvelopeBuilder eb(fbb);
  eb.add_correlation_id(9);
  eb.add_body_type(static_cast<Body>(200));
  fbb.Finish(eb.Finish());
  Bytes d(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
  CHECK(verifies(d));
  CHECK_FALSE(known_body_type(*GetEnvelope(d.data())));
}

TEST_CASE("a known body type with no body verifies: handlers must null-check body_as_X()") {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(CreateEnvelope(fbb, 5, Body::ProduceRequest, 0));
  Bytes b(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
  REQUIRE(verifies(b));
  const Envelope* env = GetEnvelope(b.data());
  CHECK(known_body_type(*env));
  CHECK(env->body_as_ProduceRequest() == nullptr);
}

TEST_CASE("any union type byte over any sample never crashes the Verifier") {
  // Type confusion: a table of one kind verified as another. Each outcome is fine as long as
  // the Verifier stays in bounds; unknown types are always accepted (see above).
  for (Body kind : test::all_body_kinds()) {
    if (kind == Body::NONE) continue;
    Bytes b = to_bytes(test::sample_envelope(kind));
    const size_t pos = body_type_pos(b);
    for (int type = 0; type < 256; ++type) {
      Bytes c = b;
      c[pos] = static_cast<uint8_t>(type);
      bool ok = verifies(c);
      if (type > static_cast<int>(Body::MAX)) CHECK(ok);
      if (type == static_cast<int>(kind)) CHECK(ok);
    }
  }
}

TEST_CASE("single-byte corruption anywhere never crashes the Verifier") {
  for (Body kind : test::all_body_kinds()) {
    Bytes b = to_bytes(test::sample_envelope(kind));
    for (size_t i = 0; i < b.size(); ++i) {
      for (uint8_t v : {uint8_t{0x00}, uint8_t{0x7F}, uint8_t{0x80}, uint8_t{0xFF}}) {
        Bytes c = b;
        c[i] = v;
        (void)verifies(c);
      }
    }
  }
}

}  // namespace
}  // namespace tidemq::wire
