#include "tidemq/log.h"

#include "common/logging.h"

namespace tidemq {

Status set_client_log_level(std::string_view level) { return logging::init(level); }

}  // namespace tidemq
