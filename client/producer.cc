// Producer: per-partition accumulators -> produce requests -> acks -> callbacks.
//
// Threads: callers (send_async appends under mu_), the connection's I/O thread (acks, and
// dispatching what the freed in-flight slots allow), the timer thread (linger and retry backoff)
// and the callback thread (user callbacks). mu_ guards all batching state; send_mu_ keeps
// requests in the order their batches were sealed while frames are built without mu_.
#include "tidemq/producer.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include "client/connection.h"
#include "client/delivery_time.h"
#include "client/outgoing_message.h"
#include "client/producer_batch.h"
#include "client/producer_session.h"
#include "client/topic_routes.h"
#include "client/wire_status.h"
#include "common/clock.h"
#include "common/coding.h"
#include "common/logging.h"

namespace tidemq {

using client::Batch;
using client::BatchPtr;
using client::Completion;
using client::Connection;
using client::SteadyTime;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr size_t kDefaultMaxBufferedBytes = 64u << 20;
constexpr size_t kRequestOverheadBytes = 64 * 1024;

uint64_t random_producer_id() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}() ^ (uint64_t{std::random_device{}()} << 32) ^
                             static_cast<uint64_t>(SteadyClock::now().time_since_epoch().count())};
  std::lock_guard lock(mu);
  uint64_t id = 0;
  while (id == 0) id = rng();
  return id;
}

struct PartitionState {
  std::deque<BatchPtr> queue;    // not yet sent, in order; only back() may still take records
  std::vector<BatchPtr> failed;  // retriable failures, resent once the partition has drained
  uint32_t inflight = 0;         // batches sent and not yet answered
  bool recovering = false;       // a batch failed: hold sends until inflight == 0, then resend in order
  bool new_producer_id = false;  // a batch failed for good: continue under a fresh producer id
  bool resume_scheduled = false;
  SteadyTime resume_at{};
  uint64_t producer_id = 0;
  uint32_t next_sequence = 0;
  bool idempotent = false;       // batches get producer_id and sequences (never for scheduled ones)
};

// Scheduled messages (SPEC §7) of one partition due at one time: (partition, deliver_at_ms).
using ScheduledKey = std::pair<uint32_t, int64_t>;

// The route (name, partition count, selector and the loads it sees) plus the batching state of
// each partition. Scheduled messages are batched apart, per (partition, due time), each key with
// a non-idempotent PartitionState of its own (created on demand, erased once idle), so they never
// share a batch with immediate messages nor touch a partition's sequence numbers.
struct TopicState : client::TopicRoute {
  std::vector<PartitionState> partitions;
  std::map<ScheduledKey, PartitionState> scheduled;

  PartitionState& state_of(const Batch& b) {
    return b.deliver_at_ms == 0 ? partitions[b.partition] : scheduled.at(ScheduledKey{b.partition, b.deliver_at_ms});
  }
};

bool idle(const PartitionState& ps) {
  return ps.queue.empty() && ps.failed.empty() && ps.inflight == 0 && !ps.recovering && !ps.resume_scheduled;
}

struct InflightRequest {
  TopicState* topic = nullptr;
  std::vector<BatchPtr> batches;  // at most one per partition
  SteadyTime sent_at{};
};

}  // namespace

struct Producer::Impl {
  ProducerOptions opts;
  std::unique_ptr<Connection> conn;
  const uint64_t base_producer_id;
  std::shared_ptr<spdlog::logger> log = logging::get("producer");

  std::mutex mu_;
  std::condition_variable space_cv_;  // senders blocked on the buffer / in-flight limit
  std::condition_variable timer_cv_;
  std::unordered_map<std::string, std::unique_ptr<TopicState>> topics_ GUARDED_BY(mu_);
  client::ProducerSession session_;  // leased worker id -> message ids; the broker's limits
  size_t max_request_bytes_ GUARDED_BY(mu_) = (16u << 20) - kRequestOverheadBytes;
  uint32_t inflight_requests_ GUARDED_BY(mu_) = 0;
  size_t buffered_bytes_ GUARDED_BY(mu_) = 0;  // bytes in batches not yet sent
  uint32_t full_waiting_ GUARDED_BY(mu_) = 0;  // sealed (full) batches waiting for an in-flight slot
  int flushing_ GUARDED_BY(mu_) = 0;           // > 0: send open batches without waiting for linger
  bool closed_ GUARDED_BY(mu_) = false;
  bool timer_stop_ GUARDED_BY(mu_) = false;
  SteadyTime timer_wake_at_ GUARDED_BY(mu_) = SteadyTime::max();
  std::mutex send_mu_;  // held while requests are built and queued, so they leave in order
  std::thread timer_thread_;

