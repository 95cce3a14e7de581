#pragma once
// Reads everything stored in a topic through the public client: polls until every partition's
// position reaches the end offset the broker reported first. A quiet poll is not taken as the
// end (on a loaded machine one can come back empty early). Header-only: the caller links the
// client library.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tidemq/admin.h"
#include "tidemq/reader.h"

namespace tidemq::test {

inline std::vector<Message> read_all(const ClientOptions& options, const std::string& topic,
                                     std::chrono::seconds limit = std::chrono::seconds(60)) {
  auto admin = Admin::create(options);
  REQUIRE_MESSAGE(admin.is_ok(), admin.status().to_string());
  auto status = (*admin)->topic_status(topic);
  REQUIRE_MESSAGE(status.is_ok(), status.status().to_string());
  auto reader = PartitionReader::create(options, topic);
  REQUIRE_MESSAGE(reader.is_ok(), reader.status().to_string());
  REQUIRE((*reader)->assign_all_from_start().is_ok());
  auto done = [&] {
    auto pos = (*reader)->positions();
    for (const auto& p : status->partitions) {
      if (pos[p.partition] < p.end_offset) return false;
    }
    return true;
  };
  std::vector<Message> out;
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, "topic not read to its end in time");
    auto batch = (*reader)->poll(std::chrono::milliseconds(1000));
    REQUIRE_MESSAGE(batch.is_ok(), batch.status().to_string());
    for (auto& m : *batch) out.push_back(std::move(m));
  }
  return out;
}

}  // namespace tidemq::test
