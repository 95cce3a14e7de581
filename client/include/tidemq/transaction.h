#pragma once
// Transactional messages (SPEC §6), RocketMQ's flow with C++ idioms:
//
//   1. send_half(): the message is stored durably as a half-message — invisible to consumers —
//      under a transaction id (= its snowflake message id).
//   2. The application runs its local transaction and decides COMMIT, ROLLBACK or UNKNOWN.
//   3. end_transaction(): the broker records the outcome and answers with it. The first COMMIT or
//      ROLLBACK wins and is final; a later one gets the recorded outcome back. COMMIT appends the
//      message to its topic (consumers see it from then on); ROLLBACK drops it; UNKNOWN changes
//      nothing.
//   4. Check-back: a transaction still open after its check immunity (the broker's
//      transaction_timeout, 6 s by default) is checked: the broker asks a live producer of the same
//      producer group, whose TransactionChecker answers from the application's own records. It
//      asks again every check interval (30 s by default) until it gets COMMIT or ROLLBACK.
//
// send_in_transaction() does 1-3 in one call; a lost EndTransaction is reported in its result and
// resolved later by the check-back.
//
// Threads (see client/README.md): a TransactionalProducer owns one connection with its I/O
// thread; `checker_threads` checker threads run TransactionChecker::check (never the I/O thread);
// one callback thread runs the callbacks of the *_async calls; one keeper thread reconnects after
// a connection loss (so the broker can keep checking) and sends a heartbeat while idle.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "tidemq/message.h"
#include "tidemq/options.h"
#include "tidemq/txn_types.h"  // TxnAction, TxnState

namespace tidemq {

// Message property (RocketMQ's name): the first check-back comes this many seconds after the broker
// stored the half-message, instead of after its transaction_timeout. Decimal seconds ("30",
// "0.25"), at most 3600 (the broker's cap). Overrides TransactionalProducerOptions::check_immunity.
inline constexpr std::string_view kCheckImmunityProperty = "CHECK_IMMUNITY_TIME_IN_SECONDS";
// Message property set by the client on the half-message a TransactionChecker gets (RocketMQ's
// name): how many checks the broker has sent for this transaction, this one included ("1", "2"...).
inline constexpr std::string_view kCheckTimesProperty = "TRANSACTION_CHECK_TIMES";

// Answers the broker's check-backs for the producer group (RocketMQ's checkLocalTransaction).
class TransactionChecker {
 public:
  virtual ~TransactionChecker();
  // The outcome of transaction `txn_id` (== half.id) as the application's own records say.
  // kUnknown: not decided yet — the broker asks again after its check interval. An exception
  // counts as kUnknown. Runs on a checker thread, never on the I/O thread; with checker_threads > 1
  // several checks run at once. It may call the producer (send_half, end_transaction, ...), but
  // not close() it.
  virtual TxnAction check(const Message& half, uint64_t txn_id) = 0;
};

using CheckFunction = std::function<TxnAction(const Message& half, uint64_t txn_id)>;
// A TransactionChecker that calls `fn`.
std::shared_ptr<TransactionChecker> make_transaction_checker(CheckFunction fn);

// The application's local transaction for send_in_transaction(): runs on the calling thread after
// the half-message is stored; `msg` carries the id (== txn_id) and the partition.
using LocalTransaction = std::function<TxnAction(const Message& msg, uint64_t txn_id)>;

struct TransactionalProducerOptions {
  // producer.producer_group is required (the broker checks back with live producers of the group).
  // Used: client, producer_group, the selector settings, retries / retry_backoff /
  // delivery_timeout (SendHalf and EndTransaction are retried, keeping the txn id, on retriable
  // errors: the broker stores a retried SendHalf once, and a repeated EndTransaction is answered
  // with the recorded outcome). Not used: batching, in-flight and idempotence settings (each
  // half-message is its own request).
  ProducerOptions producer;
  // Threads running TransactionChecker::check.
  uint32_t checker_threads = 1;
  // Check requests waiting for a checker thread (RocketMQ's checkRequestHoldMax). Beyond it a
  // check is dropped with a warning; the broker asks again after its check interval.
  size_t max_pending_checks = 2000;
  // First check-back this long after the broker stored a half-message (0 = the broker's
  // transaction_timeout); kCheckImmunityProperty overrides it per message. At most 1 h.
  std::chrono::milliseconds check_immunity{0};
  // While connected, a lightweight request this often keeps the connection from the broker's idle
  // timeout (check-backs need a live connection). RocketMQ's heartbeatBrokerInterval.
  std::chrono::milliseconds heartbeat_interval{30000};
  // After a connection loss the producer reconnects at once, then backs off from
  // producer.retry_backoff up to this between failed attempts.
  std::chrono::milliseconds max_reconnect_backoff{5000};
};

// A stored half-message.
struct HalfSendResult {
  uint64_t txn_id = 0;     // the transaction id == the message id
  uint32_t partition = 0;  // where the message goes when committed
  int64_t store_ms = 0;    // the broker's clock when it stored the half-message
};

// The outcome the broker recorded for a transaction.
struct EndTransactionResult {
  TxnState state = TxnState::kPending;  // kPending / kParked after UNKNOWN
  std::string topic;                    // kCommitted: where the message landed
  uint32_t partition = 0;
  uint64_t offset = 0;
};

struct TransactionSendResult {
  uint64_t txn_id = 0;
  uint32_t partition = 0;
  int64_t store_ms = 0;                         // when the half-message was stored
  TxnAction local_action = TxnAction::kUnknown;  // what the local transaction returned
  // The broker's recorded state after the EndTransaction: the local action's, or an earlier
  // outcome that won (e.g. a check-back). kPending when end_status is not ok (nothing known).
  TxnState state = TxnState::kPending;
  uint64_t offset = 0;  // kCommitted: the message's offset in its partition
  // Ok when the broker answered the EndTransaction; otherwise why it was lost (Timeout,
  // Unavailable, ...). The transaction then stays open until a check-back resolves it.
  Status end_status;
};

// The checker side's counters (for tests and monitoring).
struct CheckStats {
  uint64_t received = 0;  // check requests from the broker
  uint64_t answered = 0;  // answers sent back (dropped by the connection if it was lost meanwhile)
  uint64_t dropped = 0;   // not run: max_pending_checks were already waiting
  uint64_t failed = 0;    // the checker threw (answered UNKNOWN) or the request did not decode
};

class TransactionalProducer {
 public:
  using HalfCallback = std::function<void(const Result<HalfSendResult>&)>;
  using EndCallback = std::function<void(const Result<EndTransactionResult>&)>;

