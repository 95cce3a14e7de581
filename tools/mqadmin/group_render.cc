#include "tools/mqadmin/group_render.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <fmt/format.h>

#include "common/snowflake.h"

namespace tidemq::tools {
namespace {

std::string number_text(double v) {
  char buf[64];
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.6g", v);
  }
  return buf;
}

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

}  // namespace

std::string format_rate(double per_sec) { return per_sec <= 0 ? "unlimited" : number_text(per_sec); }

std::string format_partition_list(std::vector<uint32_t> partitions) {
  if (partitions.empty()) return "-";
  std::sort(partitions.begin(), partitions.end());
  partitions.erase(std::unique(partitions.begin(), partitions.end()), partitions.end());
  std::vector<std::string> ranges;
  for (size_t i = 0; i < partitions.size();) {
    size_t j = i;
    while (j + 1 < partitions.size() && partitions[j + 1] == partitions[j] + 1) ++j;
    ranges.push_back(j == i ? std::to_string(partitions[i])
                            : std::to_string(partitions[i]) + "-" + std::to_string(partitions[j]));
    i = j + 1;
  }
  return join(ranges, ",");
}

std::string format_assignment(const std::vector<GroupAssignment>& assignment) {
  std::vector<std::string> parts;
  for (const auto& a : assignment) {
    if (a.partitions.empty()) continue;
    parts.push_back(a.topic + "[" + format_partition_list(a.partitions) + "]");
  }
  return parts.empty() ? "-" : join(parts, " ");
}

std::string format_subscriptions(const std::vector<GroupSubscription>& subscriptions) {
  std::vector<std::string> parts;
  for (const auto& s : subscriptions) parts.push_back(s.topic + "(" + (s.expression.empty() ? "*" : s.expression) + ")");
  return parts.empty() ? "-" : join(parts, " ");
}

std::string format_topic_rates(const std::vector<TopicRateLimit>& rates) {
  std::vector<std::string> parts;
  for (const auto& r : rates) {
    std::string text = r.topic;
    // fmt::format, not " " + std::string: GCC 12 -O2 warns (false -Wrestrict) on the latter.
    if (r.max_msgs_per_sec > 0) text += fmt::format(" {} msg/s", number_text(r.max_msgs_per_sec));
    if (r.max_bytes_per_sec > 0) text += fmt::format(" {} B/s", number_text(r.max_bytes_per_sec));
    if (r.max_msgs_per_sec <= 0 && r.max_bytes_per_sec <= 0) text += " unlimited";
    parts.push_back(std::move(text));
  }
  return parts.empty() ? "-" : join(parts, ", ");
}

std::string consume_mode_name(bool broadcast) { return broadcast ? "broadcasting" : "clustering"; }

std::string retry_policy_name(const std::string& policy) { return policy.empty() ? "default" : policy; }

JsonValue group_settings_json(const GroupSettings& s) {
  auto rates = JsonValue::array();
  for (const auto& r : s.topic_rates) {
    rates.push(JsonValue::object()
                   .set("topic", r.topic)
                   .set("max_msgs_per_sec", r.max_msgs_per_sec)
                   .set("max_bytes_per_sec", r.max_bytes_per_sec));
  }
  return JsonValue::object()
      .set("name", s.name)
      .set("strategy", assign_strategy_name(s.strategy))
      .set("mode", consume_mode_name(s.broadcast))
      .set("reset_policy", s.reset_policy.empty() ? "latest" : s.reset_policy)
      .set("max_msgs_per_sec", s.max_msgs_per_sec)
      .set("max_bytes_per_sec", s.max_bytes_per_sec)
      .set("burst_ms", s.burst_ms)
      .set("topic_rates", std::move(rates))
      .set("retry_policy", retry_policy_name(s.retry_policy))
      .set("max_reconsume_times", s.max_reconsume_times);
}

