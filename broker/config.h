#pragma once
// Broker configuration: one documented struct with defaults, filled from flags or a config file
// (--config FILE, TOML/INI) and validated once (STYLE habit 14).
#include <cstdint>
#include <string>
#include <vector>

#include "broker/store/types.h"
#include "common/status.h"

namespace tidemq::broker {

struct BrokerConfig {
  std::string data_dir = "./data";
  std::string listen = "127.0.0.1:7911";  // host:port; port 0 picks a free port
  FlushMode flush = FlushMode::kSync;
  std::string log_level = "info";

  uint32_t max_frame_bytes = 16u << 20;
  uint32_t max_message_bytes = 4u << 20;
  uint32_t max_connections = 10'000;
  uint32_t io_threads = 2;
  uint32_t blocking_threads = 2;               // fetch reads, admin writes
  int64_t idle_timeout_ms = 120'000;           // no request for this long: close
  int64_t frame_timeout_ms = 30'000;           // a started frame must complete within this
  size_t max_outbound_bytes = 64u << 20;       // per connection; a reader that never reads is cut
  uint32_t max_inflight_per_connection = 4096; // stop reading a socket past this
  // Producer back-pressure (broker/net/write_pressure.h): past max_pending_bytes of appends queued
  // for the writer, produce requests are parked and connections that produce stop being read
  // until pending bytes fall to 75 % of it; a parked request answers SYSTEM_BUSY after
  // busy_timeout_ms.
  size_t max_pending_bytes = 256u << 20;
  int64_t busy_timeout_ms = 5'000;
  // Disk low-water mark (broker/store/disk_guard.h): below this many free bytes on the data
  // dir's filesystem, produces get DISK_FULL; 0 disables. Sampled every disk_check_ms.
  uint64_t min_free_disk_bytes = 512ull << 20;
  int64_t disk_check_ms = 1'000;
  bool auto_create_topics = false;
  uint32_t default_partitions = 4;
  int64_t retention_check_ms = 60'000;

  // LevelDB tuning (SPEC §4.4 hot-path hints; the sweep behind these is in perf/RESULTS.md).
  // A large memtable absorbs bursts while compaction runs; small table files keep each
  // compaction short, so a flush rarely waits for one (fewer write stalls).
  size_t write_buffer_bytes = 128u << 20;
  size_t max_file_bytes = 4u << 20;
  size_t block_cache_bytes = 64u << 20;
  bool compression = false;
  size_t table_writeback_bytes = 1u << 20;  // start writeback of table files every N bytes; 0 = off
  // Table files are written at about table_write_pace × the ingest rate, at least
  // table_write_floor_bytes per second (broker/store/table_pace.h); 0 = unpaced.
  double table_write_pace = 2.0;
  uint64_t table_write_floor_bytes = 16u << 20;
  // Produce admission is paced from this many level-0 files on (broker/net/ingest_pace.h), so a
  // flood does not reach LevelDB's stop trigger (12) and stall every producer; 0 = off.
  int ingest_pace_files = 6;
  // While a light producer (one small request in flight) is active, the others are admitted at
  // a rate that keeps a group-commit round's write under this many ms (broker/net/latency_pace.h);
  // 0 = off.
  int64_t round_latency_target_ms = 8;
  // A partition's share of one group-commit round (broker/store/log_store.h); 0 = unlimited.
  size_t round_quantum_bytes = 1u << 20;

  // Transactions (SPEC §6, broker/txn/). Ages use the monotonic clock.
  int64_t transaction_timeout_ms = 6'000;      // first check-back this long after the half arrived
  int64_t check_interval_ms = 30'000;          // then again every this long while unresolved
  uint32_t check_max = 15;                     // park after this many checks actually sent
  int64_t max_half_age_ms = 72ll * 3'600'000;  // ... or when the half-message is this old
  uint64_t max_half_messages = 1'000'000;      // pending + parked, broker-wide: SendHalf refused past it
  uint64_t max_half_per_group = 0;             // the same per producer group (0: no per-group limit)
  uint32_t max_checks_per_sec = 1'000;         // check-backs sent per second, broker-wide
  int64_t check_reply_timeout_ms = 3'000;      // a check not answered in this long may be sent again
  int64_t outcome_retention_ms = 24ll * 3'600'000;  // commit/rollback outcomes remembered this long
  int64_t check_scan_ms = 200;                 // how often the check-back scheduler looks for due work

  // Testing only (tests/reliability canaries T1c, T4c, T6c): acknowledge a produce, an offset
  // commit or a half-message at once and store it 200 ms later. Loses them on a crash.
  bool unsafe_ack_before_sync = false;

  // Scheduled messages and retries (SPEC §7, broker/schedule/).
  int64_t delay_tick_ms = 100;                 // how often due messages are moved into their topics
  uint32_t delay_max_per_tick = 4096;          // messages moved per tick at most

  std::string listen_host() const;
  uint16_t listen_port() const;
};

std::string_view flush_mode_name(FlushMode mode);

// Parses argv (and the --config file it names). Returns the config, or a Status whose message
// names the offending flag or key. `exit_early` is set for --help/--version (text in `message`).
struct ParsedConfig {
  BrokerConfig config;
  bool exit_early = false;
  std::string message;
};
Result<ParsedConfig> parse_config(int argc, const char* const* argv);

// Checks ranges and combinations.
Status validate(const BrokerConfig& config);

}  // namespace tidemq::broker
