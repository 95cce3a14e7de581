#pragma once
// The transaction core (SPEC §6): half-messages, EndTransaction, the check-back scheduler,
// outcomes. No networking: handlers call it, and it reaches producers through CheckSender.
//
// Durable state (broker/txn/half_record.h): half records in the half log (`<data>/halflog`,
// broker/txn/half_log.h; each store, check update, park or resume appends the transaction's new
// record, the newest one is its state), and in LevelDB an outcome record per resolved
// transaction (kTxnOutcome) with an expiry index (kTxnOutcomeExpiry). A transaction is resolved
// iff its outcome exists: a commit is ONE WriteBatch through LogStore's writer (the append + the
// outcome + its expiry key), a rollback one write of the outcome + expiry key; then its half
// record is released (its segment goes when nothing in it is live). So a half body is written
// once to the half log and once (on commit) to its partition, never twice into LevelDB.
// Segments older than half_log_compact_ms have their live records moved to the head (run_checks),
// so a resolved transaction's record is gone long before its outcome expires.
//
// In memory (HalfIndex): metadata of pending and parked transactions and where their record is,
// no bodies; bodies are read from the half log on the blocking executor when a commit, a check
// or a query needs one. Outcomes are not kept in memory: a lookup reads LevelDB on the blocking
// executor.
//
// Threads: every method is thread-safe. Unless it says "blocking", a method only takes a short
// mutex, queues writes on the LogStore writer and posts reads to `blocking`; it never does
// LevelDB I/O itself, so network threads may call it. Callbacks run on the LogStore writer
// thread, a `blocking` thread or (for an immediate answer) the calling thread, never under the
// service's lock; they must not block. CheckSender is never called under the lock either.
//
// Serialisation: at most one persistent operation (store, check update, park, resolve, resume)
// is in flight per transaction; a send_half/end that finds one waits for it and is then run
// again (so the first COMMIT or ROLLBACK wins, and a later one answers its outcome).
#include <asio/any_io_executor.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/store/db.h"
#include "broker/store/log_store.h"
#include "broker/store/topic_registry.h"
#include "broker/txn/check_sender.h"
#include "broker/txn/half_index.h"
#include "broker/txn/half_log.h"
#include "broker/txn/half_record.h"
#include "broker/txn/time_mapping.h"
#include "broker/txn/txn_options.h"
#include "broker/txn/txn_types.h"
#include "common/clock.h"
#include "common/status.h"
#include "common/thread_annotations.h"

namespace spdlog {
class logger;
}

namespace tidemq::broker::txn {

class TxnService {
 public:
  using SendHalfCallback = std::function<void(Result<SendHalfAck>)>;
  using EndCallback = std::function<void(Result<Outcome>)>;

  // `blocking` runs LevelDB reads (the broker's blocking pool). All references must outlive the
  // service; the writer and `blocking` must keep running until stop() returned, and `blocking`
  // must not be destroyed before LogStore::stop() (write completions post to it from the writer).
  TxnService(Db& db, LogStore& log, TopicRegistry& topics, const Clock& clock, TxnOptions options,
             CheckSender& sender, asio::any_io_executor blocking);
  ~TxnService();  // stop()

  // Blocking, once, before serving (after LogStore::open): opens the half log, keeps each
  // unresolved transaction's newest record (metadata only) and maps its persisted times onto the
  // monotonic clock (broker/txn/time_mapping.h); half records of an older data directory
  // (LevelDB kHalf) are moved into the log first. A damaged half log record or one that does not
  // decode fails open() with a StorageError naming the file or the transaction (the broker
  // refuses to start rather than guess). Outcomes stay in LevelDB.
  Status open();

  // Refuses new calls (ShuttingDown), then waits until every operation in flight has completed
  // (its callback ran). Blocking; idempotent. Call before LogStore::stop and before the blocking
  // pool stops (in-flight operations need both).
  void stop();
  // Blocking: waits until no operation is in flight and the half log has done what they queued
  // (segment deletions, rolls). Tests; stop() uses it.
  void drain();

  // Stores a half-message: invisible, in no partition, checked back when unresolved.
  // `batch` passed record::validate(); it must hold exactly one record, whose id is the txn id.
  // `immunity_ms` > 0 replaces transaction_timeout for the first check (clamped to 1 h).
  // Ack once durable. A txn id the broker already has (pending, parked, being stored, or with a
  // remembered outcome) is acknowledged again with its original store time and nothing is stored.
  // `first_attempt` (the producer promises it never sent this txn id before) skips the lookup of
  // a remembered outcome, a LevelDB read on the blocking pool: the half goes straight to the log.
  // Errors: InvalidArgument (not one record, id 0, empty group), TopicNotFound,
  // InvalidPartition, TooManyHalfMessages (message names the limit and its flag; halves being
  // stored count), StorageError, ShuttingDown.
  void send_half(std::string producer_group, uint32_t topic_id, uint32_t partition, std::string batch,
                 uint32_t immunity_ms, SendHalfCallback cb, bool first_attempt = false);

