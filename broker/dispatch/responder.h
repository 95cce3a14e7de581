#pragma once
// Sends the one response of a request back on its session, from any thread.
#include <cstdint>
#include <memory>

#include <flatbuffers/flatbuffers.h>

#include "broker/net/session.h"
#include "common/status.h"
#include "schemas/envelope_generated.h"

namespace tidemq::broker {

class Responder {
 public:
  Responder(std::shared_ptr<Session> session, uint64_t correlation_id)
      : session_(std::move(session)), correlation_id_(correlation_id) {}

  // Wraps `body` (built in `fbb`) in an Envelope with the request's correlation id and queues it.
  void reply(flatbuffers::FlatBufferBuilder& fbb, wire::Body type, flatbuffers::Offset<void> body) const;
  // Replies with an envelope-level error and no body. TOO_MANY_HALF_MESSAGES also mutes the
  // connection for kLimitMuteMs (Session::mute_for).
  void fail(const Status& status) const;
  static constexpr int64_t kLimitMuteMs = 100;

  Session& session() const { return *session_; }
  const std::shared_ptr<Session>& session_ptr() const { return session_; }
  uint64_t correlation_id() const { return correlation_id_; }

  // Finishes an envelope in `fbb`; the session adds the frame header when it writes it.
  static flatbuffers::DetachedBuffer finish_frame(flatbuffers::FlatBufferBuilder& fbb,
                                                  flatbuffers::Offset<wire::Envelope> envelope);

 private:
  std::shared_ptr<Session> session_;
  uint64_t correlation_id_;
};

}  // namespace tidemq::broker
