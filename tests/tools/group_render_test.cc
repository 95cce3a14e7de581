// mqadmin's consumer-group output: tables and the JSON shapes scripts rely on (SPEC §8).
#include "tools/mqadmin/group_render.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/support/text_lines.h"

namespace tidemq::tools {
namespace {

using test::lines_of;

ConsumerProgress sample_progress() {
  ConsumerProgress p;
  p.group = "billing";
  p.partitions.push_back({"orders", 0, 10, 110, 60, 50, "m-1", "svc-a", 0});
  p.partitions.push_back({"orders", 1, 0, 40, -1, 40, "", "", 0});
  p.retry_scheduled = 4;
  p.dlq_messages = 2;
  return p;
}

TEST_CASE("format helpers: rates, partition ranges, assignment, subscriptions, topic rates") {
  CHECK(format_rate(0) == "unlimited");
  CHECK(format_rate(2000) == "2000");
  CHECK(format_rate(2.5) == "2.5");
  CHECK(format_partition_list({}) == "-");
  CHECK(format_partition_list({7, 0, 2, 1, 3}) == "0-3,7");
  CHECK(format_partition_list({5}) == "5");
  CHECK(format_partition_list({1, 3, 5}) == "1,3,5");
  CHECK(format_assignment({{"orders", {0, 1, 2}}, {"refunds", {4}}, {"empty", {}}}) == "orders[0-2] refunds[4]");
  CHECK(format_assignment({}) == "-");
  CHECK(format_subscriptions({{"orders", "*"}, {"refunds", "TagA || TagB"}, {"x", ""}}) ==
        "orders(*) refunds(TagA || TagB) x(*)");
  CHECK(format_topic_rates({{"orders", 500, 0}, {"refunds", 0, 4096}, {"both", 1, 2}}) ==
        "orders 500 msg/s, refunds 4096 B/s, both 1 msg/s 2 B/s");
  CHECK(format_topic_rates({}) == "-");
}

TEST_CASE("consumerProgress JSON has the SPEC keys, -1 for nothing committed, and the total lag") {
  const std::string json = consumer_progress_json(sample_progress()).dump();
  CHECK(json ==
        "{\"group\":\"billing\",\"partitions\":["
        "{\"topic\":\"orders\",\"partition\":0,\"start_offset\":10,\"end_offset\":110,\"committed_offset\":60,"
        "\"lag\":50,\"owner\":\"m-1\",\"owner_client_id\":\"svc-a\",\"last_commit_ms\":0},"
        "{\"topic\":\"orders\",\"partition\":1,\"start_offset\":0,\"end_offset\":40,\"committed_offset\":-1,"
        "\"lag\":40,\"owner\":\"\",\"owner_client_id\":\"\",\"last_commit_ms\":0}],\"total_lag\":90,"
        "\"retry_scheduled\":4,\"dlq_messages\":2}");
}

TEST_CASE("consumerProgress table shows '-' for nothing committed and no owner, then the total lag") {
  const auto lines = lines_of(consumer_progress_table(sample_progress()));
  REQUIRE(lines.size() == 6);
  CHECK(lines[0] == "TOPIC   PARTITION  START_OFFSET  END_OFFSET  COMMITTED  LAG  OWNER  CLIENT_ID  LAST_COMMIT");
  CHECK(lines[1] == "orders          0            10         110         60   50  m-1    svc-a      -");
  CHECK(lines[2] == "orders          1             0          40          -   40  -      -          -");
  CHECK(lines[3] == "total lag: 90");
  CHECK(lines[4] == "retry scheduled: 4");
  CHECK(lines[5] == "dlq messages: 2");
}

TEST_CASE("consumerConnection: fields, members table, JSON; a group without members says so") {
  GroupDescription d;
  d.settings.name = "billing";
  d.settings.strategy = AssignStrategy::kSticky;
  d.generation = 3;
  d.members.push_back({"m-1", "svc-a", "127.0.0.1:5000", {{"orders", "*"}}, {{"orders", {0, 1}}}, 1500});
  const auto lines = lines_of(consumer_connection_text(d));
  REQUIRE(lines.size() == 8);
  CHECK(lines[0] == "group:       billing");
  CHECK(lines[1] == "generation:  3");
  CHECK(lines[2] == "strategy:    sticky");
  CHECK(lines[3] == "mode:        clustering");
  CHECK(lines[4] == "members:     1");
  CHECK(lines[6] == "MEMBER_ID  CLIENT_ID  REMOTE          SUBSCRIPTIONS  ASSIGNMENT   LAST_HEARTBEAT");
  CHECK(lines[7] == "m-1        svc-a      127.0.0.1:5000  orders(*)      orders[0-1]  1.5s ago");
  CHECK(consumer_connection_json(d).dump() ==
        "{\"group\":\"billing\",\"generation\":3,\"strategy\":\"sticky\",\"mode\":\"clustering\",\"members\":["
        "{\"member_id\":\"m-1\",\"client_id\":\"svc-a\",\"remote\":\"127.0.0.1:5000\","
        "\"subscriptions\":[{\"topic\":\"orders\",\"expression\":\"*\"}],"
        "\"assignment\":[{\"topic\":\"orders\",\"partitions\":[0,1]}],\"last_heartbeat_age_ms\":1500}]}");
  d.members.clear();
  d.settings.broadcast = true;
  const auto empty = lines_of(consumer_connection_text(d));
  REQUIRE(empty.size() == 6);
  CHECK(empty[3] == "mode:        broadcasting");
  CHECK(empty[5] == "no members online");
}

TEST_CASE("group settings: JSON, one-line summary, groupList table") {
  GroupSettings s;
  s.name = "billing";
  s.max_msgs_per_sec = 2000;
  s.topic_rates = {{"orders", 500, 0}};
  CHECK(group_settings_json(s).dump() ==
        "{\"name\":\"billing\",\"strategy\":\"avg\",\"mode\":\"clustering\",\"reset_policy\":\"latest\","
        "\"max_msgs_per_sec\":2000,\"max_bytes_per_sec\":0,\"burst_ms\":100,"
        "\"topic_rates\":[{\"topic\":\"orders\",\"max_msgs_per_sec\":500,\"max_bytes_per_sec\":0}],"
        "\"retry_policy\":\"default\",\"max_reconsume_times\":16}");
  CHECK(group_settings_summary(s) ==
        "strategy avg, clustering, reset latest, rate 2000 msg/s, bytes unlimited, burst 100 ms, "
        "topic rates orders 500 msg/s, retry default, max reconsume 16");
  GroupSettings audit;
  audit.name = "audit";
  audit.broadcast = true;
  audit.reset_policy = "earliest";
  audit.retry_policy = "1s,5s";
  audit.max_reconsume_times = 3;
  CHECK(group_settings_summary(audit) ==
        "strategy avg, broadcasting, reset earliest, rate unlimited, bytes unlimited, burst 100 ms, "
        "retry 1s,5s, max reconsume 3");
  const auto lines = lines_of(group_list_table({audit, s}));
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] ==
        "GROUP    STRATEGY  MODE          RESET_POLICY  RATE_MSGS  RATE_BYTES  BURST_MS  TOPIC_RATES       "
        "RETRY_POLICY  MAX_RECONSUME");
  CHECK(lines[1] ==
        "audit    avg       broadcasting  earliest      unlimited   unlimited       100  -                 "
        "1s,5s                     3");
  CHECK(lines[2] ==
        "billing  avg       clustering    latest             2000   unlimited       100  orders 500 msg/s  "
        "default                  16");
}

