// TransactionalProducer: half-messages, end-transaction, check-back answers (SPEC §6).
//
// Threads: callers (send_half_async picks the partition and assigns the id under mu_), the
// connection's I/O thread (answers; check requests go straight to the CheckDispatcher's pool),
// the callback pool's one thread (user callbacks and delayed retries), the checker threads and
// the keeper thread. No lock is held while a callback or the checker runs.
#include "tidemq/transaction.h"

#include <condition_variable>
#include <future>
#include <mutex>
#include <unordered_map>

#include "client/check_dispatcher.h"
#include "client/connection.h"
#include "client/connection_keeper.h"
#include "client/consume_pool.h"
#include "client/outgoing_message.h"
#include "client/producer_session.h"
#include "client/selectors.h"
#include "client/topic_routes.h"
#include "client/txn_requests.h"
#include "common/clock.h"
#include "common/logging.h"

namespace tidemq {

using client::Connection;
using SteadyClock = std::chrono::steady_clock;

TransactionChecker::~TransactionChecker() = default;

namespace {

class FunctionChecker final : public TransactionChecker {
 public:
  explicit FunctionChecker(CheckFunction fn) : fn_(std::move(fn)) {}
  TxnAction check(const Message& half, uint64_t txn_id) override { return fn_(half, txn_id); }

 private:
  CheckFunction fn_;
};

// The producer whose callback the current thread is running (sync calls from there would wait
// for themselves).
thread_local const void* t_in_callback_of = nullptr;

// One request (SendHalf or EndTransaction) with its retries.
struct Attempts {
  uint32_t failures = 0;
  SteadyClock::time_point deadline{};
};

}  // namespace

std::shared_ptr<TransactionChecker> make_transaction_checker(CheckFunction fn) {
  return std::make_shared<FunctionChecker>(std::move(fn));
}

struct TransactionalProducer::Impl {
  struct HalfOp {
    uint64_t txn_id = 0;
    std::string topic;
    uint32_t partition = 0;
    std::string batch;  // one record, id == txn_id; the same bytes on every attempt
    std::chrono::milliseconds immunity{0};
    Attempts attempts;
    SteadyClock::time_point sent_at{};
    HalfCallback cb;
    size_t bytes() const { return batch.size() + topic.size(); }
  };
  struct EndOp {
    uint64_t txn_id = 0;
    TxnAction action = TxnAction::kUnknown;
    Attempts attempts;
    EndCallback cb;
    static size_t bytes() { return 16; }
  };

  const TransactionalProducerOptions opts;
  std::shared_ptr<spdlog::logger> log = logging::get("txn");
  client::ProducerSession session;
  std::unique_ptr<Connection> conn;
  // Member order is destruction order in reverse: the pools stop (and the keeper joins) before
  // the connection they use is destroyed.
  std::unique_ptr<client::CheckDispatcher> checks;
  client::ConsumePool callbacks{1};
  std::unique_ptr<client::ConnectionKeeper> keeper;

  // SendHalf and EndTransaction requests are coalesced per kind: at most kMaxRequestsInFlight in
  // flight; what is queued meanwhile goes out together as one batch request (a single item as
  // the plain request). Nagle's rule, per kind: a call with nothing of its kind in flight goes out
  // at once; while some are in flight, queued calls go once kMinFollowUpItems items or
  // kMinFollowUpBytes are queued, when the last one in flight is answered, or after kLinger at
  // the latest. Sending each call of a burst as soon as a slot is free instead takes the slots one
  // item each and leaves the rest of the burst waiting behind them (mqperf txn at 1,024 in
  // flight: ~4 ms of queueing per call; perf/RESULTS.md).
  static constexpr uint32_t kMaxRequestsInFlight = 4;
  static constexpr size_t kMinFollowUpItems = 32;
  static constexpr size_t kMinFollowUpBytes = size_t{64} << 10;
  static constexpr std::chrono::milliseconds kLinger{1};
  static constexpr size_t kMaxBatchItems = 1024;
  static constexpr size_t kMaxBatchBytes = size_t{1} << 20;
  template <class Op>
  struct Outbox {
    std::vector<std::shared_ptr<Op>> queue;
    size_t queued_bytes = 0;  // of `queue`
    uint32_t in_flight = 0;
    bool linger_due = false;  // a kLinger flush is scheduled
  };
  enum class Flush { kCall, kAnswered, kLinger };  // what makes flush() look at the queue
  std::mutex outbox_mu_;
  Outbox<HalfOp> halves_ GUARDED_BY(outbox_mu_);
  Outbox<EndOp> ends_ GUARDED_BY(outbox_mu_);

