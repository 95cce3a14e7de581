#include "broker/net/write_pressure.h"

#include <fmt/format.h>

#include "broker/net/session.h"
#include "common/logging.h"

namespace tidemq::broker {

WritePressure::WritePressure(asio::any_io_executor io, PendingFn pending, Options options, const Clock& clock,
                             std::atomic<uint64_t>& pauses, Level0Fn level0)
    : strand_(asio::make_strand(io)),
      pending_(std::move(pending)),
      options_(options),
      clock_(clock),
      pauses_(pauses),
      level0_(std::move(level0)),
      pace_(options.pace),
      latency_(options.latency),
      timer_(strand_) {
  TIDEMQ_CHECK(options_.resume_bytes <= options_.max_pending_bytes, "resume_bytes above max_pending_bytes");
}

WritePressure::~WritePressure() = default;

Status WritePressure::busy_status() const {
  return Status::busy(fmt::format(
      "broker is busy: the produce request waited {} ms (--busy-timeout-ms) while {} bytes were waiting "
      "to be written (--max-pending-bytes {}); retry later",
      options_.busy_timeout_ms, pending_(), options_.max_pending_bytes));
}

void WritePressure::submit(size_t bytes, Admit admit, Reject reject) {
  {
    std::unique_lock lock(mu_);
    if (stopped_) {
      lock.unlock();
      reject(Status(StatusCode::kShuttingDown, "broker is shutting down"));
      return;
    }
    if (parked_.empty() && pending_() <= options_.max_pending_bytes && pace_wait_us(now_us()) == 0) {
      pace_admitted(bytes, now_us());
      lock.unlock();
      admit();
      return;
    }
    parked_.push_back(Parked{bytes, clock_.monotonic_ms() + options_.busy_timeout_ms, std::move(admit),
                             std::move(reject)});
    parked_bytes_ += bytes;
    parked_bytes_peak_ = std::max(parked_bytes_peak_, parked_bytes_);
    // seq_cst, paired with on_drained(): either the writer sees paused_ and posts a service pass,
    // or the pass posted below sees the writer's lower pending bytes.
    if (!paused_.exchange(true, std::memory_order_seq_cst)) {
      pauses_.fetch_add(1, std::memory_order_relaxed);
      logging::get("net")->info("write back-pressure on: {} bytes pending (--max-pending-bytes {})", pending_(),
                                options_.max_pending_bytes);
    }
  }
  // Arms the deadline timer, and re-checks the pending bytes now that paused_ is visible.
  poke();
}

bool WritePressure::wait(const std::shared_ptr<Session>& session) {
  std::lock_guard lock(mu_);
  if (!paused_.load(std::memory_order_relaxed) || stopped_) return false;
  // Sessions that closed while paused leave expired entries: drop them when the list has doubled.
  if (waiters_.size() >= 2 * waiters_pruned_at_ + 64) {
    std::erase_if(waiters_, [](const std::weak_ptr<Session>& w) { return w.expired(); });
    waiters_pruned_at_ = waiters_.size();
  }
  waiters_.push_back(session);
  return true;
}

bool WritePressure::admit_out_of_turn(size_t bytes) {
  if (!pacing_.load(std::memory_order_relaxed)) return true;
  // Latency pacing never holds a small one back (it paces the others for light producers; a new
  // connection is not known to be light yet, and its first requests must not queue behind the
  // flood either).
  const bool small = bytes <= ProduceMeter::kLightRequestBytes;
  if (small && !ingest_pacing_.load(std::memory_order_relaxed)) return true;
  std::lock_guard lock(mu_);
  if (latency_.pacing() && !small) return false;
  if (pace_.pacing() && bytes > pace_.burst_bytes()) return false;
  pace_admitted(bytes, now_us());
  return true;
}

int64_t WritePressure::pace_wait_us(int64_t now) const { return std::max(pace_.wait_us(now), latency_.wait_us(now)); }

void WritePressure::pace_admitted(size_t bytes, int64_t now) {
  pace_.admitted(bytes, now);
  latency_.admitted(bytes, now);
}

void WritePressure::on_drained(size_t written, int64_t write_us) {
  const int files = level0_ ? level0_() : -1;
  bool was = false;
  bool is = false;
  bool latency_was = false;
  bool latency_is = false;
  double rate = 0;
  double latency_rate = 0;
  {
    std::lock_guard lock(mu_);
    const int64_t now = now_us();
    was = pace_.pacing();
    latency_was = latency_.pacing();
    if (level0_) pace_.on_round(written, files, now);
    const int64_t light_at = light_at_us_.load(std::memory_order_relaxed);
    if (light_at >= 0) latency_.light(light_at);
    latency_.on_round(written, write_us, now);
    round_cap_.store(latency_.round_cap(now), std::memory_order_relaxed);
    is = pace_.pacing();
    latency_is = latency_.pacing();
    rate = pace_.rate();
    latency_rate = latency_.rate();
    ingest_pacing_.store(is, std::memory_order_relaxed);
    pacing_.store(is || latency_is, std::memory_order_relaxed);
  }
  if (was != is) {
    logging::get("net")->info("ingest pacing {}: level 0 has {} files{}", is ? "on" : "off", files,
                              is ? fmt::format(", admitting {:.1f} MiB/s", rate / (1 << 20)) : "");
  }
  if (latency_was != latency_is) {
    logging::get("net")->info("latency pacing {}{}", latency_is ? "on: a light producer waits on the writer" : "off",
                              latency_is ? fmt::format(", admitting {:.1f} MiB/s", latency_rate / (1 << 20)) : "");
  }
  if (was || is || latency_was || latency_is) {
    poke();  // parked requests wait for the pace (or for its end)
    return;
  }
  if (!paused_.load(std::memory_order_seq_cst)) return;
  poke();
}

void WritePressure::poke() {
  if (service_posted_.exchange(true, std::memory_order_acq_rel)) return;
  asio::post(strand_, [this] {
    service_posted_.store(false, std::memory_order_release);
    service();
  });
}

void WritePressure::service() {
  // Pairs with the writer's seq_cst update of the pending bytes (see on_drained).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  // 1. Admit in arrival order while the writer has room and the pace allows. Each admit
  // appends, raising pending.
  int64_t pace_wait_us = 0;
  for (;;) {
    Parked p;
    {
      std::lock_guard lock(mu_);
      if (stopped_ || parked_.empty() || pending_() > options_.max_pending_bytes) break;
      const int64_t now = now_us();
      pace_wait_us = this->pace_wait_us(now);
      if (pace_wait_us > 0) break;
      p = std::move(parked_.front());
      parked_.pop_front();
      parked_bytes_ -= p.bytes;
      pace_admitted(p.bytes, now);
    }
    p.admit();
  }
  // 2. Requests that waited too long: SYSTEM_BUSY. Deadlines are in arrival order.
  const int64_t now = clock_.monotonic_ms();
  std::vector<Parked> expired;
  {
    std::lock_guard lock(mu_);
    while (!parked_.empty() && parked_.front().deadline_ms <= now) {
      parked_bytes_ -= parked_.front().bytes;
      expired.push_back(std::move(parked_.front()));
      parked_.pop_front();
    }
  }
  if (!expired.empty()) {
    const Status busy = busy_status();
    for (Parked& p : expired) p.reject(busy);
  }
  // 3. Resume reading once nothing is parked and the writer is below the low mark.
  std::vector<std::weak_ptr<Session>> wake;
  int64_t next_deadline = 0;
  bool resumed = false;
  {
    std::lock_guard lock(mu_);
    if (!parked_.empty()) {
      next_deadline = parked_.front().deadline_ms;
      // Waiting for the pace: come back when it allows the next admission (round up to 1 ms).
      if (pace_wait_us > 0) next_deadline = std::min(next_deadline, (now_us() + pace_wait_us + 999) / 1000);
    } else if (paused_.load(std::memory_order_relaxed) && pending_() <= options_.resume_bytes) {
      paused_.store(false, std::memory_order_seq_cst);
      wake.swap(waiters_);
      waiters_pruned_at_ = 0;
      resumed = true;
    }
  }
  if (resumed) {
    logging::get("net")->info("write back-pressure off: {} bytes pending, waking {} paused readers", pending_(),
                              wake.size());
  }
  for (auto& w : wake) {
    if (auto s = w.lock()) s->wake_reader();
  }
  // 4. The deadline timer follows the oldest parked request. Paused with nothing parked needs no
  // timer: pending bytes above the low mark mean the writer has work, and its rounds poke us.
  if (next_deadline != 0) arm_timer(next_deadline);
}

void WritePressure::arm_timer(int64_t deadline_ms) {
  if (timer_deadline_ms_ != 0 && timer_deadline_ms_ <= deadline_ms) return;  // fires early enough
  timer_deadline_ms_ = deadline_ms;
  timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(0, deadline_ms - clock_.monotonic_ms())));
  timer_.async_wait([this](const asio::error_code& ec) {
    timer_deadline_ms_ = 0;
    if (ec) return;
    service();
  });
}

void WritePressure::stop() {
  std::deque<Parked> parked;
  std::vector<std::weak_ptr<Session>> wake;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    parked.swap(parked_);
    parked_bytes_ = 0;
    wake.swap(waiters_);
    paused_.store(false, std::memory_order_seq_cst);
  }
  for (Parked& p : parked) p.reject(Status(StatusCode::kShuttingDown, "broker is shutting down"));
  for (auto& w : wake) {
    if (auto s = w.lock()) s->wake_reader();
  }
  asio::post(strand_, [this] { timer_.cancel(); });
}

WritePressure::Stats WritePressure::stats() const {
  std::lock_guard lock(mu_);
  return Stats{paused_.load(std::memory_order_relaxed),
               parked_.size(),
               parked_bytes_,
               parked_bytes_peak_,
               pace_.pacing(),
               static_cast<uint64_t>(pace_.rate()),
               latency_.pacing(),
               static_cast<uint64_t>(latency_.rate())};
}

}  // namespace tidemq::broker