  // Callback thread.
  std::mutex cb_mu_;
  std::condition_variable cb_cv_;
  std::condition_variable done_cv_;
  std::deque<Completion> completions_ GUARDED_BY(cb_mu_);
  bool cb_stop_ GUARDED_BY(cb_mu_) = false;
  std::atomic<uint64_t> unacked_{0};      // accepted messages whose outcome is not known yet
  std::atomic<uint64_t> unfinished_{0};   // accepted messages whose callback has not run yet
  std::thread callback_thread_;
  std::once_flag close_once_;

  Impl(ProducerOptions o, std::unique_ptr<Connection> c)
      : opts(std::move(o)), conn(std::move(c)), base_producer_id(opts.idempotent ? random_producer_id() : 0) {}

  // ---- session (I/O thread) ----
  void on_session(const client::HelloInfo& hello) {
    (void)session_.on_hello(hello);
    std::lock_guard lock(mu_);
    max_request_bytes_ = hello.max_frame_bytes > 2 * kRequestOverheadBytes ? hello.max_frame_bytes - kRequestOverheadBytes
                                                                           : hello.max_frame_bytes / 2;
  }

  // ---- topics ----
  Result<TopicState*> topic_locked(std::unique_lock<std::mutex>& lock, const std::string& name) {
    TIDEMQ_ASSIGN_OR_RETURN(TopicState * t, client::find_route(topics_, lock, *conn, opts, name));
    while (t->partitions.size() < t->partition_count()) {
      PartitionState ps;
      ps.producer_id = base_producer_id;
      ps.idempotent = opts.idempotent;
      t->partitions.push_back(std::move(ps));
    }
    return t;
  }

  // ---- completions ----
  void complete(BatchPtr& b, const Status& st, uint64_t base_offset = 0, int64_t store_ms = 0,
                bool scheduled = false) {
    Completion c;
    c.records = std::move(b->records);
    c.status = st;
    c.partition = b->partition;
    c.base_offset = base_offset;
    c.store_ms = store_ms;
    c.scheduled = scheduled;
    b->done = true;
    push_completion(std::move(c));
  }

  void push_completion(Completion c) {
    {
      std::lock_guard lock(cb_mu_);
      unacked_ -= c.records.size();
      if (!cb_stop_) {
        completions_.push_back(std::move(c));
        c.records.clear();
      }
    }
    if (!c.records.empty()) {
      run_callbacks(c);  // closed: the callback thread is gone, so the caller's thread runs them
    } else {
      cb_cv_.notify_one();
    }
    done_cv_.notify_all();
  }

  void run_callbacks(Completion& c) {
    for (size_t i = 0; i < c.records.size(); ++i) {
      auto& r = c.records[i];
      if (!r.cb) continue;
      if (c.status.is_ok()) {
        r.cb(Result<SendResult>(
            SendResult{r.id, c.partition, c.scheduled ? 0 : c.base_offset + i, c.store_ms, c.scheduled}));
      } else {
        r.cb(Result<SendResult>(c.status));
      }
    }
    {
      std::lock_guard lock(cb_mu_);
      unfinished_ -= c.records.size();
    }
    done_cv_.notify_all();
  }

  void fail_now(SendCallback cb, Status st) {
    Completion c;
    c.records.push_back(client::PendingRecord{0, std::move(cb)});
    c.status = std::move(st);
    unacked_ += 1;
    unfinished_ += 1;
    push_completion(std::move(c));
  }