  // Ends a transaction. The first COMMIT or ROLLBACK wins and is final: a repeated, concurrent or
  // late one (from any source) answers the recorded outcome and writes nothing.
  //   COMMIT: appends the message to its topic (offset assigned then; producer id cleared) and, in
  //     the same WriteBatch, deletes the half and records the outcome. -> COMMITTED + offset.
  //   ROLLBACK: one write: delete the half, record the outcome. -> ROLLED_BACK.
  //   UNKNOWN: changes nothing. -> PENDING or PARKED (or the outcome, if resolved).
  // NotFound when the broker has neither the half nor a remembered outcome. A failed commit
  // (TopicNotFound if the topic was deleted meanwhile, StorageError) leaves the half pending.
  void end(uint64_t txn_id, Action action, Source source, EndCallback cb);

  // A producer's CheckTransaction reply: the check is no longer outstanding (if it came from the
  // session it was sent to); COMMIT/ROLLBACK then end(..., Source::kCheck).
  void on_check_reply(uint64_t session_id, uint64_t txn_id, Action action);
  // The session's outstanding checks are no longer outstanding (their next due time applies).
  void on_session_closed(uint64_t session_id);

  // One scheduler round: call every check_scan_ms from a timer on a non-network thread (it reads
  // LevelDB to expire outcomes). Never runs concurrently with itself (a second caller returns).
  // Due pending halves, oldest due first across groups, while the checks/s budget lasts:
  //   - a check still outstanding (sent less than check_reply_timeout ago) waits for it;
  //   - check_count >= check_max or age >= max_half_age (since receipt or the last resume):
  //     parked (persisted); this needs no producer;
  //   - no live producer in the group: nothing happens, the check is not counted, it stays due;
  //   - else the group's next live producer (round-robin by session id) is picked, the new
  //     check count and next due time (now + interval) are persisted FIRST, then the check is
  //     sent (blocking pool). If every live producer's send fails, the in-memory count goes
  //     back and the next round retries (the persisted count stays one ahead; see README).
  // Also deletes up to expire_batch outcomes older than outcome_retention (one write).
  void run_checks();

  // Blocking (blocking pool). State, group, check count, age, next check, the batch (pending or
  // parked) or the offset (committed). NotFound; StorageError for a corrupt record.
  Result<HalfView> query(uint64_t txn_id);
  // Blocking (blocking pool). Unparks (or restarts the checks of a pending half): check count 0,
  // due now, a fresh max-age allowance; persisted before it answers. InvalidArgument if already
  // resolved, NotFound, Busy if another operation on it is in flight (retry).
  Result<HalfView> resume(uint64_t txn_id);

  // halfStatus, for one producer group or all (""). In memory only, plus
  // CheckSender::live_producers per group listed.
  HalfSummary summary(const std::string& group_or_empty) const;

  // Pending + parked + being stored (the count --max-half-messages limits).
  size_t half_count() const;
  // The half log's segments (brokerStatus, tests).
  std::vector<HalfSegmentInfo> half_log_segments() const { return half_log_->segments(); }

  // A pending or parked transaction's current record, read from the half log; nullopt when the
  // service holds no record of it. Blocking.
  Result<std::optional<HalfRecord>> read_half(uint64_t txn_id) const;

 private:
  struct Outstanding {
    uint64_t session;
    int64_t until_mono;
  };
  struct Pick;  // txn_checks.cc

  static Status shutting_down();
  static Status not_found(uint64_t txn_id);

  // --- in-flight operations (for drain/stop) ---
  void begin_op();
  void end_op();

