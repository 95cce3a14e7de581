#pragma once
// updateSubGroup's flags and how they change a group's settings: only what the user passed is
// changed, everything else keeps its current value (mqadmin reads the current settings first).
// Pure, unit-tested.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "tidemq/admin.h"

namespace tidemq::tools {

struct UpdateGroupFlags {
  std::optional<double> rate;        // --rate: msgs/s for the whole group; 0 = unlimited
  std::optional<double> rate_bytes;  // --rate-bytes: bytes/s; 0 = unlimited
  std::optional<uint32_t> burst_ms;  // --burst-ms
  std::optional<std::string> strategy;      // --strategy avg|avg_by_circle|consistent_hash|sticky
  std::optional<bool> broadcast;            // --broadcast (true) / --clustering (false)
  std::optional<std::string> reset_policy;  // --reset-policy latest|earliest|timestamp:MS
  std::vector<std::string> topic_rates;        // --topic-rate T=N (msgs/s), repeatable
  std::vector<std::string> topic_rates_bytes;  // --topic-rate-bytes T=B (bytes/s), repeatable
  std::optional<std::string> retry_policy;     // --retry-policy default|exponential|notify|D1,D2,...
  std::optional<uint32_t> max_reconsume;       // --max-reconsume N
};

// "orders=2000" -> {"orders", 2000}. InvalidArgument for a missing '=', an empty topic, or a
// value that is not a finite number >= 0.
Result<std::pair<std::string, double>> parse_topic_rate(const std::string& text);

// Applies `flags` to `settings` (the group's current settings, or the defaults for a new group).
// A --topic-rate / --topic-rate-bytes sets that field of the topic's entry (created if needed,
// other field kept); an entry left with both limits 0 is removed, so the topic follows the
// group-wide limits again. Returns InvalidArgument for a bad value (before anything is changed
// on the broker); the result is also checked with validate_group_settings().
Status apply_update_flags(const UpdateGroupFlags& flags, GroupSettings& settings);

}  // namespace tidemq::tools