  std::mutex mu_;
  std::condition_variable idle_cv_;
  std::unordered_map<std::string, std::unique_ptr<client::TopicRoute>> routes_ GUARDED_BY(mu_);
  bool closed_ GUARDED_BY(mu_) = false;
  uint64_t outstanding_ GUARDED_BY(mu_) = 0;  // async calls whose callback has not finished
  std::once_flag close_once_;

  Impl(TransactionalProducerOptions o, std::unique_ptr<Connection> c) : opts(std::move(o)), conn(std::move(c)) {}

  bool on_callback_thread() const { return t_in_callback_of == this; }

  // ---- completion: every async call ends here exactly once ----
  template <typename R, typename Cb>
  void complete(Cb& cb, R result) {
    auto run = [this, cb = std::move(cb), result = std::move(result)]() {
      t_in_callback_of = this;
      if (cb) cb(result);
      t_in_callback_of = nullptr;
      finish_one();
    };
    callbacks.submit(std::move(run));
  }

  void finish_one() {
    {
      std::lock_guard lock(mu_);
      --outstanding_;
    }
    idle_cv_.notify_all();
  }

  // Whether a failed attempt is tried again (after retry_backoff).
  bool should_retry(Attempts& a, const Status& st) {
    ++a.failures;
    if (!st.retriable() || a.failures > opts.producer.retries) return false;
    if (SteadyClock::now() + opts.producer.retry_backoff >= a.deadline) return false;
    std::lock_guard lock(mu_);
    return !closed_;
  }

  Status final_status(const Attempts& a, const Status& st) const {
    if (st.retriable() && SteadyClock::now() + opts.producer.retry_backoff >= a.deadline) {
      return Status::timeout("not acknowledged within delivery_timeout; last error: " + st.to_string());
    }
    return st;
  }

  // ---- SendHalf ----
  uint64_t send_half_async(Message msg, HalfCallback cb) {
    auto fail_now = [&](Status st) {
      if (cb) cb(Result<HalfSendResult>(std::move(st)));
      return uint64_t{0};
    };
    if (Status st = client::validate_outgoing(msg, session.max_message_bytes()); !st.is_ok()) return fail_now(st);
    auto immunity = client::check_immunity_of(msg, opts.check_immunity);
    if (!immunity.is_ok()) return fail_now(immunity.status());
    auto op = std::make_shared<HalfOp>();
    {
      std::unique_lock lock(mu_);
      if (closed_) {
        lock.unlock();
        return fail_now(Status(StatusCode::kShuttingDown, "producer closed"));
      }
      auto route = client::find_route(routes_, lock, *conn, opts.producer, msg.topic);
      if (!route.is_ok()) {
        lock.unlock();
        return fail_now(route.status());
      }
      auto partition = (*route)->pick(msg);
      if (!partition.is_ok()) {
        lock.unlock();
        return fail_now(partition.status());
      }
      auto id = session.next_id();
      if (!id.is_ok()) {
        lock.unlock();
        return fail_now(id.status());
      }
      if (closed_) {  // closed while the partition count was asked for
        lock.unlock();
        return fail_now(Status(StatusCode::kShuttingDown, "producer closed"));
      }
      ++(*route)->loads[*partition].inflight;
      ++outstanding_;
      op->txn_id = *id;
      op->partition = *partition;
    }
    op->topic = msg.topic;
    record::BatchBuilder builder;
    builder.add(client::record_input(msg, op->txn_id, static_cast<uint64_t>(Clock::system().now_ms())));
    op->batch = builder.finish(0, 0);
    op->immunity = *immunity;
    op->attempts.deadline = SteadyClock::now() + opts.producer.delivery_timeout;
    op->cb = std::move(cb);
    const uint64_t id = op->txn_id;
    send_half_attempt(op);
    return id;
  }

