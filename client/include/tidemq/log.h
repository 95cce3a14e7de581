#pragma once
// The client library logs (reconnects, retries, dropped frames) to stderr through its own logger.
#include <string_view>

#include "common/status.h"

namespace tidemq {

// Sets the library's log level: "trace", "debug", "info", "warn" (default), "error" or "off".
// InvalidArgument for another word. Thread-safe; applies to existing and future clients.
Status set_client_log_level(std::string_view level);

}  // namespace tidemq
