#pragma once
// What the recharge service and the SMS service agree on (SPEC §10, recharge_notify): the
// notification body, recharge statuses, and the recharge service's query protocol — one line per
// request over TCP: "STATUS r-000007\n" -> "SUCCESS\n" | "FAILED\n" | "PENDING\n" | "UNKNOWN\n";
// "SET r-000007 SUCCESS\n" -> "OK\n" (an operator settling a stuck recharge).
#include <fmt/format.h>

#include <asio.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace recharge_notify {

inline std::string recharge_id(uint32_t n) { return fmt::format("r-{:06}", n); }  // zero-padded: key order = n
inline std::string user_of(uint32_t n) { return fmt::format("u{}", n % 7); }
inline uint32_t amount_of(uint32_t n) { return 10 * (1 + n % 10); }

// "r-000007 u0 80": recharge id, user, amount.
inline std::string to_body(uint32_t n) { return fmt::format("{} {} {}", recharge_id(n), user_of(n), amount_of(n)); }
inline std::string_view id_of(std::string_view body) { return body.substr(0, body.find(' ')); }

// One request line to the recharge service's query interface at host:port; its answer line
// without the newline. Unavailable when it cannot be reached (the caller retries later).
inline tidemq::Result<std::string> ask(const std::string& host, uint16_t port, const std::string& line) {
  try {
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    s.connect({asio::ip::make_address(host), port});
    asio::write(s, asio::buffer(line + "\n"));
    asio::streambuf buf;
    asio::read_until(s, buf, '\n');
    std::string answer{asio::buffers_begin(buf.data()), asio::buffers_end(buf.data())};
    return answer.substr(0, answer.find('\n'));
  } catch (const std::exception& e) {
    return tidemq::Status(tidemq::StatusCode::kUnavailable, fmt::format("recharge query service: {}", e.what()));
  }
}

}  // namespace recharge_notify