  // ---- coalescing (see kMaxRequestsInFlight) ----
  // The chunks of `box.queue` that may go now, each counted in flight.
  template <class Op>
  static std::vector<std::vector<std::shared_ptr<Op>>> take_chunks(Outbox<Op>& box, Flush why) {
    std::vector<std::vector<std::shared_ptr<Op>>> chunks;
    size_t i = 0;
    auto may_go = [&] {
      if (i == box.queue.size() || box.in_flight >= kMaxRequestsInFlight) return false;
      return box.in_flight == 0 || why == Flush::kLinger || box.queue.size() - i >= kMinFollowUpItems ||
             box.queued_bytes >= kMinFollowUpBytes;
    };
    while (may_go()) {
      std::vector<std::shared_ptr<Op>> chunk;
      size_t bytes = 0;
      while (i < box.queue.size() && chunk.size() < kMaxBatchItems &&
             (chunk.empty() || bytes + box.queue[i]->bytes() <= kMaxBatchBytes)) {
        bytes += box.queue[i]->bytes();
        chunk.push_back(std::move(box.queue[i++]));
      }
      box.queued_bytes -= bytes;
      ++box.in_flight;
      chunks.push_back(std::move(chunk));
    }
    box.queue.erase(box.queue.begin(), box.queue.begin() + static_cast<std::ptrdiff_t>(i));
    return chunks;
  }
  // Queues `op` (nullptr: none) into `box`, counts an answered request out, and hands each chunk
  // that may go now to `send`; schedules a kLinger flush for calls held back by Nagle's rule.
  template <class Op, class Send>
  void flush(Outbox<Op>& box, std::shared_ptr<Op> op, Flush why, Send send) {
    std::vector<std::vector<std::shared_ptr<Op>>> go;
    bool linger = false;
    {
      std::lock_guard lock(outbox_mu_);
      if (why == Flush::kAnswered) --box.in_flight;
      if (why == Flush::kLinger) box.linger_due = false;
      if (op) {
        box.queued_bytes += op->bytes();
        box.queue.push_back(std::move(op));
      }
      go = take_chunks(box, why);
      if (!box.queue.empty() && box.in_flight < kMaxRequestsInFlight && !box.linger_due) {
        box.linger_due = linger = true;
      }
    }
    for (auto& chunk : go) send(std::move(chunk));
    if (linger) {
      callbacks.submit_after(kLinger, [this, &box, send] { flush(box, std::shared_ptr<Op>(), Flush::kLinger, send); });
    }
  }
  void flush_halves(std::shared_ptr<HalfOp> op, Flush why) {
    flush(halves_, std::move(op), why, [this](auto chunk) { send_halves(std::move(chunk)); });
  }
  void flush_ends(std::shared_ptr<EndOp> op, Flush why) {
    flush(ends_, std::move(op), why, [this](auto chunk) { send_ends(std::move(chunk)); });
  }

  void send_half_attempt(const std::shared_ptr<HalfOp>& op) { flush_halves(op, Flush::kCall); }

