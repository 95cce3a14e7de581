#pragma once
// TIDEMQ_CHECK(cond, msg): a broken invariant aborts loudly in every build (STYLE habit 3).
// Use it for programmer errors only; anything a user or the network can cause is a Status.

namespace tidemq::detail {
[[noreturn]] void check_failed(const char* expr, const char* msg, const char* file, int line);
}  // namespace tidemq::detail

#define TIDEMQ_CHECK(cond, msg)                                                  \
  do {                                                                           \
    if (!(cond)) [[unlikely]]                                                    \
      ::tidemq::detail::check_failed(#cond, (msg), __FILE__, __LINE__);          \
  } while (0)