  void callback_loop() {
    std::deque<Completion> local;
    for (;;) {
      {
        std::unique_lock lock(cb_mu_);
        cb_cv_.wait(lock, [&] { return cb_stop_ || !completions_.empty(); });
        if (completions_.empty()) return;  // stopping and drained
        local.swap(completions_);
      }
      for (auto& c : local) run_callbacks(c);
      local.clear();
    }
  }

  // ---- sending ----
  bool blocked_locked() const REQUIRES(mu_) {
    if (closed_) return false;
    if (buffered_bytes_ >= opts.max_buffered_bytes) return true;
    return inflight_requests_ >= opts.max_inflight_requests && full_waiting_ > 0;
  }

  void send_async(Message msg, SendCallback cb) {
    if (Status st = client::validate_outgoing(msg, session_.max_message_bytes()); !st.is_ok()) {
      return fail_now(std::move(cb), std::move(st));
    }
    int64_t deliver_at = 0;  // scheduled: fixed here, once (a delay level becomes a due time)
    if (msg.deliver_at_ms != 0 || msg.delay_level != 0) [[unlikely]] {
      auto due = client::due_time(msg, Clock::system().now_ms());
      if (!due.is_ok()) return fail_now(std::move(cb), due.status());
      deliver_at = *due;
    }
    std::unique_lock lock(mu_);
    if (closed_) {
      lock.unlock();
      return fail_now(std::move(cb), Status(StatusCode::kShuttingDown, "producer closed"));
    }
    space_cv_.wait(lock, [&] { return !blocked_locked(); });
    if (closed_) {
      lock.unlock();
      return fail_now(std::move(cb), Status(StatusCode::kShuttingDown, "producer closed"));
    }
    auto topic_r = topic_locked(lock, msg.topic);
    if (!topic_r.is_ok()) {
      lock.unlock();
      return fail_now(std::move(cb), topic_r.status());
    }
    TopicState* t = *topic_r;
    auto picked = t->pick(msg);
    if (!picked.is_ok()) {
      lock.unlock();
      return fail_now(std::move(cb), picked.status());
    }
    const uint32_t partition = *picked;
    auto id = session_.next_id();
    if (!id.is_ok()) {
      lock.unlock();
      return fail_now(std::move(cb), id.status());
    }
    const record::RecordInput in = client::record_input(msg, *id, static_cast<uint64_t>(Clock::system().now_ms()));
    const size_t size = record::BatchBuilder::record_size(in);

    PartitionState& ps = deliver_at == 0 ? t->partitions[partition] : scheduled_state(*t, partition, deliver_at);
    const auto now = SteadyClock::now();
    bool new_batch = ps.queue.empty() || ps.queue.back()->sealed ||
                     (ps.queue.back()->size_bytes + size > opts.max_batch_bytes);
    if (new_batch) {
      if (!ps.queue.empty() && !ps.queue.back()->sealed) seal_full(*ps.queue.back());
      auto b = std::make_shared<Batch>();
      b->partition = partition;
      b->created = now;
      b->deadline = now + opts.delivery_timeout;
      b->deliver_at_ms = deliver_at;
      ps.queue.push_back(std::move(b));
    }
    Batch& b = *ps.queue.back();
    b.builder.add(in);
    b.size_bytes += size;
    b.records.push_back(client::PendingRecord{in.id, std::move(cb)});
    buffered_bytes_ += size;
    unacked_ += 1;
    unfinished_ += 1;
    if (b.size_bytes >= opts.max_batch_bytes) seal_full(b);
    if (b.sealed || opts.linger.count() <= 0 || flushing_ > 0) {
      dispatch_and_unlock(lock);
      return;
    }
    if (new_batch && now + opts.linger < timer_wake_at_) timer_cv_.notify_one();
  }

  // The batching state of `partition`'s messages due at `deliver_at` (not idempotent: producer
  // id 0, no sequence).
  PartitionState& scheduled_state(TopicState& t, uint32_t partition, int64_t deliver_at) REQUIRES(mu_) {
    return t.scheduled.try_emplace(ScheduledKey{partition, deliver_at}).first->second;
  }