  void send_halves(std::vector<std::shared_ptr<HalfOp>> chunk) {
    const auto now = SteadyClock::now();
    std::vector<client::HalfItem> items;
    items.reserve(chunk.size());
    size_t bytes = 128;
    for (const auto& op : chunk) {
      op->sent_at = now;
      // The first attempt lets the broker skip its lookup of a remembered outcome (a new txn id
      // has none); a retry may follow an attempt that was stored and resolved meanwhile.
      items.push_back(client::HalfItem{&op->topic, op->partition, &op->batch, op->immunity,
                                       /*first_attempt=*/op->attempts.failures == 0, op->txn_id});
      bytes += op->bytes() + 64;
    }
    flatbuffers::FlatBufferBuilder fbb(bytes);
    if (chunk.size() == 1) {
      const client::HalfItem& i = items.front();
      auto body = client::build_send_half(fbb, *i.topic, i.partition, *i.batch, i.check_immunity, i.first_attempt);
      conn->send(fbb, wire::Body::SendHalfRequest, body, [this, op = chunk.front()](Result<client::Frame> r) {
        flush_halves(nullptr, Flush::kAnswered);
        on_half_answer(op, r.is_ok() ? client::half_result_from(*r, op->txn_id, op->partition)
                                     : Result<HalfSendResult>(r.status()));
      });
      return;
    }
    auto body = client::build_send_half_batch(fbb, items);
    conn->send(fbb, wire::Body::SendHalfBatchRequest, body,
               [this, chunk = std::move(chunk), items = std::move(items)](Result<client::Frame> r) {
                 flush_halves(nullptr, Flush::kAnswered);
                 auto results = r.is_ok() ? client::half_results_from(*r, items)
                                          : Result<std::vector<Result<HalfSendResult>>>(r.status());
                 for (size_t i = 0; i < chunk.size(); ++i) {
                   on_half_answer(chunk[i], results.is_ok() ? std::move((*results)[i])
                                                            : Result<HalfSendResult>(results.status()));
                 }
               });
  }

  // I/O thread (or the calling thread once the connection is closed).
  void on_half_answer(const std::shared_ptr<HalfOp>& op, Result<HalfSendResult> r) {
    if (!r.is_ok() && should_retry(op->attempts, r.status())) {
      log->debug("SendHalf of txn {} failed, retrying: {}", format_message_id(op->txn_id), r.status().to_string());
      callbacks.submit_after(opts.producer.retry_backoff, [this, op] { send_half_attempt(op); });
      return;
    }
    {
      std::lock_guard lock(mu_);
      auto it = routes_.find(op->topic);
      if (it != routes_.end() && op->partition < it->second->loads.size()) {
        client::TopicRoute& route = *it->second;
        --route.loads[op->partition].inflight;
        if (r.is_ok()) {
          route.record_ack_latency(op->partition,
                                   std::chrono::duration<double, std::micro>(SteadyClock::now() - op->sent_at).count());
        } else {
          route.note_failure(r.status());
        }
      }
    }
    if (!r.is_ok()) r = final_status(op->attempts, r.status());
    complete(op->cb, std::move(r));
  }

  // ---- EndTransaction ----
  void end_transaction_async(uint64_t txn_id, TxnAction action, EndCallback cb) {
    {
      std::unique_lock lock(mu_);
      if (closed_) {
        lock.unlock();
        if (cb) cb(Result<EndTransactionResult>(Status(StatusCode::kShuttingDown, "producer closed")));
        return;
      }
      ++outstanding_;
    }
    auto op = std::make_shared<EndOp>();
    op->txn_id = txn_id;
    op->action = action;
    op->attempts.deadline = SteadyClock::now() + opts.producer.delivery_timeout;
    op->cb = std::move(cb);
    end_attempt(op);
  }

  void end_attempt(const std::shared_ptr<EndOp>& op) { flush_ends(op, Flush::kCall); }

  void send_ends(std::vector<std::shared_ptr<EndOp>> chunk) {
    flatbuffers::FlatBufferBuilder fbb(64 + 32 * chunk.size());
    if (chunk.size() == 1) {
      auto op = chunk.front();
      auto body = client::build_end_transaction(fbb, op->txn_id, op->action);
      conn->send(fbb, wire::Body::EndTransactionRequest, body, [this, op](Result<client::Frame> r) {
        flush_ends(nullptr, Flush::kAnswered);
        on_end_answer(op, r.is_ok() ? client::end_result_from(*r) : Result<EndTransactionResult>(r.status()));
      });
      return;
    }
    std::vector<std::pair<uint64_t, TxnAction>> items;
    items.reserve(chunk.size());
    for (const auto& op : chunk) items.emplace_back(op->txn_id, op->action);
    auto body = client::build_end_transaction_batch(fbb, items);
    conn->send(fbb, wire::Body::EndTransactionBatchRequest, body,
               [this, chunk = std::move(chunk)](Result<client::Frame> r) {
                 flush_ends(nullptr, Flush::kAnswered);
                 auto results = r.is_ok() ? client::end_results_from(*r, chunk.size())
                                          : Result<std::vector<Result<EndTransactionResult>>>(r.status());
                 for (size_t i = 0; i < chunk.size(); ++i) {
                   on_end_answer(chunk[i], results.is_ok() ? std::move((*results)[i])
                                                           : Result<EndTransactionResult>(results.status()));
                 }
               });
  }

