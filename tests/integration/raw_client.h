#pragma once
// A bare TCP client for tests that must send bytes the public client never would.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <asio.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/coding.h"
#include "common/framing.h"
#include "common/record_batch.h"
#include "schemas/envelope_generated.h"

namespace tidemq::test {

using asio::ip::tcp;

class RawClient {
 public:
  explicit RawClient(uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    timeval tv{5, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  void send(std::string_view bytes) { asio::write(socket_, asio::buffer(bytes.data(), bytes.size())); }
  void send_frame(flatbuffers::FlatBufferBuilder& fbb) {
    send(framing::encode_frame(std::string_view(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize())));
  }
  // The next frame, or nullopt when the broker closed the connection (or 5 s passed).
  std::optional<std::string> read_frame() {
    char header[4];
    asio::error_code ec;
    asio::read(socket_, asio::buffer(header), ec);
    if (ec) return std::nullopt;
    uint32_t len = coding::get_u32(header);
    REQUIRE(len < (16u << 20));
    std::string body(len, '\0');
    asio::read(socket_, asio::buffer(body), ec);
    if (ec) return std::nullopt;
    return body;
  }
  // For tests that drive the socket themselves (non-blocking writes, poll).
  tcp::socket& socket() { return socket_; }
  bool closed_by_peer() {
    char c;
    asio::error_code ec;
    socket_.read_some(asio::buffer(&c, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
};

inline const wire::Envelope& envelope_of(const std::string& frame) {
  flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(frame.data()), frame.size());
  REQUIRE(wire::VerifyEnvelopeBuffer(v));
  return *wire::GetEnvelope(frame.data());
}

inline void hello(RawClient& c) {
  flatbuffers::FlatBufferBuilder fbb;
  auto h = wire::CreateHelloRequest(fbb, fbb.CreateString("raw"), wire::ClientKind::ADMIN, 1);
  fbb.Finish(wire::CreateEnvelope(fbb, 1, wire::Body::HelloRequest, h.Union()));
  c.send_frame(fbb);
  auto f = c.read_frame();
  REQUIRE(f);
  CHECK(envelope_of(*f).body_type() == wire::Body::HelloResponse);
}

// Sends `body` (built in `fbb`) with correlation id `id` and returns the response frame with that
// id. Frames with other ids (broker-initiated requests, stray answers) go to `other` if given.
template <typename T>
std::string request(RawClient& c, uint64_t id, flatbuffers::FlatBufferBuilder& fbb, wire::Body type,
                    flatbuffers::Offset<T> body, const std::function<void(std::string)>& other = {}) {
  fbb.Finish(wire::CreateEnvelope(fbb, id, type, body.Union()));
  c.send_frame(fbb);
  for (;;) {
    auto frame = c.read_frame();
    REQUIRE_MESSAGE(frame.has_value(), "connection closed while waiting for a response");
    if (envelope_of(*frame).correlation_id() == id) return *frame;
    if (other) other(std::move(*frame));
  }
}

// One record batch of `records` bodies of `body_bytes` (producer id 0: not idempotent).
inline std::string make_batch(int records, size_t body_bytes, uint64_t producer_id = 0, uint32_t base_sequence = 0) {
  record::BatchBuilder b;
  std::string body(body_bytes, 'x');
  for (int i = 0; i < records; ++i) {
    record::RecordInput r;
    r.body = body;
    b.add(r);
  }
  return b.finish(producer_id, base_sequence);
}

// A ProduceRequest envelope (no frame header).
inline std::string produce_payload(uint64_t correlation_id, const std::string& topic, uint32_t partition,
                                   const std::string& batch) {
  flatbuffers::FlatBufferBuilder fbb(batch.size() + 256);
  auto recs = fbb.CreateVector(reinterpret_cast<const uint8_t*>(batch.data()), batch.size());
  std::vector<flatbuffers::Offset<wire::PartitionBatch>> pbs{wire::CreatePartitionBatch(fbb, partition, recs)};
  auto req = wire::CreateProduceRequest(fbb, fbb.CreateString(topic), fbb.CreateVector(pbs));
  fbb.Finish(wire::CreateEnvelope(fbb, correlation_id, wire::Body::ProduceRequest, req.Union()));
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

}  // namespace tidemq::test