  // Forgets a scheduled key's state once nothing of it is queued, in flight or waiting to retry.
  void release_if_idle(TopicState& t, const Batch& b) REQUIRES(mu_) {
    if (b.deliver_at_ms == 0) return;
    auto it = t.scheduled.find(ScheduledKey{b.partition, b.deliver_at_ms});
    if (it != t.scheduled.end() && idle(it->second)) t.scheduled.erase(it);
  }

  void seal_full(Batch& b) REQUIRES(mu_) {
    b.sealed = true;
    b.counted_full = true;
    ++full_waiting_;
  }

  // Whether the front batch of `ps` may be sent now.
  bool sendable(const PartitionState& ps, SteadyTime now) const REQUIRES(mu_) {
    if (ps.recovering || ps.queue.empty()) return false;
    const Batch& b = *ps.queue.front();
    return b.sealed || b.retry || flushing_ > 0 || closed_ || opts.linger.count() <= 0 ||
           now - b.created >= opts.linger;
  }

  // Sends what may be sent now, within the in-flight limit. Releases the lock.
  void dispatch_and_unlock(std::unique_lock<std::mutex>& lock) REQUIRES(mu_) {
    std::vector<std::shared_ptr<InflightRequest>> reqs;
    if (!closed_) {
      const auto now = SteadyClock::now();
      bool progress = true;
      while (progress && inflight_requests_ < opts.max_inflight_requests) {
        progress = false;
        for (auto& [name, t] : topics_) {
          if (inflight_requests_ >= opts.max_inflight_requests) break;
          std::shared_ptr<InflightRequest> req;
          size_t bytes = 0;
          for (auto& ps : t->partitions) take_front(*t, ps, now, req, bytes);
          if (!t->scheduled.empty()) [[unlikely]] {
            for (auto& [key, ps] : t->scheduled) take_front(*t, ps, now, req, bytes);
          }
          if (req) {
            req->topic = t.get();
            ++inflight_requests_;
            reqs.push_back(std::move(req));
            progress = true;
          }
        }
      }
    }
    if (reqs.empty()) {
      lock.unlock();
      return;
    }
    space_cv_.notify_all();
    std::unique_lock send_lock(send_mu_);
    lock.unlock();
    for (auto& req : reqs) send_request(req);
  }

  // Moves the front batch of `ps` into `req` (created on demand; `bytes` so far) if it may be sent
  // now and fits.
  void take_front(TopicState& t, PartitionState& ps, SteadyTime now, std::shared_ptr<InflightRequest>& req,
                  size_t& bytes) REQUIRES(mu_) {
    if (!sendable(ps, now)) return;
    BatchPtr& front = ps.queue.front();
    size_t sz = front->sealed_bytes.empty() ? front->size_bytes + record::kHeaderBytes : front->sealed_bytes.size();
    if (req && bytes + sz > max_request_bytes_) return;
    // Acks are matched by partition: one batch per partition per request (a scheduled batch whose
    // partition is taken waits for the next request).
    if (req && front->deliver_at_ms != 0 &&
        std::any_of(req->batches.begin(), req->batches.end(),
                    [&](const BatchPtr& o) { return o->partition == front->partition; })) {
      return;
    }
    if (!req) req = std::make_shared<InflightRequest>();
    BatchPtr b = std::move(front);
    ps.queue.pop_front();
    take_for_send(ps, *b);
    bytes += b->sealed_bytes.size();
    ++ps.inflight;
    ++t.loads[b->partition].inflight;
    req->batches.push_back(std::move(b));
  }

  // Seals (first send) or re-stamps (retry) a batch and takes it out of the unsent accounting.
  void take_for_send(PartitionState& ps, Batch& b) REQUIRES(mu_) {
    if (b.counted_full) {
      b.counted_full = false;
      --full_waiting_;
    }
    if (!b.stamped) {  // first send: the sequence number is assigned now and kept on retries
      b.stamped = true;
      b.sealed = true;
      buffered_bytes_ -= std::min(buffered_bytes_, b.size_bytes);
      const uint32_t count = b.builder.count();
      b.builder_count = count;
      b.base_sequence = ps.idempotent ? ps.next_sequence : 0;
      if (ps.idempotent) ps.next_sequence += count;
      b.producer_id = ps.producer_id;
      b.sealed_bytes = b.builder.finish(b.producer_id, b.base_sequence);
    } else if (b.producer_id != ps.producer_id || b.restamp) {
      b.producer_id = ps.producer_id;
      b.restamp = false;
      coding::put_u64(b.sealed_bytes.data() + 24, b.producer_id);
      coding::put_u32(b.sealed_bytes.data() + 32, b.base_sequence);
    }
  }

