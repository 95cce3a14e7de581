#include "perf/mqperf/stats.h"

#include <chrono>

namespace tidemq::perf {

StatsSet::StatsSet(uint32_t workers) {
  workers_.reserve(workers);
  for (uint32_t i = 0; i < workers; ++i) workers_.push_back(std::make_unique<WorkerStats>());
}

uint64_t StatsSet::sent() const {
  uint64_t n = 0;
  for (const auto& w : workers_) n += w->sent.load(std::memory_order_relaxed);
  return n;
}

uint64_t StatsSet::done() const {
  uint64_t n = 0;
  for (const auto& w : workers_) n += w->done.load(std::memory_order_relaxed);
  return n;
}

uint64_t StatsSet::bytes() const {
  uint64_t n = 0;
  for (const auto& w : workers_) n += w->bytes.load(std::memory_order_relaxed);
  return n;
}

uint64_t StatsSet::errors() const {
  uint64_t n = 0;
  for (const auto& w : workers_) n += w->errors.load(std::memory_order_relaxed);
  return n;
}

LatencySnapshot StatsSet::latency() const {
  LatencySnapshot all;
  for (const auto& w : workers_) all.merge(w->latency.snapshot());
  return all;
}

void StatsSet::note_error(const Status& status) {
  std::lock_guard lock(mu_);
  if (first_error_.empty()) first_error_ = status.to_string();
}

std::string StatsSet::first_error() const {
  std::lock_guard lock(mu_);
  return first_error_;
}

int64_t steady_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void encode_send_time(std::string& body, int64_t us) {
  if (body.size() < 8) return;
  auto v = static_cast<uint64_t>(us);
  for (int i = 0; i < 8; ++i) body[static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

int64_t decode_send_time(const std::string& body) {
  if (body.size() < 8) return -1;
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(body[static_cast<size_t>(i)]);
  return static_cast<int64_t>(v);
}

}  // namespace tidemq::perf
