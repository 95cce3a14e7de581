#pragma once
// Status and Result<T>: expected failures are values (STYLE habit 1).
// A Status is cheap when ok (no allocation). Result<T> holds either a T or a non-ok Status.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "common/check.h"

namespace tidemq {

// Keep in sync with schemas/common.fbs ErrorCode: the one mapping lives in
// broker/dispatch/error_codes.cc (and client/wire_status.cc for the reverse direction).
enum class StatusCode : uint8_t {
  kOk = 0,
  kUnknown,
  kInvalidArgument,     // a request field or a flag is wrong
  kNotFound,            // message, record or key absent
  kTopicNotFound,
  kTopicExists,         // create with conflicting settings
  kInvalidPartition,
  kOffsetOutOfRange,
  kMessageTooLarge,
  kCorruptMessage,      // a record batch that does not parse
  kOutOfOrderSequence,  // idempotent producer: a gap in sequence numbers (retriable)
  kDuplicateSequence,   // idempotent producer: already stored, offset no longer known
  kStorageError,        // LevelDB write/fsync failed: sticky, the broker stops acknowledging
  kBusy,                // back-pressure: try later
  kTimeout,
  kShuttingDown,
  kUnavailable,         // connection lost / broker unreachable
  kProtocolError,       // malformed frame or envelope
  kFrameTooLarge,
  kTooManyConnections,
  kUnsupported,
  kInternal,
  kUnknownMember,       // consumer group: the member expired or left; join again
  kIllegalGeneration,   // consumer group: a commit fenced off (stale generation / ownership)
  kNotAssigned,         // consumer group: the partition is not owned by this member
  kGroupNotFound,
  kDiskFull,            // free disk space below the broker's low-water mark: writes refused
  kTooManyHalfMessages, // transactions: --max-half-messages (broker or producer group) reached
};

std::string_view status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  static Status invalid_argument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status not_found(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status corruption(std::string m) { return {StatusCode::kCorruptMessage, std::move(m)}; }
  static Status storage(std::string m) { return {StatusCode::kStorageError, std::move(m)}; }
  static Status busy(std::string m) { return {StatusCode::kBusy, std::move(m)}; }
  static Status timeout(std::string m) { return {StatusCode::kTimeout, std::move(m)}; }
  static Status unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status protocol(std::string m) { return {StatusCode::kProtocolError, std::move(m)}; }
  static Status internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool is_ok() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "TOPIC_NOT_FOUND: no topic 'x'" — one line, for logs and CLI errors.
  std::string to_string() const;

  // True for failures a producer may retry with the same message ids.
  bool retriable() const;

  friend bool operator==(const Status& a, const Status& b) { return a.code_ == b.code_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(implicit)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(implicit)
    TIDEMQ_CHECK(!std::get<Status>(v_).is_ok(), "Result constructed from an ok Status without a value");
  }

  bool is_ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & {
    TIDEMQ_CHECK(is_ok(), "value() on a failed Result");
    return std::get<T>(v_);
  }
  const T& value() const& {
    TIDEMQ_CHECK(is_ok(), "value() on a failed Result");
    return std::get<T>(v_);
  }
  T&& value() && {
    TIDEMQ_CHECK(is_ok(), "value() on a failed Result");
    return std::get<T>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace tidemq

#define TIDEMQ_CONCAT_INNER(a, b) a##b
#define TIDEMQ_CONCAT(a, b) TIDEMQ_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function if `expr` is not ok.
#define TIDEMQ_RETURN_IF_ERROR(expr)              \
  do {                                            \
    ::tidemq::Status _st = (expr);                \
    if (!_st.is_ok()) return _st;                 \
  } while (0)

// `TIDEMQ_ASSIGN_OR_RETURN(auto x, f());` — x gets the value or the function returns the Status.
#define TIDEMQ_ASSIGN_OR_RETURN(lhs, expr)                          \
  auto TIDEMQ_CONCAT(_res_, __LINE__) = (expr);                     \
  if (!TIDEMQ_CONCAT(_res_, __LINE__).is_ok())                      \
    return TIDEMQ_CONCAT(_res_, __LINE__).status();                 \
  lhs = std::move(TIDEMQ_CONCAT(_res_, __LINE__)).value()
