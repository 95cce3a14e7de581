#pragma once
// Persisted wall-clock times <-> the monotonic times the scheduler runs on (SPEC §6: ages use
// the broker's monotonic clock, so a wall-clock step triggers nothing while it runs).
//
// In memory everything is Clock::monotonic_ms(). What is persisted is wall clock (the monotonic
// origin does not survive a restart). At open(), with one (now_unix, now_mono) sample:
//   - an instant in the past (received, age base) maps to now_mono - max(0, now_unix - unix):
//     its age continues from what the wall clock says, never negative;
//   - a due time maps to now_mono + clamp(due_unix - now_unix, 0, max_ahead).
// So a restart never makes a check earlier than its persisted due time unless the wall clock
// stepped forward while the broker was down (then it is due at once), and never later than
// max_ahead (the longest legitimate gap: one check interval, or the first-check delay when that
// is longer) unless the wall clock stepped back.
#include <algorithm>
#include <cstdint>

namespace tidemq::broker::txn {

struct TimeBase {
  int64_t now_unix_ms;
  int64_t now_mono_ms;
};

inline int64_t past_to_mono(const TimeBase& t, int64_t unix_ms) {
  return t.now_mono_ms - std::max<int64_t>(0, t.now_unix_ms - unix_ms);
}

inline int64_t due_to_mono(const TimeBase& t, int64_t due_unix_ms, int64_t max_ahead_ms) {
  return t.now_mono_ms + std::clamp<int64_t>(due_unix_ms - t.now_unix_ms, 0, max_ahead_ms);
}

// A monotonic instant in wall-clock form, for persisting and for answers.
inline int64_t mono_to_unix(const TimeBase& t, int64_t mono_ms) { return t.now_unix_ms + (mono_ms - t.now_mono_ms); }

}  // namespace tidemq::broker::txn
