// Status / Result<T> and the return-if-error macros (STYLE habit 1).
#include "common/status.h"

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <set>

namespace tidemq {
namespace {

// Runs `fn` in a child process and reports whether it died from a signal (TIDEMQ_CHECK aborts).
template <typename Fn>
bool dies(Fn&& fn) {
  std::fflush(nullptr);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::freopen("/dev/null", "w", stderr);
    fn();
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  // Aborted, or (under a sanitizer that turns the abort into its own exit) exited non-zero.
  return WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0);
}

constexpr StatusCode kLast = StatusCode::kTooManyHalfMessages;

TEST_CASE("every code has its own upper-case name") {
  std::set<std::string_view> names;
  for (int c = 0; c <= static_cast<int>(kLast); ++c) {
    auto name = status_code_name(static_cast<StatusCode>(c));
    CAPTURE(c);
    CHECK_FALSE(name.empty());
    for (char ch : name) CHECK(((ch >= 'A' && ch <= 'Z') || ch == '_'));
    CHECK(names.insert(name).second);
  }
  CHECK(status_code_name(StatusCode::kOk) == "OK");
  CHECK(status_code_name(StatusCode::kTopicNotFound) == "TOPIC_NOT_FOUND");
  CHECK(status_code_name(StatusCode::kBusy) == "SYSTEM_BUSY");
  CHECK(status_code_name(StatusCode::kFrameTooLarge) == "FRAME_TOO_LARGE");
  CHECK(status_code_name(StatusCode::kCorruptMessage) == "CORRUPT_MESSAGE");
  CHECK(status_code_name(static_cast<StatusCode>(200)) == "UNKNOWN");
}

TEST_CASE("Status basics and to_string") {
  Status ok;
  CHECK(ok.is_ok());
  CHECK(static_cast<bool>(ok));
  CHECK(ok.code() == StatusCode::kOk);
  CHECK(ok.to_string() == "OK");
  CHECK(Status::ok().is_ok());

  Status nf(StatusCode::kTopicNotFound, "no topic 'x'");
  CHECK_FALSE(nf.is_ok());
  CHECK_FALSE(static_cast<bool>(nf));
  CHECK(nf.message() == "no topic 'x'");
  CHECK(nf.to_string() == "TOPIC_NOT_FOUND: no topic 'x'");
  CHECK(Status(StatusCode::kTimeout, "").to_string() == "TIMEOUT");
  // Equality compares codes only.
  CHECK(Status::timeout("a") == Status::timeout("b"));
  CHECK_FALSE(Status::timeout("a") == Status::busy("a"));
}

TEST_CASE("named factories carry their codes") {
  CHECK(Status::invalid_argument("").code() == StatusCode::kInvalidArgument);
  CHECK(Status::not_found("").code() == StatusCode::kNotFound);
  CHECK(Status::corruption("").code() == StatusCode::kCorruptMessage);
  CHECK(Status::storage("").code() == StatusCode::kStorageError);
  CHECK(Status::busy("").code() == StatusCode::kBusy);
  CHECK(Status::timeout("").code() == StatusCode::kTimeout);
  CHECK(Status::unavailable("").code() == StatusCode::kUnavailable);
  CHECK(Status::protocol("").code() == StatusCode::kProtocolError);
  CHECK(Status::internal("m").code() == StatusCode::kInternal);
  CHECK(Status::internal("m").message() == "m");
}

TEST_CASE("retriable() is exactly the transient codes") {
  const std::set<StatusCode> retriable = {StatusCode::kBusy, StatusCode::kTimeout,
                                          StatusCode::kUnavailable, StatusCode::kShuttingDown,
                                          StatusCode::kOutOfOrderSequence};
  for (int c = 0; c <= static_cast<int>(kLast); ++c) {
    auto code = static_cast<StatusCode>(c);
    CAPTURE(status_code_name(code));
    CHECK(Status(code, "").retriable() == (retriable.count(code) == 1));
  }
  // A storage error is sticky, not retriable; a corrupt batch will not get better.
  CHECK_FALSE(Status::storage("fsync").retriable());
  CHECK_FALSE(Status::corruption("x").retriable());
}

TEST_CASE("Result holds a value or an error") {
  Result<int> v = 5;
  REQUIRE(v.is_ok());
  CHECK(static_cast<bool>(v));
  CHECK(*v == 5);
  CHECK(v.value() == 5);
  CHECK(v.status().is_ok());
  *v = 6;
  CHECK(v.value() == 6);

  Result<int> e = Status::not_found("gone");
  CHECK_FALSE(e.is_ok());
  CHECK(e.status().code() == StatusCode::kNotFound);
  CHECK(e.status().message() == "gone");

  Result<std::string> s = std::string("abc");
  CHECK(s->size() == 3);
  std::string moved = std::move(s).value();
  CHECK(moved == "abc");

  Result<std::unique_ptr<int>> p = std::make_unique<int>(9);
  std::unique_ptr<int> taken = std::move(p).value();
  CHECK(*taken == 9);
}

TEST_CASE("misuse of Result aborts (TIDEMQ_CHECK)") {
  CHECK(dies([] { Result<int> r = Status::ok(); (void)r; }));
  CHECK(dies([] {
    Result<int> r = Status::busy("x");
    (void)r.value();
  }));
  CHECK_FALSE(dies([] {
    Result<int> r = 1;
    (void)r.value();
  }));
}

Result<int> parse_positive(int x) {
  if (x <= 0) return Status::invalid_argument("not positive: " + std::to_string(x));
  return x;
}

Result<std::unique_ptr<int>> make_ptr(bool ok) {
  if (!ok) return Status::busy("no");
  return std::make_unique<int>(3);
}

Result<int> sum_two(int a, int b) {
  TIDEMQ_ASSIGN_OR_RETURN(int x, parse_positive(a));
  TIDEMQ_ASSIGN_OR_RETURN(int y, parse_positive(b));
  return x + y;
}

Status assign_existing(int a, int& out) {
  TIDEMQ_ASSIGN_OR_RETURN(out, parse_positive(a));
  return Status::ok();
}

Result<int> deref(bool ok) {
  TIDEMQ_ASSIGN_OR_RETURN(auto p, make_ptr(ok));  // move-only value
  return *p;
}

Status both(Status a, Status b, int& reached) {
  TIDEMQ_RETURN_IF_ERROR(a);
  ++reached;
  TIDEMQ_RETURN_IF_ERROR(b);
  ++reached;
  return Status::ok();
}

TEST_CASE("TIDEMQ_ASSIGN_OR_RETURN assigns or propagates") {
  auto ok = sum_two(2, 3);
  REQUIRE(ok.is_ok());
  CHECK(*ok == 5);
  auto first_bad = sum_two(-1, 3);
  CHECK(first_bad.status().message() == "not positive: -1");
  auto second_bad = sum_two(1, 0);
  CHECK(second_bad.status().message() == "not positive: 0");

  int out = 0;
  CHECK(assign_existing(7, out).is_ok());
  CHECK(out == 7);
  CHECK(assign_existing(-7, out).code() == StatusCode::kInvalidArgument);
  CHECK(out == 7);

  CHECK(*deref(true) == 3);
  CHECK(deref(false).status().code() == StatusCode::kBusy);
}

TEST_CASE("TIDEMQ_RETURN_IF_ERROR stops at the first error") {
  int reached = 0;
  CHECK(both(Status::ok(), Status::ok(), reached).is_ok());
  CHECK(reached == 2);
  reached = 0;
  CHECK(both(Status::timeout("t"), Status::ok(), reached).code() == StatusCode::kTimeout);
  CHECK(reached == 0);
  reached = 0;
  CHECK(both(Status::ok(), Status::busy("b"), reached).code() == StatusCode::kBusy);
  CHECK(reached == 1);
}

}  // namespace
}  // namespace tidemq