  void on_end_answer(const std::shared_ptr<EndOp>& op, Result<EndTransactionResult> r) {
    if (!r.is_ok() && should_retry(op->attempts, r.status())) {
      log->debug("EndTransaction of txn {} failed, retrying: {}", format_message_id(op->txn_id),
                 r.status().to_string());
      callbacks.submit_after(opts.producer.retry_backoff, [this, op] { end_attempt(op); });
      return;
    }
    if (!r.is_ok()) r = final_status(op->attempts, r.status());
    complete(op->cb, std::move(r));
  }

  // ---- blocking forms ----
  template <typename R, typename Start>
  Result<R> wait_for(Start start) {
    if (on_callback_thread()) {
      return Status::invalid_argument("a blocking TransactionalProducer call from its own callback would wait for itself");
    }
    std::promise<Result<R>> promise;
    auto future = promise.get_future();
    start([&promise](const Result<R>& r) { promise.set_value(r); });
    return future.get();
  }

  Result<TransactionSendResult> send_in_transaction(Message msg, const LocalTransaction& local_txn) {
    TIDEMQ_ASSIGN_OR_RETURN(HalfSendResult half, wait_for<HalfSendResult>([&](HalfCallback cb) {
                              (void)send_half_async(msg, std::move(cb));
                            }));
    msg.id = half.txn_id;
    msg.partition = static_cast<int32_t>(half.partition);
    TransactionSendResult out;
    out.txn_id = half.txn_id;
    out.partition = half.partition;
    out.store_ms = half.store_ms;
    try {
      out.local_action = local_txn ? local_txn(msg, half.txn_id) : TxnAction::kUnknown;
    } catch (const std::exception& e) {
      log->warn("local transaction of txn {} threw (ending it UNKNOWN): {}", format_message_id(half.txn_id), e.what());
      out.local_action = TxnAction::kUnknown;
    } catch (...) {
      log->warn("local transaction of txn {} threw (ending it UNKNOWN)", format_message_id(half.txn_id));
      out.local_action = TxnAction::kUnknown;
    }
    auto end = wait_for<EndTransactionResult>(
        [&](EndCallback cb) { end_transaction_async(half.txn_id, out.local_action, std::move(cb)); });
    if (end.is_ok()) {
      out.state = end->state;
      out.offset = end->offset;
    } else {
      out.end_status = end.status();
      log->warn("EndTransaction({}) of txn {} lost, the check-back will resolve it: {}",
                txn_action_name(out.local_action), format_message_id(half.txn_id), end.status().to_string());
    }
    return out;
  }

