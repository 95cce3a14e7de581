#include "common/framing.h"

#include <algorithm>
#include <cstring>

#include "common/coding.h"

namespace tidemq::framing {

namespace {
constexpr size_t kInitialReserve = 64 * 1024;
}  // namespace

void encode_header(char* out, uint32_t length) { coding::put_u32(out, length); }

Result<uint32_t> decode_header(const char* in, uint32_t max_frame_bytes) {
  uint32_t len = coding::get_u32(in);
  if (len == 0) return Status::protocol("empty frame");
  if (len > max_frame_bytes) {
    return Status(StatusCode::kFrameTooLarge, "frame of " + std::to_string(len) +
                                                  " bytes exceeds the cap of " +
                                                  std::to_string(max_frame_bytes));
  }
  return len;
}

std::string encode_frame(std::string_view payload) {
  std::string out(kHeaderBytes + payload.size(), '\0');
  encode_header(out.data(), static_cast<uint32_t>(payload.size()));
  std::memcpy(out.data() + kHeaderBytes, payload.data(), payload.size());
  return out;
}

Status FrameDecoder::feed(std::string_view data) {
  if (!error_.is_ok()) return error_;
  while (!data.empty()) {
    if (!in_body_) {
      size_t take = std::min(kHeaderBytes - header_fill_, data.size());
      std::memcpy(header_ + header_fill_, data.data(), take);
      header_fill_ += take;
      data.remove_prefix(take);
      if (header_fill_ < kHeaderBytes) break;
      auto len = decode_header(header_, max_frame_bytes_);
      if (!len.is_ok()) {
        error_ = len.status();
        return error_;
      }
      body_len_ = *len;
      body_.clear();
      // Grow with the bytes that actually arrive: a peer that only sends a header must not make
      // us hold a cap-sized buffer.
      body_.reserve(std::min<size_t>(body_len_, kInitialReserve));
      in_body_ = true;
    }
    size_t take = std::min<size_t>(body_len_ - body_.size(), data.size());
    body_.append(data.data(), take);
    data.remove_prefix(take);
    if (body_.size() == body_len_) {
      ready_.push_back(std::move(body_));
      body_ = std::string();
      in_body_ = false;
      header_fill_ = 0;
    }
  }
  return Status::ok();
}

std::optional<std::string> FrameDecoder::next() {
  if (ready_.empty()) return std::nullopt;
  std::string out = std::move(ready_.front());
  ready_.pop_front();
  return out;
}

}  // namespace tidemq::framing
