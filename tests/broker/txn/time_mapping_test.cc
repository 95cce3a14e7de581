#include "broker/txn/time_mapping.h"

#include <doctest/doctest.h>

using namespace tidemq::broker::txn;

TEST_CASE("past instants keep their age; a future one (wall clock stepped back) has age 0") {
  const TimeBase t{1'000'000, 50};
  CHECK(past_to_mono(t, 999'000) == 50 - 1000);
  CHECK(past_to_mono(t, 1'000'000) == 50);
  CHECK(past_to_mono(t, 1'005'000) == 50);
}

TEST_CASE("due times: never earlier than persisted, never later than max_ahead") {
  const TimeBase t{1'000'000, 50};
  CHECK(due_to_mono(t, 1'000'700, 30'000) == 750);        // as persisted
  CHECK(due_to_mono(t, 990'000, 30'000) == 50);           // overdue: due now
  CHECK(due_to_mono(t, 1'000'000 + 86'400'000, 30'000) == 30'050);  // clamped
  CHECK(mono_to_unix(t, 750) == 1'000'700);
}