  void send_request(const std::shared_ptr<InflightRequest>& req) {
    size_t total = 0;
    for (const auto& b : req->batches) total += b->sealed_bytes.size();
    flatbuffers::FlatBufferBuilder fbb(total + 256 + 32 * req->batches.size());
    std::vector<flatbuffers::Offset<wire::PartitionBatch>> batches;
    batches.reserve(req->batches.size());
    for (const auto& b : req->batches) {
      auto bytes = fbb.CreateVector(reinterpret_cast<const uint8_t*>(b->sealed_bytes.data()), b->sealed_bytes.size());
      batches.push_back(wire::CreatePartitionBatch(fbb, b->partition, bytes, static_cast<uint64_t>(b->deliver_at_ms)));
    }
    auto topic = fbb.CreateString(req->topic->name);
    auto body = wire::CreateProduceRequest(fbb, topic, fbb.CreateVector(batches));
    req->sent_at = SteadyClock::now();
    conn->send(fbb, wire::Body::ProduceRequest, body.Union(),
               [this, req](Result<client::Frame> r) { on_response(*req, std::move(r)); });
  }

  // ---- acks (I/O thread) ----
  void on_response(InflightRequest& req, Result<client::Frame> r) {
    const wire::ProduceResponse* resp = nullptr;
    Status request_status = r.status();
    if (r.is_ok()) {
      resp = r->envelope().body_as_ProduceResponse();
      if (!resp) request_status = Status::protocol("expected ProduceResponse");
    }
    const auto now = SteadyClock::now();
    std::unique_lock lock(mu_);
    --inflight_requests_;
    TopicState& t = *req.topic;
    for (auto& b : req.batches) {
      PartitionState& ps = t.state_of(*b);
      --ps.inflight;
      --t.loads[b->partition].inflight;
      Status st = request_status;
      const wire::PartitionAck* ack = nullptr;
      if (st.is_ok()) {
        if (resp->acks()) {
          for (const auto* a : *resp->acks()) {
            if (a->partition() == b->partition) {
              ack = a;
              break;
            }
          }
        }
        st = ack ? client::status_from_wire(ack->error(), ack->error_message())
                 : Status::protocol("no ack for partition " + std::to_string(b->partition));
      }
      if (st.is_ok()) {
        t.record_ack_latency(b->partition, std::chrono::duration<double, std::micro>(now - req.sent_at).count());
        complete(b, Status::ok(), ack->base_offset(), static_cast<int64_t>(ack->store_ms()), ack->scheduled());
      } else {
        t.note_failure(st);
        on_batch_failed(ps, b, st, now);
      }
      maybe_schedule_resume(ps, now);
      release_if_idle(t, *b);
    }
    space_cv_.notify_all();
    dispatch_and_unlock(lock);
  }

  void on_batch_failed(PartitionState& ps, BatchPtr& b, const Status& st, SteadyTime now) REQUIRES(mu_) {
    // An out-of-order answer is the echo of an earlier batch's failure: not this batch's fault.
    if (st.code() != StatusCode::kOutOfOrderSequence) ++b->attempts;
    ps.recovering = true;
    if (st.retriable() && !closed_ && b->attempts <= opts.retries && now < b->deadline) {
      b->last_error = st;
      ps.failed.push_back(b);
      return;
    }
    Status final = st;
    if (now >= b->deadline && st.retriable()) {
      final = Status::timeout("not acknowledged within delivery_timeout; last error: " + st.to_string());
    }
    complete(b, final);
    // The broker may or may not hold this batch: later batches continue under a fresh producer id
    // (which the broker accepts at any sequence) rather than hit a sequence gap forever.
    if (ps.idempotent) ps.new_producer_id = true;
  }

