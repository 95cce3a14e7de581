#pragma once
// The order both services agree on: what order n is, and its message body (one line of JSON).
// Order n is deterministic, so a test can compute the expected totals on its own.
#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace order_points {

struct Order {
  std::string id;       // "o-000007": zero-padded, so LevelDB keeps orders in number order
  std::string user;     // "u0" .. "u4"
  uint32_t amount = 0;  // 100 .. 999
  uint32_t points = 0;  // amount / 10
};

inline Order make_order(uint32_t n) {
  const uint32_t amount = 100 + (n * 37) % 900;
  return {fmt::format("o-{:06}", n), fmt::format("u{}", n % 5), amount, amount / 10};
}

inline std::string to_body(const Order& o) {
  return fmt::format(R"({{"order":"{}","user":"{}","amount":{},"points":{}}})", o.id, o.user, o.amount, o.points);
}

// The value of "name" in a body written by to_body (quotes stripped); empty when absent.
inline std::string_view json_field(std::string_view body, std::string_view name) {
  const std::string key = fmt::format(R"("{}":)", name);
  size_t start = body.find(key);
  if (start == std::string_view::npos) return {};
  start += key.size();
  size_t end = body.find_first_of(",}", start);
  if (end == std::string_view::npos) return {};
  std::string_view value = body.substr(start, end - start);
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
  return value;
}

// The order in a message body, or nullopt when it is not one.
inline std::optional<Order> parse_body(std::string_view body) {
  Order o{std::string(json_field(body, "order")), std::string(json_field(body, "user"))};
  const std::string_view amount = json_field(body, "amount");
  const std::string_view points = json_field(body, "points");
  if (o.id.empty() || o.user.empty() ||
      std::from_chars(amount.data(), amount.data() + amount.size(), o.amount).ec != std::errc() ||
      std::from_chars(points.data(), points.data() + points.size(), o.points).ec != std::errc()) {
    return std::nullopt;
  }
  return o;
}

}  // namespace order_points
