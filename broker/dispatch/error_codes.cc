#include "broker/dispatch/error_codes.h"

namespace tidemq::broker {

// No default: a new StatusCode makes the compiler point here.
wire::ErrorCode to_wire(StatusCode code) {
  using W = wire::ErrorCode;
  switch (code) {
    case StatusCode::kOk: return W::NONE;
    case StatusCode::kUnknown: return W::UNKNOWN;
    case StatusCode::kInvalidArgument: return W::INVALID_ARGUMENT;
    case StatusCode::kNotFound: return W::NOT_FOUND;
    case StatusCode::kTopicNotFound: return W::TOPIC_NOT_FOUND;
    case StatusCode::kTopicExists: return W::TOPIC_EXISTS;
    case StatusCode::kInvalidPartition: return W::INVALID_PARTITION;
    case StatusCode::kOffsetOutOfRange: return W::OFFSET_OUT_OF_RANGE;
    case StatusCode::kMessageTooLarge: return W::MESSAGE_TOO_LARGE;
    case StatusCode::kCorruptMessage: return W::CORRUPT_MESSAGE;
    case StatusCode::kOutOfOrderSequence: return W::OUT_OF_ORDER_SEQUENCE;
    case StatusCode::kDuplicateSequence: return W::DUPLICATE_SEQUENCE;
    case StatusCode::kStorageError: return W::STORAGE_ERROR;
    case StatusCode::kBusy: return W::SYSTEM_BUSY;
    case StatusCode::kTimeout: return W::TIMEOUT;
    case StatusCode::kShuttingDown: return W::SHUTTING_DOWN;
    case StatusCode::kUnavailable: return W::UNAVAILABLE;
    case StatusCode::kProtocolError: return W::PROTOCOL_ERROR;
    case StatusCode::kFrameTooLarge: return W::FRAME_TOO_LARGE;
    case StatusCode::kTooManyConnections: return W::TOO_MANY_CONNECTIONS;
    case StatusCode::kUnsupported: return W::UNSUPPORTED;
    case StatusCode::kInternal: return W::INTERNAL;
    case StatusCode::kUnknownMember: return W::UNKNOWN_MEMBER;
    case StatusCode::kIllegalGeneration: return W::ILLEGAL_GENERATION;
    case StatusCode::kNotAssigned: return W::NOT_ASSIGNED;
    case StatusCode::kGroupNotFound: return W::GROUP_NOT_FOUND;
    case StatusCode::kDiskFull: return W::DISK_FULL;
    case StatusCode::kTooManyHalfMessages: return W::TOO_MANY_HALF_MESSAGES;
  }
  return W::INTERNAL;
}

}  // namespace tidemq::broker
