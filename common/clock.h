#pragma once
// Time is injected (STYLE habit 7). Production code asks a Clock; tests use ManualClock.
#include <atomic>
#include <chrono>
#include <cstdint>

namespace tidemq {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock milliseconds since the Unix epoch. May jump (NTP, operator).
  virtual int64_t now_ms() const = 0;
  // Monotonic nanoseconds since an arbitrary origin. Never goes backwards.
  virtual int64_t monotonic_ns() const = 0;
  int64_t monotonic_ms() const { return monotonic_ns() / 1'000'000; }

  // The process-wide system clock.
  static Clock& system();
};

class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override;
  int64_t monotonic_ns() const override;
};

// The wall clock of `base` as it was when this was made, carried forward by `base`'s monotonic
// clock: a wall-clock step (NTP, an operator's `date -s`) moves nothing until the next start, so
// retention, scheduled and retry due times, commit times and store timestamps neither jump ahead
// nor stall (SPEC §12 T11). The monotonic clock is slewed with NTP's frequency corrections, so
// only steps are left out. The broker runs on one; step_ms() says how far the real wall clock
// has stepped away since. Thread-safe; `base` must outlive it.
class AnchoredClock final : public Clock {
 public:
  explicit AnchoredClock(const Clock& base)
      : base_(base), anchor_wall_ms_(base.now_ms()), anchor_mono_ns_(base.monotonic_ns()) {}
  int64_t now_ms() const override { return anchor_wall_ms_ + (base_.monotonic_ns() - anchor_mono_ns_) / 1'000'000; }
  int64_t monotonic_ns() const override { return base_.monotonic_ns(); }
  // The base wall clock minus this one: positive after a step forward.
  int64_t step_ms() const { return base_.now_ms() - now_ms(); }

 private:
  const Clock& base_;
  const int64_t anchor_wall_ms_;
  const int64_t anchor_mono_ns_;
};

// A clock that moves only when told. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 1'767'225'600'000 /* 2026-01-01 */)
      : wall_ms_(start_ms), mono_ns_(1'000'000'000) {}
  int64_t now_ms() const override { return wall_ms_.load(); }
  int64_t monotonic_ns() const override { return mono_ns_.load(); }
  // Moves both clocks forward.
  void advance_ms(int64_t ms) {
    wall_ms_ += ms;
    mono_ns_ += ms * 1'000'000;
  }
  // Steps only the wall clock (may go backwards), as NTP or an operator would.
  void set_wall_ms(int64_t ms) { wall_ms_ = ms; }

 private:
  std::atomic<int64_t> wall_ms_;
  std::atomic<int64_t> mono_ns_;
};

}  // namespace tidemq
