#include "broker/net/latency_pace.h"

#include <algorithm>

namespace tidemq::broker {

bool ProduceMeter::light_after(size_t bytes, int64_t now_ms) {
  if (window_at_ms_ < 0) window_at_ms_ = now_ms;
  if (now_ms - window_at_ms_ >= kWindowMs) {
    // The last window with produces, however long ago: a connection whose reads the broker paused
    // (write back-pressure) is not light because its first request after the pause is alone.
    previous_bytes_ = static_cast<int64_t>(window_bytes_);
    window_at_ms_ = now_ms;
    window_bytes_ = 0;
  }
  window_bytes_ += bytes;
  return bytes <= kLightRequestBytes && previous_bytes_ >= 0 &&
         static_cast<uint64_t>(previous_bytes_) + window_bytes_ <= kLightBytesPerWindow;
}

LatencyPace::LatencyPace(LatencyPaceOptions options) : options_(options) {}

void LatencyPace::light(int64_t now_us) { light_at_us_ = now_us; }

void LatencyPace::on_round(size_t written, int64_t write_us, int64_t now_us) {
  if (options_.target_us <= 0) return;
  if (interval_at_us_ < 0) interval_at_us_ = now_us - write_us;
  interval_bytes_ += written;
  interval_slowest_us_ = std::max(interval_slowest_us_, write_us);
  if (now_us - interval_at_us_ >= options_.interval_us) end_interval(now_us);
}

bool LatencyPace::active(int64_t now_us) const {
  return options_.target_us > 0 && light_at_us_ >= 0 && now_us - light_at_us_ <= options_.active_us;
}

size_t LatencyPace::round_cap(int64_t now_us) const { return active(now_us) ? options_.round_cap_bytes : 0; }

void LatencyPace::end_interval(int64_t now_us) {
  const double measured =
      static_cast<double>(interval_bytes_) * 1e6 / static_cast<double>(std::max<int64_t>(1, now_us - interval_at_us_));
  const bool slow = interval_slowest_us_ > options_.target_us;
  const double cut =
      std::max(options_.max_decrease, static_cast<double>(options_.target_us) / static_cast<double>(std::max<int64_t>(1, interval_slowest_us_)));
  if (!active(now_us)) {
    pacing_ = false;
  } else if (!pacing_) {
    if (slow) {  // a light producer waits on slow rounds: pace the others
      pacing_ = true;
      rate_ = std::max(measured * cut, options_.min_bytes_per_sec);
      credit_.start(now_us, options_.burst_us);
    }
  } else if (slow) {
    rate_ = std::max(std::min(rate_, measured) * cut, options_.min_bytes_per_sec);
  } else {
    // Requests are admitted whole (a flood's batch may be a MiB), so an interval's ingest says
    // little about demand: the pace grows until rounds are slow again, and ends with the light
    // producer.
    rate_ = std::min(rate_ * options_.increase, kMaxBytesPerSec);
  }
  interval_at_us_ = now_us;
  interval_bytes_ = 0;
  interval_slowest_us_ = 0;
}

void LatencyPace::admitted(size_t bytes, int64_t now_us) {
  if (!pacing_) return;
  credit_.pay(bytes, rate_, now_us, options_.burst_us);
}

int64_t LatencyPace::wait_us(int64_t now_us) const {
  if (!pacing_) return 0;
  return credit_.wait_us(now_us);
}

}  // namespace tidemq::broker
