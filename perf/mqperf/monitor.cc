#include "perf/mqperf/monitor.h"

#include <chrono>
#include <cstdio>

#include "perf/mqperf/report.h"

namespace tidemq::perf {

Monitor::Monitor(Config config, const StatsSet* producers, const StatsSet* consumers,
                 std::function<std::optional<uint64_t>(uint64_t, uint64_t)> lag)
    : config_(std::move(config)), producers_(producers), consumers_(consumers), lag_(std::move(lag)) {}

Monitor::~Monitor() { stop(); }

Status Monitor::start() {
  if (!config_.timeline_path.empty()) {
    timeline_.open(config_.timeline_path, std::ios::out | std::ios::trunc);
    if (!timeline_) return Status::invalid_argument("cannot write --timeline file '" + config_.timeline_path + "'");
    timeline_ << timeline_header() << '\n';
  }
  start_ = std::chrono::steady_clock::now();
  if (!config_.timeline_path.empty()) {
    // Second N of the timeline ends N s after this instant; scripts that merge the timelines of
    // several mqperf processes (perf/peak_shaving.sh) align them with it.
    const auto unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
    std::fprintf(stderr, "%s\n", timeline_start_line(config_.mode, unix_ms).c_str());
  }
  thread_ = std::thread([this] { run(); });
  return Status::ok();
}

void Monitor::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
    // The last, partial second: without it a run shorter than a second would have no row, and
    // the rows would not add up to the run's totals.
    const uint64_t produced = producers_ ? producers_->done() : 0;
    const uint64_t delivered = consumers_ ? consumers_->done() : 0;
    if (timeline_.is_open() && (produced != last_produced_ || delivered != last_delivered_)) {
      write_row(last_second_ + 1, produced, delivered);
    }
  }
  if (timeline_.is_open()) timeline_.close();
}

void Monitor::run() {
  const auto start = start_;
  for (uint64_t second = 1;; ++second) {
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_until(lock, start + std::chrono::seconds(second), [this] { return stopping_; })) return;
    }
    tick(second);
  }
}

void Monitor::write_row(uint64_t second, uint64_t produced, uint64_t delivered) {
  std::optional<uint64_t> p = producers_ ? std::optional<uint64_t>(produced - last_produced_) : std::nullopt;
  std::optional<uint64_t> d = consumers_ ? std::optional<uint64_t>(delivered - last_delivered_) : std::nullopt;
  std::optional<uint64_t> lag = lag_ ? lag_(produced, delivered) : std::nullopt;
  timeline_ << timeline_row(second, p, d, lag) << '\n';
  timeline_.flush();
}

void Monitor::tick(uint64_t second) {
  const uint64_t produced = producers_ ? producers_->done() : 0;
  const uint64_t delivered = consumers_ ? consumers_->done() : 0;
  const uint64_t errors = (producers_ ? producers_->errors() : 0) + (consumers_ ? consumers_->errors() : 0);
  const StatsSet* primary = consumers_ ? consumers_ : producers_;
  LatencySnapshot latency = primary->latency();
  LatencySnapshot window = latency.since(last_latency_);
  const uint64_t primary_now = consumers_ ? delivered : produced;
  const uint64_t primary_before = consumers_ ? last_delivered_ : last_produced_;
  const double rate = static_cast<double>(primary_now - primary_before);
  const uint64_t bytes = primary->bytes();
  const double mbps = static_cast<double>(bytes - last_bytes_) / (1024.0 * 1024.0);

  if (config_.print_progress) {
    std::string line = progress_line(config_.mode, second, rate, mbps, window.percentile(0.50),
                                     window.percentile(0.99), errors,
                                     progress_extra_ ? progress_extra_() : std::string());
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  if (timeline_.is_open()) write_row(second, produced, delivered);
  last_second_ = second;
  last_produced_ = produced;
  last_delivered_ = delivered;
  last_bytes_ = bytes;
  last_latency_ = std::move(latency);
}

}  // namespace tidemq::perf
