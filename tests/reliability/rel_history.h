#pragma once
// What rel_client's workloads share: the history file (one line per operation event, written from
// any thread), the clock the lines carry, and which errors mean "certainly not applied".
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>

#include "common/status.h"

namespace tidemq::rel {

inline int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Errors after which the request was certainly not applied; anything else may have been.
inline bool definitely_not_applied(StatusCode c) {
  return c == StatusCode::kInvalidArgument || c == StatusCode::kTopicNotFound ||
         c == StatusCode::kInvalidPartition || c == StatusCode::kMessageTooLarge ||
         c == StatusCode::kCorruptMessage || c == StatusCode::kDiskFull;
}

// "fail" when `s` means not applied, else "info" (unknown outcome).
inline const char* failure_kind(const Status& s) { return definitely_not_applied(s.code()) ? "fail" : "info"; }

class History {
 public:
  explicit History(const std::string& path) : f_(std::fopen(path.c_str(), "w")) {}
  ~History() {
    if (f_ != nullptr) std::fclose(f_);
  }
  History(const History&) = delete;
  History& operator=(const History&) = delete;
  bool ok() const { return f_ != nullptr; }
  // Appends `text` (one or more whole lines) and flushes, so a SIGKILLed client leaves every
  // line it wrote.
  void line(const std::string& text) {
    std::lock_guard lock(mu_);
    std::fputs(text.c_str(), f_);
    std::fflush(f_);
  }

 private:
  std::mutex mu_;
  std::FILE* f_;
};

}  // namespace tidemq::rel