std::string group_settings_summary(const GroupSettings& s) {
  std::string out = fmt::format("strategy {}, {}, reset {}, rate {}{}, bytes {}{}, burst {} ms",
                                assign_strategy_name(s.strategy), consume_mode_name(s.broadcast),
                                s.reset_policy.empty() ? "latest" : s.reset_policy, format_rate(s.max_msgs_per_sec),
                                s.max_msgs_per_sec > 0 ? " msg/s" : "", format_rate(s.max_bytes_per_sec),
                                s.max_bytes_per_sec > 0 ? " B/s" : "", s.burst_ms);
  if (!s.topic_rates.empty()) out += ", topic rates " + format_topic_rates(s.topic_rates);
  out += fmt::format(", retry {}, max reconsume {}", retry_policy_name(s.retry_policy), s.max_reconsume_times);
  return out;
}

std::string group_list_table(const std::vector<GroupSettings>& groups) {
  Table table({"GROUP", "STRATEGY", "MODE", "RESET_POLICY", "RATE_MSGS", "RATE_BYTES", "BURST_MS", "TOPIC_RATES",
               "RETRY_POLICY", "MAX_RECONSUME"});
  for (size_t c = 4; c <= 6; ++c) table.set_align(c, Table::Align::kRight);
  table.set_align(9, Table::Align::kRight);
  for (const auto& g : groups) {
    table.add_row({g.name, assign_strategy_name(g.strategy), consume_mode_name(g.broadcast),
                   g.reset_policy.empty() ? "latest" : g.reset_policy, format_rate(g.max_msgs_per_sec),
                   format_rate(g.max_bytes_per_sec), std::to_string(g.burst_ms), format_topic_rates(g.topic_rates),
                   retry_policy_name(g.retry_policy), std::to_string(g.max_reconsume_times)});
  }
  return table.render();
}

JsonValue consumer_progress_json(const ConsumerProgress& p) {
  auto parts = JsonValue::array();
  uint64_t total = 0;
  for (const auto& pp : p.partitions) {
    total += pp.lag;
    parts.push(JsonValue::object()
                   .set("topic", pp.topic)
                   .set("partition", pp.partition)
                   .set("start_offset", pp.start_offset)
                   .set("end_offset", pp.end_offset)
                   .set("committed_offset", pp.committed_offset)
                   .set("lag", pp.lag)
                   .set("owner", pp.owner)
                   .set("owner_client_id", pp.owner_client_id)
                   .set("last_commit_ms", pp.last_commit_ms));
  }
  return JsonValue::object()
      .set("group", p.group)
      .set("partitions", std::move(parts))
      .set("total_lag", total)
      .set("retry_scheduled", p.retry_scheduled)
      .set("dlq_messages", p.dlq_messages);
}

std::string consumer_progress_table(const ConsumerProgress& p) {
  Table table({"TOPIC", "PARTITION", "START_OFFSET", "END_OFFSET", "COMMITTED", "LAG", "OWNER", "CLIENT_ID",
               "LAST_COMMIT"});
  for (size_t c = 1; c <= 5; ++c) table.set_align(c, Table::Align::kRight);
  uint64_t total = 0;
  for (const auto& pp : p.partitions) {
    total += pp.lag;
    table.add_row({pp.topic, std::to_string(pp.partition), std::to_string(pp.start_offset),
                   std::to_string(pp.end_offset), pp.committed_offset < 0 ? "-" : std::to_string(pp.committed_offset),
                   std::to_string(pp.lag), pp.owner.empty() ? "-" : pp.owner,
                   pp.owner_client_id.empty() ? "-" : pp.owner_client_id, format_time_ms(pp.last_commit_ms)});
  }
  return table.render() + "total lag: " + std::to_string(total) + "\nretry scheduled: " +
         std::to_string(p.retry_scheduled) + "\ndlq messages: " + std::to_string(p.dlq_messages) + "\n";
}

