#pragma once
// Admin's private state, shared by admin.cc (topics, broker, messages) and group_admin.cc
// (consumer groups). Internal: not installed.
#include <memory>
#include <string>

#include "client/connection.h"
#include "tidemq/admin.h"

namespace tidemq {

struct Admin::Impl {
  std::unique_ptr<client::Connection> conn;

  // Sends a request and checks that the response has the expected body type. Errors: the
  // envelope's error, Timeout, Unavailable, ProtocolError (another body type).
  Result<client::Frame> call(flatbuffers::FlatBufferBuilder& fbb, wire::Body type, flatbuffers::Offset<void> body,
                             wire::Body expect) {
    auto r = conn->call(fbb, type, body);
    if (!r.is_ok()) return r.status();
    if (r->envelope().body_type() != expect || r->envelope().body() == nullptr) {
      return Status::protocol(std::string("expected ") + wire::EnumNameBody(expect) + ", got " +
                              wire::EnumNameBody(r->envelope().body_type()));
    }
    return r;
  }
};

}  // namespace tidemq
