#pragma once
// mqperf flags (SPEC §9): one documented struct, validated once before a run.
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "tidemq/options.h"

namespace CLI {
class App;
}  // namespace CLI

namespace tidemq::perf {

enum class Mode { kProduce, kConsume, kE2e, kTxn };

std::string mode_name(Mode mode);

struct PerfOptions {
  Mode mode = Mode::kProduce;
  std::string broker = "127.0.0.1:7911";  // -b host:port (or $TIDEMQ_BROKER)
  std::string topic = "mqperf";
  uint32_t size = 1024;       // message body bytes (e2e: at least 8, the send timestamp)
  uint64_t count = 0;         // total messages; 0 = until --duration (default 1,000,000 if both 0)
  double duration_s = 0;      // stop after this many seconds; 0 = until --count
  uint32_t producers = 1;     // producer connections, one thread each
  uint32_t consumers = 1;     // reader connections (with --group: group members), one thread each
  uint32_t inflight = 64;     // ProducerOptions::max_inflight_requests
  uint64_t batch = 256 * 1024;  // ProducerOptions::max_batch_bytes; 0 or 1 = one message per request
  int64_t linger_us = 2000;   // ProducerOptions::linger
  double rate = 0;            // total messages per second over all producers; 0 = as fast as possible
  uint32_t partitions = 4;    // produce/e2e: create the topic with this many partitions if missing
  std::string group;          // consume/e2e: read as members of this consumer group
  std::string timeline;       // CSV file: second,produced,delivered,lag
  bool json = false;          // summary as one JSON object on stdout
  int64_t request_timeout_ms = 30000;  // a request (and a stalled run) gives up after this

  // txn (RocketMQ benchmark's TransactionProducer flags): fractions 0..1 of transactions whose
  // local transaction answers ROLLBACK / UNKNOWN (-sr, -su), and of check-backs of UNKNOWN ones
  // answered ROLLBACK / UNKNOWN (-cr, -cu); the rest COMMIT.
  double send_rollback_rate = 0;
  double send_unknown_rate = 0;
  double check_rollback_rate = 0;
  double check_unknown_rate = 0;
  int64_t check_interval_ms = 30000;  // the broker's check interval: two checks of one txn closer than this are duplicated
  double check_wait_s = 0;            // after the last transaction, answer checks until none is awaited (or this long)
  uint32_t checker_threads = 1;       // TransactionalProducerOptions::checker_threads per producer
  // txn: --group is the producer group (default "mqperf-txn-<pid>", so checks of this run's
  // transactions come back to this process only).
};

inline constexpr uint64_t kDefaultCount = 1'000'000;
inline constexpr uint32_t kMaxMessageBytes = 4 * 1024 * 1024;

// Adds the flags of `mode` to `cmd`, bound to `options`.
void add_flags(CLI::App& cmd, PerfOptions& options, Mode mode);

// RocketMQ's benchmark spells the txn rates -sr, -su, -cr, -cu; CLI11 takes one-letter short
// options only, so these words (also as "-sr=0.1") become --send-rollback-rate etc. before parsing.
std::vector<std::string> expand_rocketmq_flags(std::vector<std::string> args);

// Fills defaults that depend on other flags (count when neither --count nor --duration is given).
void finalize_options(PerfOptions& options);

// InvalidArgument naming the bad flag; ok otherwise.
Status validate_options(const PerfOptions& options);

// The producer settings for a run: --inflight, --batch (0 or 1: one message per request, i.e. a
// tiny max_batch_bytes and no linger), --linger-us, --request-timeout-ms.
ProducerOptions producer_options(const PerfOptions& options);
ClientOptions client_options(const PerfOptions& options, const std::string& client_id);

// Messages worker `index` of `workers` sends when `total` are split evenly (the first ones get
// the remainder). 0 when total is 0 (duration mode).
uint64_t split_count(uint64_t total, uint32_t workers, uint32_t index);

// Partitions of reader `index` of `readers`: p where p % readers == index.
std::vector<uint32_t> partitions_for_reader(uint32_t partitions, uint32_t readers, uint32_t index);

}  // namespace tidemq::perf
