#include "broker/config.h"

#include <CLI/CLI.hpp>
#include <map>

#include "broker/version.h"

namespace tidemq::broker {

std::string_view flush_mode_name(FlushMode mode) {
  switch (mode) {
    case FlushMode::kSync: return "sync";
    case FlushMode::kAsync: return "async";
  }
  return "sync";
}

std::string BrokerConfig::listen_host() const {
  auto pos = listen.rfind(':');
  return pos == std::string::npos ? listen : listen.substr(0, pos);
}

uint16_t BrokerConfig::listen_port() const {
  auto pos = listen.rfind(':');
  return static_cast<uint16_t>(std::stoul(listen.substr(pos + 1)));
}

Status validate(const BrokerConfig& c) {
  auto pos = c.listen.rfind(':');
  if (pos == std::string::npos || pos == 0) {
    return Status::invalid_argument("listen: expected host:port, got '" + c.listen + "'");
  }
  try {
    unsigned long port = std::stoul(c.listen.substr(pos + 1));
    if (port > 65535) return Status::invalid_argument("listen: port out of range");
  } catch (const std::exception&) {
    return Status::invalid_argument("listen: bad port in '" + c.listen + "'");
  }
  if (c.max_frame_bytes < 1024) return Status::invalid_argument("max-frame-bytes must be >= 1024");
  if (c.max_message_bytes == 0 || c.max_message_bytes + 4096 > c.max_frame_bytes) {
    return Status::invalid_argument("max-message-bytes must be > 0 and leave 4 KiB below max-frame-bytes");
  }
  if (c.io_threads == 0 || c.blocking_threads == 0) {
    return Status::invalid_argument("io-threads and blocking-threads must be >= 1");
  }
  if (c.max_connections == 0) return Status::invalid_argument("max-connections must be >= 1");
  if (c.default_partitions == 0 || c.default_partitions > kMaxPartitions) {
    return Status::invalid_argument("default-partitions must be in [1, 1024]");
  }
  if (c.idle_timeout_ms <= 0 || c.frame_timeout_ms <= 0 || c.retention_check_ms <= 0) {
    return Status::invalid_argument("timeouts must be > 0");
  }
  if (c.max_pending_bytes == 0) return Status::invalid_argument("max-pending-bytes must be > 0");
  if (c.busy_timeout_ms <= 0) return Status::invalid_argument("busy-timeout-ms must be > 0");
  if (c.disk_check_ms <= 0) return Status::invalid_argument("disk-check-ms must be > 0");
  if (c.transaction_timeout_ms <= 0 || c.check_interval_ms <= 0 || c.max_half_age_ms <= 0 ||
      c.check_reply_timeout_ms <= 0 || c.check_scan_ms <= 0) {
    return Status::invalid_argument("transaction timeouts and intervals must be > 0");
  }
  if (c.check_max == 0) return Status::invalid_argument("check-max must be >= 1");
  if (c.max_half_messages == 0) return Status::invalid_argument("max-half-messages must be >= 1");
  if (c.max_checks_per_sec == 0) return Status::invalid_argument("max-checks-per-sec must be >= 1");
  if (c.outcome_retention_ms < 24ll * 3'600'000) {
    return Status::invalid_argument("outcome-retention-ms must be >= 86400000 (24 h, SPEC §6)");
  }
  if (!(c.table_write_pace >= 0 && c.table_write_pace <= 1000)) {
    return Status::invalid_argument("table-write-pace must be in [0, 1000]");
  }
  if (c.table_write_floor_bytes == 0) return Status::invalid_argument("table-write-floor-bytes must be > 0");
  if (c.ingest_pace_files < 0 || c.ingest_pace_files > 11) {
    return Status::invalid_argument("ingest-pace-files must be in [0, 11] (LevelDB stops writes at 12)");
  }
  if (c.round_latency_target_ms < 0) return Status::invalid_argument("round-latency-target-ms must be >= 0");
  if (c.delay_tick_ms <= 0) return Status::invalid_argument("delay-tick-ms must be > 0");
  if (c.delay_max_per_tick == 0) return Status::invalid_argument("delay-max-per-tick must be >= 1");
  return Status::ok();
}

Result<ParsedConfig> parse_config(int argc, const char* const* argv) {
  ParsedConfig out;
  BrokerConfig& c = out.config;
  CLI::App app{"mqbroker — the tidemq message broker"};
  app.set_config("--config", "", "read flags from a TOML/INI file; unknown keys are errors");
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.set_version_flag("--version", std::string(kVersion));

  std::map<std::string, FlushMode> flush_modes{{"sync", FlushMode::kSync}, {"async", FlushMode::kAsync}};
  app.add_option("--data", c.data_dir, "data directory (one LevelDB)")->capture_default_str();
  app.add_option("--listen", c.listen, "host:port to listen on (port 0: pick one)")->capture_default_str();
  app.add_option("--flush", c.flush, "sync: ack after fsync (group commit); async: ack after write")
      ->transform(CLI::CheckedTransformer(flush_modes, CLI::ignore_case))
      ->default_str("sync");
  app.add_option("--log-level", c.log_level, "trace|debug|info|warn|error|off")->capture_default_str();
  app.add_option("--max-frame-bytes", c.max_frame_bytes, "largest accepted frame")->capture_default_str();
  app.add_option("--max-message-bytes", c.max_message_bytes, "largest message body")->capture_default_str();
  app.add_option("--max-connections", c.max_connections, "connections beyond this are refused")->capture_default_str();
  app.add_option("--io-threads", c.io_threads, "network threads")->capture_default_str();
  app.add_option("--blocking-threads", c.blocking_threads, "threads for reads and admin writes")->capture_default_str();
  app.add_option("--idle-timeout-ms", c.idle_timeout_ms, "close a connection idle this long")->capture_default_str();
  app.add_option("--frame-timeout-ms", c.frame_timeout_ms, "a started frame must arrive within this")->capture_default_str();
  app.add_option("--max-outbound-bytes", c.max_outbound_bytes, "per-connection unsent bytes before it is cut")->capture_default_str();
  app.add_option("--max-inflight-per-connection", c.max_inflight_per_connection, "stop reading a socket past this many open requests")->capture_default_str();
  app.add_option("--max-pending-bytes", c.max_pending_bytes,
                 "appends queued for the writer before producer sockets stop being read (resume at 75 %)")
      ->check(CLI::NonNegativeNumber)  // CLI11 would wrap "-1" around to 2^64-1
      ->capture_default_str();
  app.add_option("--busy-timeout-ms", c.busy_timeout_ms, "a produce parked by back-pressure this long answers SYSTEM_BUSY")
      ->capture_default_str();
  app.add_option("--min-free-disk-bytes", c.min_free_disk_bytes,
                 "below this many free bytes on the data dir, produces get DISK_FULL (0: off)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--disk-check-ms", c.disk_check_ms, "how often free disk space is sampled")->capture_default_str();
  app.add_flag("--auto-create-topics", c.auto_create_topics, "create unknown topics on first produce");
  app.add_option("--default-partitions", c.default_partitions, "partitions of auto-created topics")->capture_default_str();
  app.add_option("--retention-check-ms", c.retention_check_ms, "how often retention runs")->capture_default_str();
  app.add_option("--write-buffer-bytes", c.write_buffer_bytes, "LevelDB write_buffer_size")->capture_default_str();
  app.add_option("--max-file-bytes", c.max_file_bytes, "LevelDB max_file_size")->capture_default_str();
  app.add_option("--block-cache-bytes", c.block_cache_bytes, "LevelDB block cache")->capture_default_str();
  app.add_flag("--compression", c.compression, "LevelDB snappy compression (off: bodies rarely compress)");
  app.add_option("--table-writeback-bytes", c.table_writeback_bytes,
                 "start writeback of LevelDB table files every N bytes, so produce fsyncs do not wait "
                 "behind a memtable flush (0 = off)")
      ->capture_default_str();
  app.add_option("--table-write-pace", c.table_write_pace,
                 "write LevelDB table files at about this many times the ingest rate, so sync "
                 "produces do not wait behind them (0 = unpaced; needs --table-writeback-bytes)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--table-write-floor-bytes", c.table_write_floor_bytes,
                 "paced table writes never go slower than this many bytes/s")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--round-quantum-bytes", c.round_quantum_bytes,
                 "a partition's share of one group-commit round, so a quiet partition's append is not "
                 "written behind a busy one's backlog (0 = a round takes everything queued)")
      ->capture_default_str();
  app.add_option("--ingest-pace-files", c.ingest_pace_files,
                 "pace produce admission from this many LevelDB level-0 files on, so a flood does not "
                 "reach LevelDB's write stop (12 files) and stall every producer (0 = off)")
      ->capture_default_str();
  app.add_option("--round-latency-target-ms", c.round_latency_target_ms,
                 "while a light producer (one small request in flight) is active, pace the others so a "
                 "group-commit write takes at most this long (0 = off)")
      ->capture_default_str();

