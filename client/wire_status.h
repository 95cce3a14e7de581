#pragma once
// The client's one translation point between wire error codes and tidemq::Status.
#include "common/status.h"
#include "schemas/common_generated.h"

namespace tidemq::client {

// Maps a wire code to our status code (NONE -> kOk). One switch, no default.
StatusCode status_code_from_wire(wire::ErrorCode code);

// A Status for `code` with `message` (ok when code is NONE). `message` may be null.
Status status_from_wire(wire::ErrorCode code, const flatbuffers::String* message);

}  // namespace tidemq::client