  void maybe_schedule_resume(PartitionState& ps, SteadyTime now) REQUIRES(mu_) {
    if (!ps.recovering || ps.inflight > 0 || ps.resume_scheduled) return;
    ps.resume_scheduled = true;
    ps.resume_at = ps.failed.empty() ? now : now + opts.retry_backoff;
    if (ps.resume_at < timer_wake_at_) timer_cv_.notify_one();
  }

  // The partition has drained after failures: put retriable batches back in front, in sequence
  // order, renumbered under a fresh producer id if one batch failed for good.
  void resume(PartitionState& ps, SteadyTime now) REQUIRES(mu_) {
    ps.resume_scheduled = false;
    ps.recovering = false;
    std::sort(ps.failed.begin(), ps.failed.end(),
              [](const BatchPtr& a, const BatchPtr& b) { return a->base_sequence < b->base_sequence; });
    std::vector<BatchPtr> again;
    for (auto& b : ps.failed) {
      if (closed_ || now >= b->deadline) {
        complete(b, closed_ ? Status(StatusCode::kShuttingDown, "producer closed")
                            : Status::timeout("not acknowledged within delivery_timeout; last error: " +
                                              b->last_error.to_string()));
        if (ps.idempotent) ps.new_producer_id = true;
      } else {
        again.push_back(std::move(b));
      }
    }
    ps.failed.clear();
    if (ps.new_producer_id) {
      ps.new_producer_id = false;
      ps.producer_id = random_producer_id();
      uint32_t seq = again.empty() ? ps.next_sequence : again.front()->base_sequence;
      for (auto& b : again) {
        b->base_sequence = seq;
        b->restamp = true;
        seq += b->builder_count;
      }
      ps.next_sequence = seq;
    }
    for (auto it = again.rbegin(); it != again.rend(); ++it) {
      (*it)->retry = true;
      ps.queue.push_front(std::move(*it));
    }
  }

  // ---- timer thread: linger and retry backoff ----
  // Resumes `ps` if its backoff ended; `work` if something may be sent, `next` = when to look again.
  void timer_visit(PartitionState& ps, SteadyTime now, SteadyTime& next, bool& work) REQUIRES(mu_) {
    if (ps.resume_scheduled) {
      if (ps.resume_at <= now) {
        resume(ps, now);
        work = true;
      } else {
        next = std::min(next, ps.resume_at);
      }
    }
    if (!ps.recovering && !ps.queue.empty()) {
      const Batch& b = *ps.queue.front();
      if (sendable(ps, now)) {
        work = true;
      } else if (!b.sealed) {
        next = std::min(next, b.created + std::chrono::duration_cast<SteadyClock::duration>(opts.linger));
      }
    }
  }

  void timer_loop() {
    std::unique_lock lock(mu_);
    while (!timer_stop_) {
      const auto now = SteadyClock::now();
      SteadyTime next = now + std::chrono::milliseconds(100);
      bool work = false;
      for (auto& [name, t] : topics_) {
        for (auto& ps : t->partitions) timer_visit(ps, now, next, work);
        for (auto it = t->scheduled.begin(); it != t->scheduled.end();) {
          timer_visit(it->second, now, next, work);
          it = idle(it->second) ? t->scheduled.erase(it) : std::next(it);  // e.g. its retries timed out
        }
      }
      if (work && inflight_requests_ < opts.max_inflight_requests) {
        dispatch_and_unlock(lock);
        lock.lock();
        continue;
      }
      timer_wake_at_ = next;
      timer_cv_.wait_until(lock, next);
      timer_wake_at_ = SteadyTime::max();
    }
  }

  // ---- flush / close ----
  Status flush(std::chrono::milliseconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    {
      std::unique_lock lock(mu_);
      ++flushing_;
      dispatch_and_unlock(lock);
    }
    // Inside a callback we cannot wait for callbacks (our own would never finish).
    const bool on_cb_thread = std::this_thread::get_id() == callback_thread_.get_id();
    bool done;
    {
      std::unique_lock lock(cb_mu_);
      done = done_cv_.wait_until(lock, deadline, [&] { return on_cb_thread ? unacked_ == 0 : unfinished_ == 0; });
    }
    {
      std::lock_guard lock(mu_);
      --flushing_;
    }
    if (!done) return Status::timeout("flush: messages still unacknowledged after the timeout");
    return Status::ok();
  }

