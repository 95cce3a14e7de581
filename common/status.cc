#include "common/status.h"

namespace tidemq {

std::string_view status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kUnknown: return "UNKNOWN";
    case StatusCode::kInvalidArgument: return "INVALID_ARGUMENT";
    case StatusCode::kNotFound: return "NOT_FOUND";
    case StatusCode::kTopicNotFound: return "TOPIC_NOT_FOUND";
    case StatusCode::kTopicExists: return "TOPIC_EXISTS";
    case StatusCode::kInvalidPartition: return "INVALID_PARTITION";
    case StatusCode::kOffsetOutOfRange: return "OFFSET_OUT_OF_RANGE";
    case StatusCode::kMessageTooLarge: return "MESSAGE_TOO_LARGE";
    case StatusCode::kCorruptMessage: return "CORRUPT_MESSAGE";
    case StatusCode::kOutOfOrderSequence: return "OUT_OF_ORDER_SEQUENCE";
    case StatusCode::kDuplicateSequence: return "DUPLICATE_SEQUENCE";
    case StatusCode::kStorageError: return "STORAGE_ERROR";
    case StatusCode::kBusy: return "SYSTEM_BUSY";
    case StatusCode::kTimeout: return "TIMEOUT";
    case StatusCode::kShuttingDown: return "SHUTTING_DOWN";
    case StatusCode::kUnavailable: return "UNAVAILABLE";
    case StatusCode::kProtocolError: return "PROTOCOL_ERROR";
    case StatusCode::kFrameTooLarge: return "FRAME_TOO_LARGE";
    case StatusCode::kTooManyConnections: return "TOO_MANY_CONNECTIONS";
    case StatusCode::kUnsupported: return "UNSUPPORTED";
    case StatusCode::kInternal: return "INTERNAL";
    case StatusCode::kUnknownMember: return "UNKNOWN_MEMBER";
    case StatusCode::kIllegalGeneration: return "ILLEGAL_GENERATION";
    case StatusCode::kNotAssigned: return "NOT_ASSIGNED";
    case StatusCode::kGroupNotFound: return "GROUP_NOT_FOUND";
    case StatusCode::kDiskFull: return "DISK_FULL";
    case StatusCode::kTooManyHalfMessages: return "TOO_MANY_HALF_MESSAGES";
  }
  return "UNKNOWN";
}

std::string Status::to_string() const {
  std::string out(status_code_name(code_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

bool Status::retriable() const {
  switch (code_) {
    case StatusCode::kBusy:
    case StatusCode::kTimeout:
    case StatusCode::kUnavailable:
    case StatusCode::kShuttingDown:
    case StatusCode::kOutOfOrderSequence:
      return true;
    default:
      return false;
  }
}

}  // namespace tidemq
