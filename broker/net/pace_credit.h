#pragma once
// Admitted bytes paid for in time at a rate, with up to `burst_us` of credit: the bookkeeping
// IngestPace and LatencyPace share. Pure: timestamps are microseconds on any monotonic clock.
#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace tidemq::broker {

class PaceCredit {
 public:
  // Starts paying at `now_us` with a full burst of credit.
  void start(int64_t now_us, int64_t burst_us) { paid_until_us_ = now_us - burst_us; }
  // `bytes` admitted at `now_us` at `bytes_per_sec` (> 0); unused credit beyond `burst_us` is lost.
  void pay(size_t bytes, double bytes_per_sec, int64_t now_us, int64_t burst_us) {
    paid_until_us_ = std::max(paid_until_us_, now_us - burst_us) +
                     static_cast<int64_t>(static_cast<double>(bytes) * 1e6 / bytes_per_sec);
  }
  // 0 when the bytes admitted so far are paid for at `now_us`, else the microseconds until they are.
  int64_t wait_us(int64_t now_us) const { return std::max<int64_t>(0, paid_until_us_ - now_us); }

 private:
  int64_t paid_until_us_ = 0;
};

}  // namespace tidemq::broker