  void fail_all(PartitionState& ps) REQUIRES(mu_) {
    for (auto& b : ps.queue) complete(b, Status(StatusCode::kShuttingDown, "producer closed"));
    for (auto& b : ps.failed) complete(b, Status(StatusCode::kShuttingDown, "producer closed"));
    ps.queue.clear();
    ps.failed.clear();
  }

  void close() {
    std::call_once(close_once_, [this] {
      (void)flush(opts.delivery_timeout);
      {
        std::lock_guard lock(mu_);
        closed_ = true;
        for (auto& [name, t] : topics_) {
          for (auto& ps : t->partitions) fail_all(ps);
          for (auto& [key, ps] : t->scheduled) fail_all(ps);
        }
        timer_stop_ = true;
      }
      space_cv_.notify_all();
      timer_cv_.notify_all();
      if (timer_thread_.joinable()) timer_thread_.join();
      { std::lock_guard wait_for_senders(send_mu_); }  // no request is being queued any more
      conn->close();  // fails what is still in flight with ShuttingDown
      {
        std::lock_guard lock(cb_mu_);
        cb_stop_ = true;
      }
      cb_cv_.notify_all();
      if (callback_thread_.joinable()) {
        if (std::this_thread::get_id() == callback_thread_.get_id()) {
          callback_thread_.detach();  // closed from a callback: the thread ends after it returns
        } else {
          callback_thread_.join();
        }
      }
    });
  }
};

Result<std::unique_ptr<Producer>> Producer::create(ProducerOptions options) {
  TIDEMQ_RETURN_IF_ERROR(client::validate_selector_options(options));
  if (options.max_batch_bytes == 0) return Status::invalid_argument("max_batch_bytes must be > 0");
  if (options.max_inflight_requests == 0) return Status::invalid_argument("max_inflight_requests must be > 0");
  if (options.delivery_timeout.count() <= 0) return Status::invalid_argument("delivery_timeout must be > 0");
  if (options.linger.count() < 0) return Status::invalid_argument("linger must be >= 0");
  if (options.max_buffered_bytes == 0) options.max_buffered_bytes = kDefaultMaxBufferedBytes;
  TIDEMQ_ASSIGN_OR_RETURN(auto conn, Connection::create(client::producer_connection_options(options)));
  auto impl = std::make_unique<Impl>(std::move(options), std::move(conn));
  Impl* raw = impl.get();
  raw->conn->set_session_listener([raw](const client::HelloInfo& h) { raw->on_session(h); });
  TIDEMQ_RETURN_IF_ERROR(client::connect_producer(*raw->conn));
  raw->callback_thread_ = std::thread([raw] { raw->callback_loop(); });
  raw->timer_thread_ = std::thread([raw] { raw->timer_loop(); });
  return std::unique_ptr<Producer>(new Producer(std::move(impl)));
}

Producer::Producer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Producer::~Producer() { close(); }

Result<SendResult> Producer::send(Message msg) {
  if (std::this_thread::get_id() == impl_->callback_thread_.get_id()) {
    return Status::invalid_argument("Producer::send from a send_async callback would wait for itself");
  }
  std::promise<Result<SendResult>> promise;
  auto future = promise.get_future();
  impl_->send_async(std::move(msg), [&promise](const Result<SendResult>& r) { promise.set_value(r); });
  return future.get();
}

void Producer::send_async(Message msg, SendCallback cb) { impl_->send_async(std::move(msg), std::move(cb)); }

Status Producer::flush(std::chrono::milliseconds timeout) { return impl_->flush(timeout); }

void Producer::close() { impl_->close(); }

Result<uint32_t> Producer::partition_count(const std::string& topic) {
  std::unique_lock lock(impl_->mu_);
  TIDEMQ_ASSIGN_OR_RETURN(auto t, impl_->topic_locked(lock, topic));
  return static_cast<uint32_t>(t->partitions.size());
}

}  // namespace tidemq