  app.add_option("--transaction-timeout-ms", c.transaction_timeout_ms,
                 "first check-back of an unresolved half-message after this long")->capture_default_str();
  app.add_option("--check-interval-ms", c.check_interval_ms, "then check again every this long")->capture_default_str();
  app.add_option("--check-max", c.check_max, "park a half-message after this many checks actually sent")
      ->capture_default_str();
  app.add_option("--max-half-age-ms", c.max_half_age_ms, "... or when it is this old (72 h)")->capture_default_str();
  app.add_option("--max-half-messages", c.max_half_messages, "pending + parked half-messages before SendHalf is refused")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--max-half-per-group", c.max_half_per_group, "the same limit per producer group (0: none)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--max-checks-per-sec", c.max_checks_per_sec, "check-backs sent per second")->capture_default_str();
  app.add_option("--check-reply-timeout-ms", c.check_reply_timeout_ms,
                 "a check-back not answered in this long may be sent again")->capture_default_str();
  app.add_option("--outcome-retention-ms", c.outcome_retention_ms,
                 "commit/rollback outcomes are remembered this long (>= 24 h)")->capture_default_str();
  app.add_option("--check-scan-ms", c.check_scan_ms, "how often the check-back scheduler looks for due work")
      ->capture_default_str();
  app.add_flag("--unsafe-ack-before-sync", c.unsafe_ack_before_sync,
               "TESTING ONLY: acknowledge produces, offset commits and half-messages at once and write them 200 ms later (loses them on a crash)");
  app.add_option("--delay-tick-ms", c.delay_tick_ms,
                 "how often scheduled messages and retries that are due move into their topics")
      ->capture_default_str();
  app.add_option("--delay-max-per-tick", c.delay_max_per_tick, "scheduled messages moved per tick at most")
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out.exit_early = true;
    out.message = app.help();
    return out;
  } catch (const CLI::CallForVersion&) {
    out.exit_early = true;
    out.message = std::string(kVersion);
    return out;
  } catch (const CLI::ParseError& e) {
    return Status::invalid_argument(e.what());
  }
  TIDEMQ_RETURN_IF_ERROR(validate(c));
  return out;
}

}  // namespace tidemq::broker
