#include "broker/store/table_pace.h"

#include <algorithm>
#include <cmath>

namespace tidemq::broker {

TablePace::TablePace(TablePaceOptions options) : options_(options) {}

void TablePace::log_created() {
  ++live_logs_;
  current_log_bytes_ = 0;
}

void TablePace::log_removed() {
  if (live_logs_ > 0) --live_logs_;
}

double TablePace::decayed_sum(int64_t now_us) const {
  if (!have_sample_) return 0;
  // Callers read the clock before taking their lock, so a timestamp may be slightly older than
  // the last sample: no decay then, rather than growth.
  const double dt = static_cast<double>(std::max<int64_t>(0, now_us - sum_at_us_));
  return sum_ * std::exp(-dt / static_cast<double>(options_.ingest_tau_us));
}

void TablePace::ingest(uint64_t bytes, int64_t now_us) {
  sum_ = decayed_sum(now_us) + static_cast<double>(bytes);
  sum_at_us_ = have_sample_ ? std::max(sum_at_us_, now_us) : now_us;
  have_sample_ = true;
  current_log_bytes_ += bytes;
}

double TablePace::ingest_rate(int64_t now_us) const {
  // A constant rate r sustained for long gives a decayed sum of r × tau.
  return decayed_sum(now_us) * 1e6 / static_cast<double>(options_.ingest_tau_us);
}

double TablePace::pace(int64_t now_us) const {
  return std::max(options_.floor_bytes_per_sec, options_.factor * ingest_rate(now_us));
}

bool TablePace::must_not_wait(int level0_files) const {
  if (level0_files >= 0 && level0_files >= options_.level0_unpaced_files) return true;
  return live_logs_ >= 2 && current_log_bytes_ >= options_.memtable_bytes / 2;
}

int64_t TablePace::delay_after(uint64_t bytes, int64_t now_us, int level0_files) {
  const double now = static_cast<double>(now_us);
  if (options_.factor <= 0 || must_not_wait(level0_files)) {
    scheduled_until_us_ = now;
    return 0;
  }
  const double step_us = static_cast<double>(bytes) * 1e6 / pace(now_us);
  // After idle time the schedule starts at most one step back: this step may have taken its
  // own share of time, but idle time earns no credit for a burst.
  scheduled_until_us_ = std::max(scheduled_until_us_, now - step_us) + step_us;
  return static_cast<int64_t>(std::max(0.0, scheduled_until_us_ - now));
}

}  // namespace tidemq::broker
