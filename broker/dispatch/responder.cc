#include "broker/dispatch/responder.h"

#include "broker/dispatch/error_codes.h"
#include "common/coding.h"
#include "common/framing.h"

namespace tidemq::broker {

flatbuffers::DetachedBuffer Responder::finish_frame(flatbuffers::FlatBufferBuilder& fbb,
                                                    flatbuffers::Offset<wire::Envelope> envelope) {
  // FinishSizePrefixed reserves a 4-byte little-endian prefix right before the root; we rewrite
  // it as the big-endian frame header (common/framing.h), so the frame needs no extra copy.
  fbb.FinishSizePrefixed(envelope);
  uint8_t* p = fbb.GetBufferPointer();
  framing::encode_header(reinterpret_cast<char*>(p), static_cast<uint32_t>(fbb.GetSize() - framing::kHeaderBytes));
  return fbb.Release();
}

void Responder::reply(flatbuffers::FlatBufferBuilder& fbb, wire::Body type,
                      flatbuffers::Offset<void> body) const {
  auto env = wire::CreateEnvelope(fbb, correlation_id_, type, body);
  session_->send(finish_frame(fbb, env));
}

void Responder::fail(const Status& status) const {
  flatbuffers::FlatBufferBuilder fbb(128 + status.message().size());
  auto msg = fbb.CreateString(status.message());
  auto env = wire::CreateEnvelope(fbb, correlation_id_, wire::Body::NONE, 0, to_wire(status.code()), msg);
  session_->send(finish_frame(fbb, env));
}

}  // namespace tidemq::broker
