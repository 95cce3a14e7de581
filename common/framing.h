#pragma once
// Frame layout, its one home: `u32 big-endian length` + `length` bytes (a FlatBuffers Envelope).
// The length is checked against the cap before any allocation happens.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tidemq::framing {

inline constexpr size_t kHeaderBytes = 4;
inline constexpr uint32_t kDefaultMaxFrameBytes = 16u << 20;  // SPEC §3

// Writes the 4-byte header for a payload of `length` bytes into `out`.
void encode_header(char* out, uint32_t length);
// Reads a header; checks the cap (and rejects empty frames). Does not allocate.
Result<uint32_t> decode_header(const char* in, uint32_t max_frame_bytes);

// Returns header + payload as one buffer.
std::string encode_frame(std::string_view payload);

// Incremental decoder: feed it bytes split in any way; it yields whole frame payloads.
// After an error (oversize or empty frame) it stays failed: the connection must be closed.
class FrameDecoder {
 public:
  explicit FrameDecoder(uint32_t max_frame_bytes = kDefaultMaxFrameBytes)
      : max_frame_bytes_(max_frame_bytes) {}

  // Consumes all of `data`. Returns the sticky error once the stream is bad.
  Status feed(std::string_view data);
  // The next complete payload, if one is ready.
  std::optional<std::string> next();
  // Bytes held for a frame not yet complete (bounded by header + cap).
  size_t buffered_bytes() const { return header_fill_ + body_.size(); }
  // Complete frames not yet taken with next().
  size_t ready_frames() const { return ready_.size(); }
  const Status& error() const { return error_; }

 private:
  uint32_t max_frame_bytes_;
  char header_[kHeaderBytes] = {};
  size_t header_fill_ = 0;
  uint32_t body_len_ = 0;
  bool in_body_ = false;
  std::string body_;
  std::deque<std::string> ready_;
  Status error_;
};

}  // namespace tidemq::framing
