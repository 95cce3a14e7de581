#pragma once
// The one mapping from internal status codes to wire error codes (STYLE habit 4).
#include "common/status.h"
#include "schemas/common_generated.h"

namespace tidemq::broker {

wire::ErrorCode to_wire(StatusCode code);

}  // namespace tidemq::broker
