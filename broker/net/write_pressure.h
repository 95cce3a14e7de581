#pragma once
// Producer back-pressure (SPEC §5.3): bounds the memory held by produce requests waiting for the
// store's writer, by holding them in the producers' sockets instead of in the broker.
//
// - While `pending_bytes()` (LogStore::pending_bytes: appends queued for the writer, including the
//   round being written) is at or below `max_pending_bytes` and nothing is parked, a produce is
//   appended at once (`admits_now()`: two relaxed loads).
// - Otherwise the request is *parked* here, in arrival order, and the broker enters
//   back-pressure (`paused()`): every session that has sent a produce and waits for an answer
//   stops reading its socket before its next frame, so the kernel buffers fill and the
//   producers' writes block.
// - Fairness: a produce that is its connection's only request in flight is not parked but
//   appended at once (the produce handler checks), and a connection with nothing in flight keeps
//   being read. So under a flood, every producing connection gets one request at a time into the
//   writer, and a producer that waits for each answer is not queued behind the flood's backlog;
//   the writer's rounds are fair across partitions (LogStore). Its cost is one frame per
//   connection, the same as parking it (bounds below).
// - Each time the writer finishes a round (`on_drained()`), parked requests are admitted in order
//   while pending bytes are at or below the limit. One that waited `busy_timeout_ms` without being
//   admitted is answered SYSTEM_BUSY (retriable: the producer resends with the same ids).
// - Reading resumes when nothing is parked and pending bytes are at or below `resume_bytes`
//   (75 % of the limit by default: hysteresis, so sessions do not flap around the limit).
// - Ingest pacing (IngestPace, given `level0` — LevelDB's level-0 file count): when compaction
//   falls behind, admission is also limited to a rate: a produce is parked unless the bytes
//   admitted so far are paid for, and parked ones are admitted as time pays for them (the timer).
//   A connection's only request in flight still goes in at once if it is small (at most the
//   pace's burst), and its bytes count (admit_out_of_turn()).
// - Latency pacing (LatencyPace): while a light producer is active (note_light(): a produce that
//   is its connection's only request in flight, from a connection ProduceMeter calls light), the
//   others are admitted at a rate that keeps the writer's rounds under Options::latency.target_us,
//   in the same way, and the writer's rounds are capped (round_cap()); a small only-request in
//   flight still goes in at once (admit_out_of_turn()).
//
// Bounds (N = connections that have produced, F = --max-frame-bytes, T = --io-threads):
//   pending <= max_pending_bytes + T * F  (each io thread may be admitting one request when the
//            + N * F                       limit is crossed; the drain admits one past it; one
//                                          request per connection goes in under "fairness")
//   parked  <= N * F                      (a session parks at most one request per pause: its
//                                          own park raises paused(), which it checks before the
//                                          next frame)
// plus, as before, one read chunk and one partial frame per connection in its frame decoder.
//
// Threads: paused() and admits_now() from any thread; submit() and wait() from session strands;
// on_drained() from the store's writer thread (never blocks: it posts); admission, expiry and
// resumption run on this object's strand. No lock is held while a request is admitted, rejected
// or a session woken.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include <asio.hpp>

#include "broker/net/ingest_pace.h"
#include "broker/net/latency_pace.h"
#include "common/clock.h"
#include "common/status.h"
#include "common/thread_annotations.h"

namespace tidemq::broker {

class Session;

class WritePressure {
 public:
  struct Options {
    size_t max_pending_bytes = 256u << 20;
    size_t resume_bytes = 192u << 20;  // resume reading at or below this (see resume_bytes_for)
    int64_t busy_timeout_ms = 5'000;
    IngestPaceOptions pace;
    LatencyPaceOptions latency;
  };

  // 75 % of the limit.
  static size_t resume_bytes_for(size_t max_pending_bytes) { return max_pending_bytes / 4 * 3; }

  using PendingFn = std::function<size_t()>;  // any thread, cheap (an atomic load)
  using Level0Fn = std::function<int()>;       // writer thread; negative: unknown
  using Admit = std::function<void()>;
  using Reject = std::function<void(Status)>;

  // `pauses` counts entries into back-pressure (brokerStatus `backpressure_pauses`); it, `clock`
  // and the io_context behind `io` must outlive this object, which must be destroyed before the
  // io_context. Without `level0` there is no ingest pacing.
  WritePressure(asio::any_io_executor io, PendingFn pending, Options options, const Clock& clock,
                std::atomic<uint64_t>& pauses, Level0Fn level0 = nullptr);
  ~WritePressure();

  WritePressure(const WritePressure&) = delete;
  WritePressure& operator=(const WritePressure&) = delete;

