#include "client/wire_status.h"

#include <doctest/doctest.h>

#include <set>
#include <string>

namespace tidemq::client {
namespace {

TEST_CASE("every wire error code maps to the status code of the same name") {
  std::set<StatusCode> seen;
  for (wire::ErrorCode code : wire::EnumValuesErrorCode()) {
    StatusCode sc = status_code_from_wire(code);
    std::string wire_name = wire::EnumNameErrorCode(code);
    INFO("wire code " << wire_name);
    if (code == wire::ErrorCode::NONE) {
      CHECK(sc == StatusCode::kOk);
    } else {
      CHECK(std::string(status_code_name(sc)) == wire_name);
    }
    CHECK(seen.insert(sc).second);  // one-to-one
  }
  // Every StatusCode is reachable from the wire: kOk .. kTooManyHalfMessages.
  CHECK(seen.size() == static_cast<size_t>(StatusCode::kTooManyHalfMessages) + 1);
}

TEST_CASE("status_from_wire keeps the message and is ok for NONE") {
  flatbuffers::FlatBufferBuilder fbb;
  auto s = fbb.CreateString("no topic 'x'");
  fbb.Finish(s);
  auto* msg = flatbuffers::GetRoot<flatbuffers::String>(fbb.GetBufferPointer());
  CHECK(status_from_wire(wire::ErrorCode::NONE, msg).is_ok());
  Status st = status_from_wire(wire::ErrorCode::TOPIC_NOT_FOUND, msg);
  CHECK(st.code() == StatusCode::kTopicNotFound);
  CHECK(st.message() == "no topic 'x'");
  CHECK(status_from_wire(wire::ErrorCode::SYSTEM_BUSY, nullptr).retriable());
  CHECK(status_from_wire(wire::ErrorCode::OUT_OF_ORDER_SEQUENCE, nullptr).retriable());
  CHECK(!status_from_wire(wire::ErrorCode::MESSAGE_TOO_LARGE, nullptr).retriable());
}

TEST_CASE("a code from a newer broker becomes UNKNOWN with the number") {
  Status st = status_from_wire(static_cast<wire::ErrorCode>(999), nullptr);
  CHECK(st.code() == StatusCode::kUnknown);
  CHECK(st.message().find("999") != std::string::npos);
}

}  // namespace
}  // namespace tidemq::client
