#pragma once
// What producing workers (produce, e2e, txn) share: the message body they send and the pacing of
// a fixed --rate.
#include <chrono>
#include <cstdint>
#include <string>

namespace tidemq::perf {

// `size` bytes of 'a'..'z' repeated.
std::string make_body(uint32_t size);

// Holds a worker to `rate` sends per second from its construction on (0: never waits): the i-th
// send is due i / rate seconds after the start, so a late send does not shift the later ones.
class RatePacer {
 public:
  explicit RatePacer(double rate) : rate_(rate), begin_(std::chrono::steady_clock::now()) {}
  // Waits until send number `i` (from 0) is due.
  void wait_turn(uint64_t i) const;

 private:
  const double rate_;
  const std::chrono::steady_clock::time_point begin_;
};

}  // namespace tidemq::perf
