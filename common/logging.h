#pragma once
// Logging setup: spdlog to stderr. Each subsystem asks for its own named logger.
#include <memory>
#include <string_view>

#include <spdlog/spdlog.h>

#include "common/status.h"

namespace tidemq::logging {

// Sets the default level for all loggers ("trace", "debug", "info", "warn", "error", "off").
Status init(std::string_view level);
// The logger of one subsystem ("net", "store", ...), created on first use; logs to stderr.
std::shared_ptr<spdlog::logger> get(const std::string& name);

}  // namespace tidemq::logging
