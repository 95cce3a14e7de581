#include "broker/net/ingest_pace.h"

#include <algorithm>

namespace tidemq::broker {

IngestPace::IngestPace(IngestPaceOptions options) : options_(options) {}

void IngestPace::on_round(size_t written, int level0_files, int64_t now_us) {
  if (since_us_ < 0) since_us_ = now_us;
  written_since_ += written;
  if (level0_files < 0 || level0_files == files_) return;
  const double measured =
      now_us > since_us_ ? static_cast<double>(written_since_) * 1e6 / static_cast<double>(now_us - since_us_) : rate_;
  if (level0_files < options_.start_files) {
    pacing_ = false;
  } else if (!pacing_) {
    pacing_ = true;
    rate_ = options_.decrease * measured;
    credit_.start(now_us, options_.burst_us);
  } else if (level0_files > files_) {
    rate_ = options_.decrease * std::min(rate_, measured);
  } else {
    rate_ *= options_.increase;
  }
  rate_ = std::max(rate_, options_.min_bytes_per_sec);
  files_ = level0_files;
  since_us_ = now_us;
  written_since_ = 0;
}

void IngestPace::admitted(size_t bytes, int64_t now_us) {
  if (!pacing_) return;
  credit_.pay(bytes, rate_, now_us, options_.burst_us);
}

int64_t IngestPace::wait_us(int64_t now_us) const {
  if (!pacing_) return 0;
  return credit_.wait_us(now_us);
}

}  // namespace tidemq::broker