  // Hot path, once per frame of a producing session: one relaxed load.
  bool paused() const { return paused_.load(std::memory_order_relaxed); }
  // True when a produce may be appended right now (no back-pressure, no ingest pacing, pending
  // within the limit).
  bool admits_now() const {
    return !paused() && !pacing_.load(std::memory_order_relaxed) && pending_() <= options_.max_pending_bytes;
  }
  // Whether a produce of `bytes` that is its connection's only request in flight may be appended
  // now, ahead of parked ones ("fairness" above). Always, unless pacing is on; then only a small
  // one: at most ProduceMeter::kLightRequestBytes under latency pacing, at most the pace's burst
  // under ingest pacing (a light producer's, not a flood's batch; its bytes are charged to the
  // paces). Any thread.
  bool admit_out_of_turn(size_t bytes);
  // A light producer's produce arrived: latency pacing is on while they keep coming. Hot path:
  // one relaxed store.
  void note_light() { light_at_us_.store(now_us(), std::memory_order_relaxed); }

  // Appends a produce request of `bytes` (its frame size) through `admit`: at once on the calling
  // thread if admits_now() still holds under the lock, else later, in arrival order, on this
  // object's strand. If it is not admitted within busy_timeout_ms, `reject` gets Busy instead;
  // after stop(), ShuttingDown. Exactly one of the two runs, once. Any thread.
  void submit(size_t bytes, Admit admit, Reject reject);

  // A session about to pause: registers it to be woken (Session::wake_reader) when reading may
  // resume, and returns true; returns false (do not wait) when back-pressure already ended.
  // Called on the session's strand, right before it waits, so a wake cannot slip in between.
  bool wait(const std::shared_ptr<Session>& session);

  // The writer finished a round of `written` bytes whose write took `write_us` (pending bytes
  // fell). Writer thread: reads the level-0 file count for the pace; never blocks: when
  // back-pressure or pacing is on it posts one service pass to the strand (coalesced).
  void on_drained(size_t written, int64_t write_us);
  // The cap for the writer's next rounds (LogStore::set_round_cap; LatencyPace::round_cap), as of
  // the last on_drained().
  size_t round_cap() const { return round_cap_.load(std::memory_order_relaxed); }

  // Posts a service pass (admit what fits, expire overdue requests, resume readers). The deadline
  // timer and on_drained() call this; tests with a ManualClock call it after advancing time.
  void poke();

  // Rejects everything parked with ShuttingDown, wakes the paused sessions and stops the timer;
  // later submit() calls are rejected at once. Idempotent; any thread (shutdown: after the
  // writer has stopped).
  void stop();

  struct Stats {
    bool paused = false;
    size_t parked_requests = 0;
    size_t parked_bytes = 0;
    size_t parked_bytes_peak = 0;  // since start
    bool pacing = false;
    uint64_t pace_bytes_per_sec = 0;  // while pacing
    bool latency_pacing = false;
    uint64_t latency_pace_bytes_per_sec = 0;  // while latency pacing
  };
  Stats stats() const;
  const Options& options() const { return options_; }

 private:
  struct Parked {
    size_t bytes = 0;
    int64_t deadline_ms = 0;
    Admit admit;
    Reject reject;
  };
  void service();  // strand
  void arm_timer(int64_t deadline_ms);  // strand
  Status busy_status() const;
  int64_t now_us() const { return clock_.monotonic_ns() / 1000; }
  // Both paces: how long the next ordinary admission must wait, and charging one.
  int64_t pace_wait_us(int64_t now) const REQUIRES(mu_);
  void pace_admitted(size_t bytes, int64_t now) REQUIRES(mu_);

  asio::strand<asio::any_io_executor> strand_;
  const PendingFn pending_;
  const Options options_;
  const Clock& clock_;
  std::atomic<uint64_t>& pauses_;
  const Level0Fn level0_;

  // Set under mu_; read without it on the hot path. seq_cst where it pairs with pending bytes
  // (see on_drained).
  std::atomic<bool> paused_{false};
  std::atomic<bool> service_posted_{false};
  std::atomic<bool> pacing_{false};  // pace_.pacing() || latency_.pacing(), for admits_now()
  std::atomic<bool> ingest_pacing_{false};  // pace_.pacing()
  std::atomic<int64_t> light_at_us_{-1};  // the last note_light()
  std::atomic<size_t> round_cap_{0};

  mutable std::mutex mu_;
  std::deque<Parked> parked_ GUARDED_BY(mu_);
  size_t parked_bytes_ GUARDED_BY(mu_) = 0;
  size_t parked_bytes_peak_ GUARDED_BY(mu_) = 0;
  std::vector<std::weak_ptr<Session>> waiters_ GUARDED_BY(mu_);
  size_t waiters_pruned_at_ GUARDED_BY(mu_) = 0;
  bool stopped_ GUARDED_BY(mu_) = false;
  IngestPace pace_ GUARDED_BY(mu_);
  LatencyPace latency_ GUARDED_BY(mu_);

  // Strand only.
  asio::steady_timer timer_;
  int64_t timer_deadline_ms_ = 0;  // 0: not armed
};

}  // namespace tidemq::broker