  // --- txn_service.cc (txn_admin.cc: query, resume, summary, view_of) ---
  // Registers `retry` to run when the transaction's operation in flight completes.
  void wait_for(uint64_t txn_id, std::function<void()> retry) REQUIRES(mu_);
  // Takes the waiters of a transaction; run them (unlocked) with run_waiters.
  std::vector<std::function<void()>> take_waiters(uint64_t txn_id) REQUIRES(mu_);
  void run_waiters(std::vector<std::function<void()>> waiters);
  // The outcome lookup (blocking), then write_half.
  void store_half(uint64_t txn_id, HalfRecord rec, SendHalfCallback cb);
  // Appends the first record (non-blocking); finish_store once durable.
  void write_half(uint64_t txn_id, HalfRecord rec, SendHalfCallback cb);
  void finish_store(uint64_t txn_id, Result<SendHalfAck> result, bool stored, SendHalfCallback cb);
  // Reads the body (blocking), then append_commit.
  void commit(uint64_t txn_id, OutcomeRecord outcome, EndCallback cb);
  // The commit's append with its side writes (outcome, expiry key); non-blocking.
  void append_commit(uint64_t txn_id, uint32_t topic_id, uint32_t partition, std::string batch, OutcomeRecord o,
                     EndCallback cb);
  // Young bodies: a half's batch kept in memory from its SendHalf until it is resolved or first
  // checked (within young_body_bytes), so the usual quick commit needs no read and no pool hop.
  void keep_body(uint64_t txn_id, std::string batch);
  // A map entry's own memory (node, key, string header, bucket), so many tiny bodies also stay
  // within young_body_bytes.
  static constexpr size_t kYoungEntryBytes = 80;
  static size_t young_cost(const std::string& batch);
  std::optional<std::string> take_body(uint64_t txn_id) REQUIRES(mu_);
  void drop_body(uint64_t txn_id) REQUIRES(mu_);
  void rollback(uint64_t txn_id, OutcomeRecord outcome, EndCallback cb);
  void finish_resolve(uint64_t txn_id, Result<Outcome> result, EndCallback cb);
  // Appends `payload` (encode_logged_half) as the transaction's new record (it must be in the
  // index, with an operation in flight); once durable, the index points at it and the previous
  // record is released. `done` runs on the half log thread.
  void put_half(uint64_t txn_id, std::string payload, std::function<void(Status)> done);
  // open(): a transaction's newest record into the index (pending ones scheduled).
  void load_half(const TimeBase& t, uint64_t txn_id, HalfPos pos, const HalfRecord& rec) REQUIRES(mu_);
  // open(): half records left in LevelDB by a broker before the half log, moved into the log.
  Status migrate_leveldb_halves(const TimeBase& t) REQUIRES(mu_);
  // Reads a transaction's outcome (blocking). nullopt when absent.
  Result<std::optional<OutcomeRecord>> read_outcome(uint64_t txn_id) const;
  // The outcome, or NotFound (blocking).
  Result<Outcome> lookup_outcome(uint64_t txn_id) const;
  HalfView view_of(uint64_t txn_id, const OutcomeRecord& o) const;
  TimeBase now() const;

  // --- txn_checks.cc ---
  // run_checks' decisions: parks and checks of the due pending halves.
  void check_due(const TimeBase& t);
  void persist_check(Pick pick);
  void send_check(Pick pick, HalfRecord rec);
  // Ends a check: `sent_to` the session that took it, or nullopt (nothing sent: the in-memory
  // count goes back). Scheduled again at `due_mono`.
  void finish_check(uint64_t txn_id, std::optional<uint64_t> sent_to, int64_t due_mono);
  void persist_park(uint64_t txn_id);
  void finish_park(uint64_t txn_id, Status st);
  void expire_outcomes(int64_t now_unix_ms);
  // Rolls an old head segment and moves the live records of old segments to the head.
  void compact_half_log(const TimeBase& t);
  void move_half(uint64_t txn_id);

  Db& db_;
  LogStore& store_;
  TopicRegistry& topics_;
  const Clock& clock_;
  const TxnOptions opt_;
  CheckSender& sender_;
  asio::any_io_executor blocking_;
  std::shared_ptr<spdlog::logger> logger_;
  std::unique_ptr<HalfLog> half_log_;

  mutable std::mutex mu_;
  HalfIndex index_ GUARDED_BY(mu_);
  std::unordered_map<uint64_t, std::vector<std::function<void()>>> waiters_ GUARDED_BY(mu_);
  std::unordered_map<uint64_t, Outstanding> outstanding_ GUARDED_BY(mu_);  // txn -> check in flight
  std::unordered_map<uint64_t, std::string> young_ GUARDED_BY(mu_);         // txn -> batch
  size_t young_bytes_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
  // Checks/s cap: a one-second window on the monotonic clock.
  int64_t window_start_mono_ GUARDED_BY(mu_) = 0;
  uint32_t window_checks_ GUARDED_BY(mu_) = 0;

  std::mutex round_mu_;  // run_checks never overlaps itself
  std::atomic<bool> expiry_in_flight_{false};

  std::atomic<uint64_t> checks_sent_{0};
  std::atomic<uint64_t> committed_{0};
  std::atomic<uint64_t> rolled_back_{0};

  std::mutex flight_mu_;
  std::condition_variable flight_cv_;
  uint64_t in_flight_ GUARDED_BY(flight_mu_) = 0;
};

}  // namespace tidemq::broker::txn
