#include "tools/mqadmin/group_args.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace tidemq::tools {
namespace {

Status set_topic_field(GroupSettings& s, const std::string& text, bool bytes) {
  TIDEMQ_ASSIGN_OR_RETURN(auto parsed, parse_topic_rate(text));
  auto& [topic, value] = parsed;
  auto it = std::find_if(s.topic_rates.begin(), s.topic_rates.end(),
                         [&](const TopicRateLimit& r) { return r.topic == topic; });
  if (it == s.topic_rates.end()) {
    s.topic_rates.push_back({topic, 0, 0});
    it = s.topic_rates.end() - 1;
  }
  (bytes ? it->max_bytes_per_sec : it->max_msgs_per_sec) = value;
  return Status::ok();
}

}  // namespace

Result<std::pair<std::string, double>> parse_topic_rate(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return Status::invalid_argument("per-topic rate must be TOPIC=N, got '" + text + "'");
  }
  const std::string value = text.substr(eq + 1);
  char* end = nullptr;
  const double v = value.empty() ? NAN : std::strtod(value.c_str(), &end);
  if (value.empty() || end != value.c_str() + value.size() || !std::isfinite(v) || v < 0) {
    return Status::invalid_argument("per-topic rate of '" + text.substr(0, eq) + "' must be a number >= 0, got '" +
                                    value + "'");
  }
  return std::make_pair(text.substr(0, eq), v);
}

Status apply_update_flags(const UpdateGroupFlags& f, GroupSettings& s) {
  GroupSettings next = s;
  if (f.rate) next.max_msgs_per_sec = *f.rate;
  if (f.rate_bytes) next.max_bytes_per_sec = *f.rate_bytes;
  if (f.burst_ms) next.burst_ms = *f.burst_ms;
  if (f.strategy) {
    TIDEMQ_ASSIGN_OR_RETURN(next.strategy, parse_assign_strategy(*f.strategy));
  }
  if (f.broadcast) next.broadcast = *f.broadcast;
  if (f.reset_policy) next.reset_policy = *f.reset_policy;
  if (f.retry_policy) next.retry_policy = *f.retry_policy;
  if (f.max_reconsume) next.max_reconsume_times = *f.max_reconsume;
  for (const auto& t : f.topic_rates) TIDEMQ_RETURN_IF_ERROR(set_topic_field(next, t, false));
  for (const auto& t : f.topic_rates_bytes) TIDEMQ_RETURN_IF_ERROR(set_topic_field(next, t, true));
  std::erase_if(next.topic_rates,
                [](const TopicRateLimit& r) { return r.max_msgs_per_sec <= 0 && r.max_bytes_per_sec <= 0; });
  TIDEMQ_RETURN_IF_ERROR(validate_group_settings(next));
  s = std::move(next);
  return Status::ok();
}

}  // namespace tidemq::tools