  // Connects (Hello as a PRODUCER of options.producer.producer_group, leasing a snowflake worker
  // id) and starts the checker, callback and keeper threads. `checker` is shared with the
  // caller and must not be null. Errors: InvalidArgument (bad options, no producer group, null
  // checker), Unavailable (cannot connect), ProtocolError (no worker id leased).
  static Result<std::unique_ptr<TransactionalProducer>> create(TransactionalProducerOptions options,
                                                               std::shared_ptr<TransactionChecker> checker);
  static Result<std::unique_ptr<TransactionalProducer>> create(TransactionalProducerOptions options,
                                                               CheckFunction checker);
  ~TransactionalProducer();  // close()
  TransactionalProducer(const TransactionalProducer&) = delete;
  TransactionalProducer& operator=(const TransactionalProducer&) = delete;

  // Sends `msg` as a half-message, runs `local_txn` on this thread, ends the transaction with its
  // answer (an exception from `local_txn` counts as UNKNOWN, as in RocketMQ) and returns what
  // the broker recorded. Fails only if the half-message could not be stored: InvalidArgument,
  // MessageTooLarge, TopicNotFound, InvalidPartition, TooManyHalfMessages (the broker's
  // half-message limit), Timeout / Unavailable (after retries; the half-message may still have
  // been stored — then the check-back asks about it), ShuttingDown. A lost EndTransaction is not
  // an error: see TransactionSendResult::end_status. Not from a callback of this producer.
  Result<TransactionSendResult> send_in_transaction(Message msg, const LocalTransaction& local_txn);

  // Step 1 alone: stores `msg` as a half-message. Errors as send_in_transaction. Blocks.
  // Not from a callback of this producer.
  Result<HalfSendResult> send_half(Message msg);
  // Step 3 alone: records `action` for `txn_id` and returns the recorded outcome (the first
  // COMMIT/ROLLBACK wins). Errors: NotFound (no such transaction, or its outcome has expired),
  // Timeout / Unavailable (after retries), ShuttingDown. Blocks. Not from a callback.
  Result<EndTransactionResult> end_transaction(uint64_t txn_id, TxnAction action);

  // The same without blocking for the answer; `cb` runs on the callback thread, never on the I/O
  // thread (inline, on the calling thread, when the producer is closed). send_half_async returns the
  // transaction id assigned to `msg`, or 0 when it failed before one was assigned (`cb` has the
  // error); it may block briefly the first time it sees a topic (its partition count).
  uint64_t send_half_async(Message msg, HalfCallback cb);
  void end_transaction_async(uint64_t txn_id, TxnAction action, EndCallback cb);

  CheckStats check_stats() const;

  // Waits (up to producer.delivery_timeout) for the calls in flight, then stops the checker,
  // callback and keeper threads and closes the connection; later calls fail with ShuttingDown.
  // Queued checks are dropped (the broker asks again). Idempotent. Not from a callback or a checker.
  void close();

 private:
  struct Impl;
  explicit TransactionalProducer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tidemq
