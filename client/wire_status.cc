#include "client/wire_status.h"

namespace tidemq::client {

StatusCode status_code_from_wire(wire::ErrorCode code) {
  using W = wire::ErrorCode;
  switch (code) {
    case W::NONE: return StatusCode::kOk;
    case W::UNKNOWN: return StatusCode::kUnknown;
    case W::INVALID_ARGUMENT: return StatusCode::kInvalidArgument;
    case W::NOT_FOUND: return StatusCode::kNotFound;
    case W::TOPIC_NOT_FOUND: return StatusCode::kTopicNotFound;
    case W::TOPIC_EXISTS: return StatusCode::kTopicExists;
    case W::INVALID_PARTITION: return StatusCode::kInvalidPartition;
    case W::OFFSET_OUT_OF_RANGE: return StatusCode::kOffsetOutOfRange;
    case W::MESSAGE_TOO_LARGE: return StatusCode::kMessageTooLarge;
    case W::CORRUPT_MESSAGE: return StatusCode::kCorruptMessage;
    case W::OUT_OF_ORDER_SEQUENCE: return StatusCode::kOutOfOrderSequence;
    case W::DUPLICATE_SEQUENCE: return StatusCode::kDuplicateSequence;
    case W::STORAGE_ERROR: return StatusCode::kStorageError;
    case W::SYSTEM_BUSY: return StatusCode::kBusy;
    case W::TIMEOUT: return StatusCode::kTimeout;
    case W::SHUTTING_DOWN: return StatusCode::kShuttingDown;
    case W::UNAVAILABLE: return StatusCode::kUnavailable;
    case W::PROTOCOL_ERROR: return StatusCode::kProtocolError;
    case W::FRAME_TOO_LARGE: return StatusCode::kFrameTooLarge;
    case W::TOO_MANY_CONNECTIONS: return StatusCode::kTooManyConnections;
    case W::UNSUPPORTED: return StatusCode::kUnsupported;
    case W::INTERNAL: return StatusCode::kInternal;
    case W::UNKNOWN_MEMBER: return StatusCode::kUnknownMember;
    case W::ILLEGAL_GENERATION: return StatusCode::kIllegalGeneration;
    case W::NOT_ASSIGNED: return StatusCode::kNotAssigned;
    case W::GROUP_NOT_FOUND: return StatusCode::kGroupNotFound;
    case W::DISK_FULL: return StatusCode::kDiskFull;
    case W::TOO_MANY_HALF_MESSAGES: return StatusCode::kTooManyHalfMessages;
  }
  // A code from a newer broker that this client does not know.
  return StatusCode::kUnknown;
}

Status status_from_wire(wire::ErrorCode code, const flatbuffers::String* message) {
  StatusCode c = status_code_from_wire(code);
  if (c == StatusCode::kOk) return Status::ok();
  std::string m = message ? message->str() : std::string();
  if (c == StatusCode::kUnknown && code != wire::ErrorCode::UNKNOWN) {
    m = "wire error code " + std::to_string(static_cast<int>(code)) + (m.empty() ? "" : ": " + m);
  }
  return Status(c, std::move(m));
}

}  // namespace tidemq::client