JsonValue consumer_connection_json(const GroupDescription& d) {
  auto members = JsonValue::array();
  for (const auto& m : d.members) {
    auto subs = JsonValue::array();
    for (const auto& s : m.subscriptions) subs.push(JsonValue::object().set("topic", s.topic).set("expression", s.expression));
    auto assignment = JsonValue::array();
    for (const auto& a : m.assignment) {
      auto parts = JsonValue::array();
      for (uint32_t p : a.partitions) parts.push(p);
      assignment.push(JsonValue::object().set("topic", a.topic).set("partitions", std::move(parts)));
    }
    members.push(JsonValue::object()
                     .set("member_id", m.member_id)
                     .set("client_id", m.client_id)
                     .set("remote", m.remote)
                     .set("subscriptions", std::move(subs))
                     .set("assignment", std::move(assignment))
                     .set("last_heartbeat_age_ms", m.last_heartbeat_age_ms));
  }
  return JsonValue::object()
      .set("group", d.settings.name)
      .set("generation", d.generation)
      .set("strategy", assign_strategy_name(d.settings.strategy))
      .set("mode", consume_mode_name(d.settings.broadcast))
      .set("members", std::move(members));
}

std::string consumer_connection_text(const GroupDescription& d) {
  std::string out = render_fields({{"group", d.settings.name},
                                   {"generation", std::to_string(d.generation)},
                                   {"strategy", assign_strategy_name(d.settings.strategy)},
                                   {"mode", consume_mode_name(d.settings.broadcast)},
                                   {"members", std::to_string(d.members.size())}});
  if (d.members.empty()) return out + "no members online\n";
  Table table({"MEMBER_ID", "CLIENT_ID", "REMOTE", "SUBSCRIPTIONS", "ASSIGNMENT", "LAST_HEARTBEAT"});
  for (const auto& m : d.members) {
    table.add_row({m.member_id, m.client_id, m.remote, format_subscriptions(m.subscriptions),
                   format_assignment(m.assignment), format_duration_ms(m.last_heartbeat_age_ms) + " ago"});
  }
  return out + "\n" + table.render();
}

JsonValue reset_offsets_json(const std::string& group, const std::string& topic, const std::string& target,
                             const std::vector<PartitionOffset>& offsets) {
  auto list = JsonValue::array();
  for (const auto& o : offsets) {
    list.push(JsonValue::object().set("topic", o.topic).set("partition", o.partition).set("offset", o.offset));
  }
  return JsonValue::object()
      .set("group", group)
      .set("topic", topic)
      .set("target", target)
      .set("offsets", std::move(list));
}

std::string reset_offsets_text(const std::string& group, const std::string& topic, const std::string& target,
                               const std::vector<PartitionOffset>& offsets) {
  Table table({"TOPIC", "PARTITION", "OFFSET"});
  table.set_align(1, Table::Align::kRight);
  table.set_align(2, Table::Align::kRight);
  for (const auto& o : offsets) table.add_row({o.topic, std::to_string(o.partition), std::to_string(o.offset)});
  return fmt::format("group {}, topic {} reset to {}:\n", printable(group), printable(topic), printable(target)) +
         table.render();
}

JsonValue resend_dlq_json(const std::string& group, uint64_t id, uint32_t resent) {
  return JsonValue::object()
      .set("group", group)
      .set("id", id == 0 ? std::string() : SnowflakeGenerator::to_hex(id))
      .set("resent", resent);
}

std::string resend_dlq_text(const std::string& group, uint64_t id, uint32_t resent) {
  const std::string what = id == 0 ? fmt::format("{} message{}", resent, resent == 1 ? "" : "s")
                                   : fmt::format("{} message{} (id {})", resent, resent == 1 ? "" : "s",
                                                 SnowflakeGenerator::to_hex(id));
  return fmt::format("resent {} of %DLQ%{} to group {}\n", what, group, group);
}

}  // namespace tidemq::tools
