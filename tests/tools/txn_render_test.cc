// mqadmin's transaction output: halfStatus, queryHalfMsg (and resumeCheckHalfMsg, endHalfMsg),
// producerConnection — tables and the JSON shapes scripts rely on (SPEC §8).
#include "tools/mqadmin/txn_render.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/support/text_lines.h"

namespace tidemq::tools {
namespace {

using test::lines_of;

HalfStatus sample_status() {
  HalfStatus s;
  s.pending = 4;
  s.parked = 1;
  s.oldest_age_ms = 65'000;
  s.groups = {{"order-pg", 3, 1, 65'000, 2}, {"sms-pg", 1, 0, 1'500, 0}};
  s.checks_histogram = {2, 1, 0, 1};
  s.checks_sent = 12;
  s.outcomes_committed = 5;
  s.outcomes_rolled_back = 2;
  return s;
}

HalfInfo sample_half() {
  HalfInfo h;
  h.txn_id = 7165309844413440001ULL;
  h.producer_group = "order-pg";
  h.state = TxnState::kPending;
  h.check_count = 3;
  h.age_ms = 12'300;
  h.next_check_in_ms = 17'700;
  Message m;
  m.topic = "orders";
  m.partition = 2;
  m.id = 7165309844413440001ULL;
  m.key = "o-17";
  m.tags = "TagA";
  m.properties = {{"order", "o-17"}};
  m.body = "pay\n17";
  h.message = m;
  return h;
}

TEST_CASE("halfStatus JSON: the SPEC keys first, then groups, histogram and counters") {
  CHECK(half_status_json(sample_status()).dump() ==
        "{\"pending\":4,\"parked\":1,\"oldest_age_ms\":65000,\"groups\":["
        "{\"producer_group\":\"order-pg\",\"pending\":3,\"parked\":1,\"oldest_age_ms\":65000,\"live_producers\":2},"
        "{\"producer_group\":\"sms-pg\",\"pending\":1,\"parked\":0,\"oldest_age_ms\":1500,\"live_producers\":0}],"
        "\"checks_histogram\":[2,1,0,1],\"checks_sent\":12,\"outcomes_committed\":5,\"outcomes_rolled_back\":2}");
  CHECK(half_status_json(HalfStatus{}).dump() ==
        "{\"pending\":0,\"parked\":0,\"oldest_age_ms\":0,\"groups\":[],\"checks_histogram\":[],\"checks_sent\":0,"
        "\"outcomes_committed\":0,\"outcomes_rolled_back\":0}");
}

TEST_CASE("halfStatus text: totals, a table per group, the non-empty histogram buckets (last one N+)") {
  const auto lines = lines_of(half_status_text(sample_status()));
  const std::vector<std::string> want = {
      "pending:      4",
      "parked:       1",
      "oldest_age:   1m 5s",
      "checks_sent:  12",
      "committed:    5",
      "rolled_back:  2",
      "",
      "PRODUCER_GROUP  PENDING  PARKED  OLDEST_AGE  LIVE_PRODUCERS",
      "order-pg              3       1  1m 5s                    2",
      "sms-pg                1       0  1.5s                     0",
      "",
      "CHECKS  HALF_MESSAGES",
      "0                   2",
      "1                   1",
      "3+                  1",
  };
  CHECK(lines == want);
}

TEST_CASE("halfStatus text without half-messages says so; a group with none shows '-' for its age") {
  const auto empty = lines_of(half_status_text(HalfStatus{}));
  REQUIRE(empty.size() == 7);
  CHECK(empty[2] == "oldest_age:   -");
  CHECK(empty[6] == "no half-messages");
  HalfStatus idle;
  idle.groups = {{"order-pg", 0, 0, 0, 1}};
  idle.checks_histogram = {0, 0};
  const auto lines = lines_of(half_status_text(idle));
  REQUIRE(lines.size() == 9);
  CHECK(lines[8] == "order-pg              0       0  -                        1");
}

TEST_CASE("queryHalfMsg JSON: the transaction, and its message (null once resolved)") {
  CHECK(half_info_json(sample_half()).dump() ==
        "{\"txn_id\":7165309844413440001,\"producer_group\":\"order-pg\",\"state\":\"pending\",\"check_count\":3,"
        "\"age_ms\":12300,\"next_check_in_ms\":17700,\"offset\":0,\"message\":"
        "{\"id\":\"63704b570ddf6001\",\"topic\":\"orders\",\"partition\":2,\"offset\":0,\"key\":\"o-17\","
        "\"tags\":\"TagA\",\"properties\":{\"order\":\"o-17\"},\"body\":\"pay\\n17\",\"body_bytes\":6,"
        "\"born_ms\":0,\"store_ms\":0,\"reconsume_times\":0}}");
  HalfInfo committed;
  committed.txn_id = 42;
  committed.producer_group = "order-pg";
  committed.state = TxnState::kCommitted;
  committed.check_count = 1;
  committed.age_ms = 7000;
  committed.offset = 1234;
  CHECK(half_info_json(committed).dump() ==
        "{\"txn_id\":42,\"producer_group\":\"order-pg\",\"state\":\"committed\",\"check_count\":1,\"age_ms\":7000,"
        "\"next_check_in_ms\":0,\"offset\":1234,\"message\":null}");
}

TEST_CASE("queryHalfMsg text: transaction fields, then the half-message's (no offset: it has none yet)") {
  const auto lines = lines_of(half_info_text(sample_half()));
  const std::vector<std::string> want = {
      "txn_id:          7165309844413440001",
      "producer_group:  order-pg",
      "state:           pending",
      "check_count:     3",
      "age:             12.3s",
      "next_check:      in 17.7s",
      "message_id:      63704b570ddf6001",
      "topic:           orders",
      "partition:       2",
      "key:             o-17",
      "tags:            TagA",
      "properties:      order=o-17",
      "born:            -",
      "stored:          -",
      "body_bytes:      6",
      "body:            pay\\n17",
  };
  CHECK(lines == want);
}

TEST_CASE("queryHalfMsg text: overdue, parked and committed transactions") {
  HalfInfo h = sample_half();
  h.next_check_in_ms = -1'200;
  CHECK(format_next_check(h) == "overdue by 1.2s");
  h.state = TxnState::kParked;
  CHECK(format_next_check(h) == "-");
  h.state = TxnState::kCommitted;
  h.message.reset();
  h.offset = 1234;
  const auto lines = lines_of(half_info_text(h));
  const std::vector<std::string> want = {
      "txn_id:          7165309844413440001",
      "producer_group:  order-pg",
      "state:           committed",
      "offset:          1234",
      "check_count:     3",
      "age:             12.3s",
      "next_check:      -",
  };
  CHECK(lines == want);
}

TEST_CASE("producerConnection: fields and table, JSON; a group without producers says so") {
  std::vector<ProducerConnection> producers = {{"svc-a", "127.0.0.1:5000", 0, 17}, {"svc-b", "10.0.0.2:6000", 0, 1018}};
  const auto lines = lines_of(producer_connection_text("order-pg", producers));
  const std::vector<std::string> want = {
      "producer_group:  order-pg",
      "producers:       2",
      "",
      "CLIENT_ID  ADDRESS         SESSION_ID  CONNECTED",
      "svc-a      127.0.0.1:5000          17  -",
      "svc-b      10.0.0.2:6000         1018  -",
  };
  CHECK(lines == want);
  producers[0].connected_ms = 1'700'000'000'123;
  CHECK(producer_connection_json("order-pg", producers).dump() ==
        "{\"producer_group\":\"order-pg\",\"producers\":["
        "{\"client_id\":\"svc-a\",\"address\":\"127.0.0.1:5000\",\"connected_ms\":1700000000123,\"session_id\":17},"
        "{\"client_id\":\"svc-b\",\"address\":\"10.0.0.2:6000\",\"connected_ms\":0,\"session_id\":1018}]}");
  const auto empty = lines_of(producer_connection_text("sms-pg", {}));
  REQUIRE(empty.size() == 3);
  CHECK(empty[1] == "producers:       0");
  CHECK(empty[2] == "no producers online");
  CHECK(producer_connection_json("sms-pg", {}).dump() == "{\"producer_group\":\"sms-pg\",\"producers\":[]}");
}

}  // namespace
}  // namespace tidemq::tools
