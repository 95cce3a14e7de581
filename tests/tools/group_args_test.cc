// updateSubGroup changes only the settings given on the command line.
#include "tools/mqadmin/group_args.h"

#include <doctest/doctest.h>

namespace tidemq::tools {
namespace {

GroupSettings current() {
  GroupSettings s;
  s.name = "billing";
  s.strategy = AssignStrategy::kSticky;
  s.broadcast = false;
  s.reset_policy = "earliest";
  s.max_msgs_per_sec = 2000;
  s.max_bytes_per_sec = 1e6;
  s.burst_ms = 200;
  s.topic_rates = {{"orders", 500, 0}};
  return s;
}

TEST_CASE("no flags: nothing changes") {
  GroupSettings s = current();
  REQUIRE(apply_update_flags({}, s).is_ok());
  CHECK(s.strategy == AssignStrategy::kSticky);
  CHECK(s.reset_policy == "earliest");
  CHECK(s.max_msgs_per_sec == 2000);
  CHECK(s.max_bytes_per_sec == 1e6);
  CHECK(s.burst_ms == 200);
  REQUIRE(s.topic_rates.size() == 1);
  CHECK(s.topic_rates[0].max_msgs_per_sec == 500);
}

TEST_CASE("--retry-policy and --max-reconsume change only the retry settings; a bad policy changes nothing") {
  GroupSettings s = current();
  s.retry_policy = "notify";
  s.max_reconsume_times = 5;
  UpdateGroupFlags keep;
  REQUIRE(apply_update_flags(keep, s).is_ok());
  CHECK(s.retry_policy == "notify");
  CHECK(s.max_reconsume_times == 5);
  UpdateGroupFlags f;
  f.retry_policy = "500ms,1s,5s,1m";
  f.max_reconsume = 3;
  REQUIRE(apply_update_flags(f, s).is_ok());
  CHECK(s.retry_policy == "500ms,1s,5s,1m");
  CHECK(s.max_reconsume_times == 3);
  CHECK(s.strategy == AssignStrategy::kSticky);
  CHECK(s.max_msgs_per_sec == 2000);
  CHECK(s.burst_ms == 200);
  for (const char* bad : {"sometimes", "1s,,5s", "5", "0s", "1d", "1s,"}) {
    CAPTURE(bad);
    UpdateGroupFlags b;
    b.retry_policy = bad;
    CHECK(apply_update_flags(b, s).code() == StatusCode::kInvalidArgument);
    CHECK(s.retry_policy == "500ms,1s,5s,1m");
  }
  for (const char* good : {"", "default", "exponential", "notify", "2h", "10s,30s,1m"}) {
    CAPTURE(good);
    CHECK(validate_retry_policy(good).is_ok());
  }
}

TEST_CASE("--rate alone changes the group rate and keeps every other setting") {
  GroupSettings s = current();
  UpdateGroupFlags f;
  f.rate = 0;  // unlimited
  REQUIRE(apply_update_flags(f, s).is_ok());
  CHECK(s.max_msgs_per_sec == 0);
  CHECK(s.max_bytes_per_sec == 1e6);
  CHECK(s.strategy == AssignStrategy::kSticky);
  CHECK(s.burst_ms == 200);
  CHECK(s.topic_rates.size() == 1);
}

TEST_CASE("strategy, mode, reset policy, burst and bytes") {
  GroupSettings s = current();
  UpdateGroupFlags f;
  f.strategy = "consistent_hash";
  f.broadcast = true;
  f.reset_policy = "timestamp:1700000000000";
  f.burst_ms = 50;
  f.rate_bytes = 0;
  REQUIRE(apply_update_flags(f, s).is_ok());
  CHECK(s.strategy == AssignStrategy::kConsistentHash);
  CHECK(s.broadcast);
  CHECK(s.reset_policy == "timestamp:1700000000000");
  CHECK(s.burst_ms == 50);
  CHECK(s.max_bytes_per_sec == 0);
  CHECK(s.max_msgs_per_sec == 2000);
}

TEST_CASE("per-topic rates: set, add, set one field of an entry, remove with 0") {
  GroupSettings s = current();
  UpdateGroupFlags f;
  f.topic_rates = {"refunds=100"};
  f.topic_rates_bytes = {"orders=4096"};
  REQUIRE(apply_update_flags(f, s).is_ok());
  REQUIRE(s.topic_rates.size() == 2);
  CHECK(s.topic_rates[0].topic == "orders");
  CHECK(s.topic_rates[0].max_msgs_per_sec == 500);  // kept
  CHECK(s.topic_rates[0].max_bytes_per_sec == 4096);
  CHECK(s.topic_rates[1].topic == "refunds");
  CHECK(s.topic_rates[1].max_msgs_per_sec == 100);

  UpdateGroupFlags remove;
  remove.topic_rates = {"refunds=0", "orders=0"};
  REQUIRE(apply_update_flags(remove, s).is_ok());
  REQUIRE(s.topic_rates.size() == 1);  // orders still has its byte limit
  CHECK(s.topic_rates[0].topic == "orders");
  CHECK(s.topic_rates[0].max_msgs_per_sec == 0);
}

TEST_CASE("bad values are refused and leave the settings untouched") {
  GroupSettings s = current();
  for (const char* bad : {"orders", "=5", "orders=", "orders=-1", "orders=abc", "orders=5x", "orders=inf"}) {
    UpdateGroupFlags f;
    f.rate = 1;
    f.topic_rates = {bad};
    Status st = apply_update_flags(f, s);
    CHECK_MESSAGE(st.code() == StatusCode::kInvalidArgument, bad);
  }
  UpdateGroupFlags strategy;
  strategy.strategy = "round_robin";
  CHECK(apply_update_flags(strategy, s).code() == StatusCode::kInvalidArgument);
  UpdateGroupFlags reset;
  reset.reset_policy = "yesterday";
  CHECK(apply_update_flags(reset, s).code() == StatusCode::kInvalidArgument);
  CHECK(s.max_msgs_per_sec == 2000);
  CHECK(s.reset_policy == "earliest");
  auto parsed = parse_topic_rate("a.b=2.5");
  REQUIRE(parsed.is_ok());
  CHECK(parsed->first == "a.b");
  CHECK(parsed->second == 2.5);
}

}  // namespace
}  // namespace tidemq::tools