TEST_CASE("resendDlq: JSON and text, for every message and for one id") {
  CHECK(resend_dlq_json("billing", 0, 3).dump() == "{\"group\":\"billing\",\"id\":\"\",\"resent\":3}");
  CHECK(resend_dlq_json("billing", 0x1234, 1).dump() ==
        "{\"group\":\"billing\",\"id\":\"0000000000001234\",\"resent\":1}");
  CHECK(resend_dlq_text("billing", 0, 3) == "resent 3 messages of %DLQ%billing to group billing\n");
  CHECK(resend_dlq_text("billing", 0x1234, 0) ==
        "resent 0 messages (id 0000000000001234) of %DLQ%billing to group billing\n");
}

TEST_CASE("reset offsets: JSON and table") {
  std::vector<PartitionOffset> offsets = {{"orders", 0, 110}, {"orders", 1, 40}};
  CHECK(reset_offsets_json("billing", "orders", "latest", offsets).dump() ==
        "{\"group\":\"billing\",\"topic\":\"orders\",\"target\":\"latest\",\"offsets\":["
        "{\"topic\":\"orders\",\"partition\":0,\"offset\":110},{\"topic\":\"orders\",\"partition\":1,\"offset\":40}]}");
  const auto lines = lines_of(reset_offsets_text("billing", "orders", "latest", offsets));
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == "group billing, topic orders reset to latest:");
  CHECK(lines[1] == "TOPIC   PARTITION  OFFSET");
  CHECK(lines[2] == "orders          0     110");
}

}  // namespace
}  // namespace tidemq::tools
