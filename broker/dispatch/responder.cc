#include "broker/dispatch/responder.h"

#include "broker/dispatch/error_codes.h"

namespace tidemq::broker {

flatbuffers::DetachedBuffer Responder::finish_frame(flatbuffers::FlatBufferBuilder& fbb,
                                                    flatbuffers::Offset<wire::Envelope> envelope) {
  fbb.Finish(envelope);
  return fbb.Release();
}

void Responder::reply(flatbuffers::FlatBufferBuilder& fbb, wire::Body type,
                      flatbuffers::Offset<void> body) const {
  auto env = wire::CreateEnvelope(fbb, correlation_id_, type, body);
  session_->send(finish_frame(fbb, env));
}

void Responder::fail(const Status& status) const {
  // A limit refusal mutes the connection for a while (Session::mute_for): retrying at once gets
  // the same answer, and a flood of them would take the io threads from everyone else (T7).
  if (status.code() == StatusCode::kTooManyHalfMessages) session_->mute_for(kLimitMuteMs);
  flatbuffers::FlatBufferBuilder fbb(128 + status.message().size());
  auto msg = fbb.CreateString(status.message());
  auto env = wire::CreateEnvelope(fbb, correlation_id_, wire::Body::NONE, 0, to_wire(status.code()), msg);
  session_->send(finish_frame(fbb, env));
}

}  // namespace tidemq::broker
