#pragma once
// Asks the broker for a topic's status (partition count, offsets): TopicStatusRequest.
#include <chrono>
#include <string>

#include "client/connection.h"
#include "tidemq/admin.h"

namespace tidemq::client {

// Errors: TopicNotFound, Timeout, Unavailable, ProtocolError.
Result<TopicStatus> request_topic_status(Connection& conn, const std::string& topic);

}  // namespace tidemq::client
