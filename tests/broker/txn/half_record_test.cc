// Value layouts of the transaction keyspaces: round trips, and garbage rejected as a storage
// error naming the transaction.
#include "broker/txn/half_record.h"

#include <doctest/doctest.h>

#include "tests/broker/txn/txn_fixture.h"

using namespace tidemq;
using namespace tidemq::broker::txn;
using tidemq::test::half_batch;

namespace {

HalfRecord sample_half() {
  HalfRecord h;
  h.producer_group = "order-pg";
  h.topic_id = 3;
  h.partition = 2;
  h.received_unix_ms = 1'767'225'600'123;
  h.age_base_unix_ms = 1'767'225'700'000;
  h.check_count = 4;
  h.next_check_unix_ms = 1'767'225'630'123;
  h.parked = true;
  h.immunity_ms = 20'000;
  h.batch = half_batch(0xabc);
  return h;
}

}  // namespace

TEST_CASE("half record round trip") {
  const HalfRecord h = sample_half();
  auto d = HalfRecord::decode(0xabc, h.encode());
  REQUIRE_MESSAGE(d.is_ok(), d.status().to_string());
  CHECK(d->producer_group == h.producer_group);
  CHECK(d->topic_id == 3);
  CHECK(d->partition == 2);
  CHECK(d->received_unix_ms == h.received_unix_ms);
  CHECK(d->age_base_unix_ms == h.age_base_unix_ms);
  CHECK(d->check_count == 4);
  CHECK(d->next_check_unix_ms == h.next_check_unix_ms);
  CHECK(d->parked);
  CHECK(d->immunity_ms == 20'000);
  CHECK(d->batch == h.batch);
}

TEST_CASE("half record decode rejects every truncation, trailing bytes and bad fields") {
  const std::string v = sample_half().encode();
  for (size_t n = 0; n < v.size(); ++n) {
    auto d = HalfRecord::decode(0xabc, v.substr(0, n));
    REQUIRE_FALSE(d.is_ok());
    CHECK(d.status().code() == StatusCode::kStorageError);
    CHECK(d.status().message().find("0000000000000abc") != std::string::npos);
  }
  CHECK_FALSE(HalfRecord::decode(0xabc, v + "x").is_ok());
  std::string version = v;
  version[0] = 2;
  CHECK(HalfRecord::decode(0xabc, version).status().message().find("unknown version 2") != std::string::npos);
  // The parked flag is the byte before immunity (4) + batch length (4) + batch.
  std::string parked = v;
  parked[v.size() - sample_half().batch.size() - 9] = 7;
  CHECK(HalfRecord::decode(0xabc, parked).status().message().find("parked flag 7") != std::string::npos);
  // A record whose batch belongs to another transaction is not served as this one.
  CHECK(HalfRecord::decode(0xabd, v).status().message().find("id is 0000000000000abc") != std::string::npos);
  // A corrupted batch inside a well-formed value.
  std::string bad_batch = v;
  bad_batch[v.size() - sample_half().batch.size()] ^= 0x55;  // the batch magic
  CHECK(HalfRecord::decode(0xabc, bad_batch).status().code() == StatusCode::kStorageError);
}

TEST_CASE("outcome record round trip and rejection") {
  OutcomeRecord o;
  o.state = TxnState::kRolledBack;
  o.source = Source::kCheck;
  o.producer_group = "pg";
  o.topic_id = 1;
  o.partition = 7;
  o.offset = 12345;
  o.resolved_unix_ms = 99;
  o.received_unix_ms = 90;
  o.check_count = 2;
  const std::string v = o.encode();
  auto d = OutcomeRecord::decode(5, v);
  REQUIRE(d.is_ok());
  CHECK(d->state == TxnState::kRolledBack);
  CHECK(d->source == Source::kCheck);
  CHECK(d->producer_group == "pg");
  CHECK(d->partition == 7);
  CHECK(d->offset == 12345);
  CHECK(d->resolved_unix_ms == 99);
  CHECK(d->received_unix_ms == 90);
  CHECK(d->check_count == 2);
  for (size_t n = 0; n < v.size(); ++n) CHECK(OutcomeRecord::decode(5, v.substr(0, n)).status().code() == StatusCode::kStorageError);
  CHECK_FALSE(OutcomeRecord::decode(5, v + "x").is_ok());
  std::string pending = v;
  pending[1] = static_cast<char>(TxnState::kPending);  // an outcome is committed or rolled back
  CHECK_FALSE(OutcomeRecord::decode(5, pending).is_ok());
  std::string source = v;
  source[2] = 9;
  CHECK_FALSE(OutcomeRecord::decode(5, source).is_ok());
}

TEST_CASE("txn_id_of: exactly one record with a non-zero id") {
  CHECK(txn_id_of(half_batch(77)).value() == 77);
  CHECK(txn_id_of(test::make_batch(2)).status().code() == StatusCode::kInvalidArgument);
  CHECK(txn_id_of("garbage").status().code() == StatusCode::kInvalidArgument);
  std::string truncated = half_batch(77);
  truncated.pop_back();
  CHECK_FALSE(txn_id_of(truncated).is_ok());
}
