#pragma once
// A job run every `period` on the blocking pool, one run at a time: the timer lives on its own
// strand and the next wait is armed only after the job returned (the disk check, the check-back
// scheduler). stop() is thread-safe and idempotent; a run already started finishes.
#include <chrono>
#include <functional>

#include <asio.hpp>

namespace tidemq::broker {

class PeriodicJob {
 public:
  PeriodicJob(asio::io_context& io, asio::any_io_executor blocking, std::chrono::milliseconds period,
              std::function<void()> job);
  void start();
  void stop();

 private:
  void arm();  // on the strand

  asio::steady_timer timer_;
  asio::any_io_executor blocking_;
  std::chrono::milliseconds period_;
  std::function<void()> job_;
  bool stopping_ = false;  // on the strand
};

}  // namespace tidemq::broker