  // ---- close ----
  void close() {
    TIDEMQ_CHECK(!on_callback_thread(), "TransactionalProducer::close from one of its callbacks");
    std::call_once(close_once_, [this] {
      std::unique_lock lock(mu_);
      closed_ = true;
      // Calls in flight finish normally (or by their delivery timeout)...
      idle_cv_.wait_for(lock, opts.producer.delivery_timeout, [&] { return outstanding_ == 0; });
      lock.unlock();
      conn->close();  // ...or now, with ShuttingDown; no more check requests come in
      keeper->stop();
      lock.lock();
      idle_cv_.wait(lock, [&] { return outstanding_ == 0; });  // their callbacks have run
      lock.unlock();
      checks->stop();
      callbacks.stop();
    });
  }
};

Result<std::unique_ptr<TransactionalProducer>> TransactionalProducer::create(
    TransactionalProducerOptions options, std::shared_ptr<TransactionChecker> checker) {
  if (!checker) return Status::invalid_argument("a TransactionChecker is required");
  if (options.producer.producer_group.empty()) {
    return Status::invalid_argument("producer.producer_group is required (check-backs go to the producer group)");
  }
  if (options.checker_threads == 0) return Status::invalid_argument("checker_threads must be >= 1");
  if (options.max_pending_checks == 0) return Status::invalid_argument("max_pending_checks must be >= 1");
  if (options.producer.delivery_timeout.count() <= 0) return Status::invalid_argument("delivery_timeout must be > 0");
  if (options.producer.retry_backoff.count() < 0) return Status::invalid_argument("retry_backoff must be >= 0");
  if (options.max_reconnect_backoff.count() <= 0) return Status::invalid_argument("max_reconnect_backoff must be > 0");
  if (options.heartbeat_interval.count() < 0) return Status::invalid_argument("heartbeat_interval must be >= 0");
  TIDEMQ_RETURN_IF_ERROR(client::check_immunity_of(Message{}, options.check_immunity).status());
  TIDEMQ_RETURN_IF_ERROR(client::validate_selector_options(options.producer));

  TIDEMQ_ASSIGN_OR_RETURN(auto conn, Connection::create(client::producer_connection_options(options.producer)));
  const uint32_t threads = options.checker_threads;
  const size_t max_pending = options.max_pending_checks;
  auto impl = std::make_unique<Impl>(std::move(options), std::move(conn));
  Impl* raw = impl.get();
  raw->checks = std::make_unique<client::CheckDispatcher>(
      std::move(checker), threads, max_pending,
      [raw](client::OutFrame frame, uint64_t session) { raw->conn->send_oneway(std::move(frame), session); });
  client::ConnectionKeeper::Options keep;
  keep.first_backoff = std::max(raw->opts.producer.retry_backoff, std::chrono::milliseconds(10));
  keep.max_backoff = raw->opts.max_reconnect_backoff;
  keep.heartbeat = raw->opts.heartbeat_interval;
  raw->keeper = std::make_unique<client::ConnectionKeeper>(*raw->conn, keep);
  // All set before the first connect: from then on they run on the I/O thread.
  raw->conn->set_session_listener([raw](const client::HelloInfo& h) { (void)raw->session.on_hello(h); });
  raw->conn->set_incoming_handler([raw](client::Frame f) { raw->checks->on_request(std::move(f)); });
  raw->conn->set_loss_listener([raw](const Status&) { raw->keeper->on_loss(); });
  Status connected = client::connect_producer(*raw->conn);
  if (!connected.is_ok()) {
    raw->close();
    return connected;
  }
  return std::unique_ptr<TransactionalProducer>(new TransactionalProducer(std::move(impl)));
}

Result<std::unique_ptr<TransactionalProducer>> TransactionalProducer::create(TransactionalProducerOptions options,
                                                                             CheckFunction checker) {
  if (!checker) return Status::invalid_argument("a check function is required");
  return create(std::move(options), make_transaction_checker(std::move(checker)));
}

TransactionalProducer::TransactionalProducer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TransactionalProducer::~TransactionalProducer() { close(); }

Result<TransactionSendResult> TransactionalProducer::send_in_transaction(Message msg, const LocalTransaction& local_txn) {
  return impl_->send_in_transaction(std::move(msg), local_txn);
}

Result<HalfSendResult> TransactionalProducer::send_half(Message msg) {
  return impl_->wait_for<HalfSendResult>(
      [&](HalfCallback cb) { (void)impl_->send_half_async(std::move(msg), std::move(cb)); });
}

Result<EndTransactionResult> TransactionalProducer::end_transaction(uint64_t txn_id, TxnAction action) {
  return impl_->wait_for<EndTransactionResult>(
      [&](EndCallback cb) { impl_->end_transaction_async(txn_id, action, std::move(cb)); });
}

uint64_t TransactionalProducer::send_half_async(Message msg, HalfCallback cb) {
  return impl_->send_half_async(std::move(msg), std::move(cb));
}

void TransactionalProducer::end_transaction_async(uint64_t txn_id, TxnAction action, EndCallback cb) {
  impl_->end_transaction_async(txn_id, action, std::move(cb));
}

CheckStats TransactionalProducer::check_stats() const { return impl_->checks->stats(); }

void TransactionalProducer::close() { impl_->close(); }

}  // namespace tidemq
