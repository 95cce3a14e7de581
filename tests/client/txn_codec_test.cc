// Transaction admin types <-> wire (client/txn_codec) and the enum names of tidemq/txn_types.h,
// without a broker.
#include "client/txn_codec.h"

#include <doctest/doctest.h>

#include <limits>

#include "tests/support/wire_root.h"

namespace tidemq::client {
namespace {

using test::finish;

constexpr TxnAction kActions[] = {TxnAction::kCommit, TxnAction::kRollback, TxnAction::kUnknown};
constexpr TxnState kStates[] = {TxnState::kPending, TxnState::kParked, TxnState::kCommitted, TxnState::kRolledBack};

TEST_CASE("TxnAction and TxnState: names parse back, the wire round trip keeps every value") {
  for (TxnAction a : kActions) {
    INFO(txn_action_name(a));
    auto parsed = parse_txn_action(txn_action_name(a));
    REQUIRE(parsed.is_ok());
    CHECK(*parsed == a);
    CHECK(txn_action_from_wire(txn_action_to_wire(a)) == a);
  }
  for (TxnState s : kStates) {
    INFO(txn_state_name(s));
    auto parsed = parse_txn_state(txn_state_name(s));
    REQUIRE(parsed.is_ok());
    CHECK(*parsed == s);
    CHECK(txn_state_from_wire(txn_state_to_wire(s)) == s);
  }
  CHECK(txn_action_name(TxnAction::kRollback) == "rollback");
  CHECK(txn_state_name(TxnState::kRolledBack) == "rolled_back");
  CHECK(txn_action_to_wire(TxnAction::kCommit) == wire::TxnAction::COMMIT);
  CHECK(txn_state_to_wire(TxnState::kParked) == wire::TxnState::PARKED);
  CHECK(parse_txn_action("COMMIT").status().code() == StatusCode::kInvalidArgument);
  CHECK(parse_txn_state("rolledback").status().code() == StatusCode::kInvalidArgument);
  // Values from a newer peer: an action that changes nothing, a state not known to be resolved.
  CHECK(txn_action_from_wire(static_cast<wire::TxnAction>(9)) == TxnAction::kUnknown);
  CHECK(txn_state_from_wire(static_cast<wire::TxnState>(9)) == TxnState::kPending);
}

TEST_CASE("HalfStatusResponse becomes a HalfStatus: totals, groups, histogram, counters") {
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<wire::HalfGroupStatus>> groups = {
      wire::CreateHalfGroupStatusDirect(fbb, "order-pg", 3, 1, 65'000, 2),
      wire::CreateHalfGroupStatusDirect(fbb, "sms-pg", 1, 0, 1'500, 0)};
  std::vector<uint64_t> histogram = {2, 1, 0, 1};
  const uint64_t big = std::numeric_limits<uint64_t>::max();
  const auto* resp =
      finish(fbb, wire::CreateHalfStatusResponseDirect(fbb, 4, 1, 65'000, &groups, &histogram, big, 5, 2));
  const HalfStatus s = half_status_from_wire(*resp);
  CHECK(s.pending == 4);
  CHECK(s.parked == 1);
  CHECK(s.oldest_age_ms == 65'000);
  REQUIRE(s.groups.size() == 2);
  CHECK(s.groups[0].producer_group == "order-pg");
  CHECK(s.groups[0].pending == 3);
  CHECK(s.groups[0].parked == 1);
  CHECK(s.groups[0].oldest_age_ms == 65'000);
  CHECK(s.groups[0].live_producers == 2);
  CHECK(s.groups[1].producer_group == "sms-pg");
  CHECK(s.groups[1].live_producers == 0);
  CHECK(s.checks_histogram == std::vector<uint64_t>{2, 1, 0, 1});
  CHECK(s.checks_sent == big);
  CHECK(s.outcomes_committed == 5);
  CHECK(s.outcomes_rolled_back == 2);

  flatbuffers::FlatBufferBuilder bare;
  const HalfStatus empty = half_status_from_wire(*finish(bare, wire::CreateHalfStatusResponse(bare)));
  CHECK(empty.pending == 0);
  CHECK(empty.groups.empty());
  CHECK(empty.checks_histogram.empty());
  CHECK(empty.checks_sent == 0);
}

TEST_CASE("HalfInfo with its half-message: every field, the message decoded") {
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<wire::KeyValue>> props = {wire::CreateKeyValueDirect(fbb, "order", "o-17")};
  std::vector<uint8_t> body = {'p', 'a', 'y', 0, 0xff};
  auto message = wire::CreateMessageViewDirect(fbb, "orders", 2, 0, 7165309844413440001ULL, "o-17", "TagA", &props,
                                               &body, 1'700'000'000'000, 1'700'000'000'005);
  const auto* half = finish(fbb, wire::CreateHalfInfoDirect(fbb, 7165309844413440001ULL, "order-pg",
                                                            wire::TxnState::PENDING, 3, 12'300, -1'200, message));
  const HalfInfo h = half_info_from_wire(*half);
  CHECK(h.txn_id == 7165309844413440001ULL);
  CHECK(h.producer_group == "order-pg");
  CHECK(h.state == TxnState::kPending);
  CHECK(h.check_count == 3);
  CHECK(h.age_ms == 12'300);
  CHECK(h.next_check_in_ms == -1'200);
  CHECK(h.offset == 0);
  REQUIRE(h.message.has_value());
  CHECK(h.message->topic == "orders");
  CHECK(h.message->partition == 2);
  CHECK(h.message->id == 7165309844413440001ULL);
  CHECK(h.message->key == "o-17");
  CHECK(h.message->tags == "TagA");
  REQUIRE(h.message->properties.size() == 1);
  CHECK(h.message->properties[0] == std::make_pair(std::string("order"), std::string("o-17")));
  CHECK(h.message->body == std::string("pay\0\xff", 5));
  CHECK(h.message->born_ms == 1'700'000'000'000);
  CHECK(h.message->store_ms == 1'700'000'000'005);
}

TEST_CASE("HalfInfo once resolved: no message, the committed offset, every state") {
  for (TxnState s : kStates) {
    flatbuffers::FlatBufferBuilder fbb;
    const auto* half = finish(fbb, wire::CreateHalfInfoDirect(fbb, 42, "order-pg", txn_state_to_wire(s), 15, 90'000,
                                                              0, 0, s == TxnState::kCommitted ? 1234 : 0));
    const HalfInfo h = half_info_from_wire(*half);
    INFO(txn_state_name(s));
    CHECK(h.state == s);
    CHECK(h.check_count == 15);
    CHECK(!h.message.has_value());
    CHECK(h.offset == (s == TxnState::kCommitted ? 1234u : 0u));
  }
}

TEST_CASE("ProducerConnectionResponse lists the live producers; none is an empty list") {
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<wire::ProducerInfo>> producers = {
      wire::CreateProducerInfoDirect(fbb, "svc-a", "127.0.0.1:5000", 1'700'000'000'123, 17),
      wire::CreateProducerInfoDirect(fbb, "svc-b", "10.0.0.2:6000", 0, 18)};
  const auto* resp = finish(fbb, wire::CreateProducerConnectionResponseDirect(fbb, &producers));
  const auto list = producer_connections_from_wire(*resp);
  REQUIRE(list.size() == 2);
  CHECK(list[0].client_id == "svc-a");
  CHECK(list[0].address == "127.0.0.1:5000");
  CHECK(list[0].connected_ms == 1'700'000'000'123);
  CHECK(list[0].session_id == 17);
  CHECK(list[1].client_id == "svc-b");
  CHECK(list[1].session_id == 18);

  flatbuffers::FlatBufferBuilder bare;
  CHECK(producer_connections_from_wire(*finish(bare, wire::CreateProducerConnectionResponse(bare))).empty());
}

}  // namespace
}  // namespace tidemq::client
