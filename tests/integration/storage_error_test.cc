// A failed fsync is sticky: the broker stops acknowledging produces, says why (in the error and
// in brokerStatus), and reads keep working.
#include <doctest/doctest.h>

#include "tests/integration/in_process_broker.h"
#include "tests/support/fault_env.h"
#include "tidemq/admin.h"
#include "tidemq/producer.h"
#include "tidemq/reader.h"

using namespace tidemq;

TEST_CASE("an fsync failure stops acknowledgements for good and is reported") {
  test::FaultEnv env;
  env.set_fail_sync(true);
  test::InProcessBroker broker({}, &env);
  auto admin = Admin::create(broker.client_options());
  REQUIRE(admin.is_ok());
  REQUIRE((*admin)->update_topic({"t", 1, -1, -1}).is_ok());
  ProducerOptions po;
  po.client = broker.client_options();
  po.retries = 0;
  auto producer = Producer::create(po);
  REQUIRE(producer.is_ok());
  Message m;
  m.topic = "t";
  m.body = "before";
  REQUIRE((*producer)->send(m).is_ok());

  env.arm();
  m.body = "during";
  auto failed = (*producer)->send(m);
  REQUIRE_FALSE(failed.is_ok());
  CHECK(failed.status().code() == StatusCode::kStorageError);

  env.disarm();  // the disk is fine again, but what failed might not be on disk: still refused
  m.body = "after";
  auto still = (*producer)->send(m);
  REQUIRE_FALSE(still.is_ok());
  CHECK(still.status().code() == StatusCode::kStorageError);

  auto status = (*admin)->broker_status();
  REQUIRE(status.is_ok());
  CHECK_FALSE(status->storage_error.empty());

  auto reader = PartitionReader::create(broker.client_options(), "t");
  REQUIRE(reader.is_ok());
  auto f = (*reader)->fetch(0, 0);
  REQUIRE(f.is_ok());
  REQUIRE(f->messages.size() == 1);
  CHECK(f->messages[0].body == "before");
}
