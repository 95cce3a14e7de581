#include "common/retry_policy.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace tidemq {

namespace {

constexpr int64_t kS = 1000, kM = 60 * kS, kH = 60 * kM;
constexpr size_t kMaxCustomDelays = 64;

const std::vector<int64_t>& default_ladder() {
  static const std::vector<int64_t> v{10 * kS, 30 * kS, 1 * kM, 2 * kM, 3 * kM,  4 * kM,  5 * kM, 6 * kM,
                                      7 * kM,  8 * kM,  9 * kM, 10 * kM, 20 * kM, 30 * kM, 1 * kH, 2 * kH};
  return v;
}

const std::vector<int64_t>& notify_ladder() {
  static const std::vector<int64_t> v{15 * kS, 15 * kS, 30 * kS, 3 * kM,  10 * kM, 20 * kM, 30 * kM, 30 * kM,
                                      30 * kM, 60 * kM, 3 * kH,  3 * kH,  3 * kH,  6 * kH,  6 * kH};
  return v;
}

std::vector<int64_t> exponential_ladder() {
  std::vector<int64_t> v;
  for (int64_t d = 5 * kS; d < 2 * kH; d *= 2) v.push_back(d);
  v.push_back(2 * kH);
  return v;
}

Result<int64_t> parse_duration(std::string_view text) {
  auto bad = [&] {
    return Status::invalid_argument(fmt::format(
        "retry delay '{}' is not a number with unit ms, s, m or h between 1ms and 3 days", text));
  };
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr == text.data() || n <= 0) return bad();
  const std::string_view unit(ptr, static_cast<size_t>(text.data() + text.size() - ptr));
  int64_t scale = 0;
  if (unit == "ms") scale = 1;
  else if (unit == "s") scale = kS;
  else if (unit == "m") scale = kM;
  else if (unit == "h") scale = kH;
  else return bad();
  if (n > kMaxDelayMs / scale) return bad();
  return n * scale;
}

}  // namespace

int64_t RetryPolicy::delay_ms(uint32_t attempt) const {
  if (delays_ms.empty()) return 0;
  const size_t i = attempt == 0 ? 0 : std::min<size_t>(attempt - 1, delays_ms.size() - 1);
  return delays_ms[i];
}

Result<RetryPolicy> RetryPolicy::parse(std::string_view text) {
  RetryPolicy p;
  if (text.empty() || text == "default") {
    p.delays_ms = default_ladder();
    return p;
  }
  if (text == "exponential") {
    p.delays_ms = exponential_ladder();
    return p;
  }
  if (text == "notify") {
    p.delays_ms = notify_ladder();
    return p;
  }
  while (true) {
    const size_t comma = text.find(',');
    TIDEMQ_ASSIGN_OR_RETURN(int64_t d, parse_duration(text.substr(0, comma)));
    p.delays_ms.push_back(d);
    if (p.delays_ms.size() > kMaxCustomDelays) {
      return Status::invalid_argument(fmt::format("a retry policy lists at most {} delays", kMaxCustomDelays));
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return p;
}

}  // namespace tidemq
