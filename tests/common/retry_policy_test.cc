// Retry policies as data (SPEC §7): the presets' ladders, custom lists, the repeat of the last
// delay, and the text a policy refuses.
#include <doctest/doctest.h>

#include "common/retry_policy.h"

namespace tidemq {

namespace {
constexpr int64_t kS = 1000, kM = 60 * kS, kH = 60 * kM;

std::vector<int64_t> ladder(const RetryPolicy& p, uint32_t n) {
  std::vector<int64_t> out;
  for (uint32_t a = 1; a <= n; ++a) out.push_back(p.delay_ms(a));
  return out;
}
}  // namespace

TEST_CASE("the default ladder is RocketMQ's, and its last delay repeats") {
  for (const char* text : {"", "default"}) {
    auto p = RetryPolicy::parse(text);
    REQUIRE(p.is_ok());
    CHECK(ladder(*p, 18) == std::vector<int64_t>{10 * kS, 30 * kS, 1 * kM,  2 * kM,  3 * kM,  4 * kM,
                                                 5 * kM,  6 * kM,  7 * kM,  8 * kM,  9 * kM,  10 * kM,
                                                 20 * kM, 30 * kM, 1 * kH,  2 * kH,  2 * kH,  2 * kH});
  }
}

TEST_CASE("notify is the payment-callback schedule; exponential doubles from 5 s up to 2 h") {
  auto n = RetryPolicy::parse("notify");
  REQUIRE(n.is_ok());
  CHECK(ladder(*n, 16) == std::vector<int64_t>{15 * kS, 15 * kS, 30 * kS, 3 * kM, 10 * kM, 20 * kM, 30 * kM, 30 * kM,
                                               30 * kM, 60 * kM, 3 * kH,  3 * kH, 3 * kH,  6 * kH,  6 * kH,  6 * kH});
  auto e = RetryPolicy::parse("exponential");
  REQUIRE(e.is_ok());
  CHECK(ladder(*e, 13) == std::vector<int64_t>{5 * kS,   10 * kS,  20 * kS,   40 * kS,   80 * kS,  160 * kS, 320 * kS,
                                               640 * kS, 1280 * kS, 2560 * kS, 5120 * kS, 2 * kH,  2 * kH});
}

TEST_CASE("a custom list takes ms, s, m and h; attempt 0 reads as the first") {
  auto p = RetryPolicy::parse("250ms,2s,3m,1h");
  REQUIRE(p.is_ok());
  CHECK(p->delay_ms(0) == 250);
  CHECK(ladder(*p, 5) == std::vector<int64_t>{250, 2 * kS, 3 * kM, 1 * kH, 1 * kH});
  CHECK(RetryPolicy::parse("72h").is_ok());  // 3 days is the most
}

TEST_CASE("a policy that is not a preset or a list of valid delays is refused, naming the bad part") {
  for (std::string bad : {"sometimes", "1s,", ",1s", "1s,,2s", "0ms", "-5s", "10", "10x", "1.5s", "73h", "4321m"}) {
    CAPTURE(bad);
    auto p = RetryPolicy::parse(bad);
    REQUIRE(!p.is_ok());
    CHECK(p.status().code() == StatusCode::kInvalidArgument);
  }
  auto named = RetryPolicy::parse("1s,10q");
  CHECK(named.status().message().find("'10q'") != std::string::npos);
  std::string many;
  for (int i = 0; i < 65; ++i) many += (i ? ",1s" : "1s");
  CHECK(RetryPolicy::parse(many).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("delay levels are RocketMQ's 18") {
  CHECK(delay_of_level(0) == 0);
  CHECK(delay_of_level(1) == 1 * kS);
  CHECK(delay_of_level(4) == 30 * kS);
  CHECK(delay_of_level(14) == 10 * kM);
  CHECK(delay_of_level(18) == 2 * kH);
  CHECK(delay_of_level(19) == 0);
}

}  // namespace tidemq
