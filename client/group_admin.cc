// Admin: consumer-group administration (SPEC §5.2, §5.3; mqadmin updateSubGroup, deleteSubGroup,
// groupList, consumerConnection, consumerProgress, resetOffsetByTime, skipAccumulatedMessage;
// SPEC §7: resendDlq).
#include <algorithm>
#include <cmath>
#include <set>

#include "client/admin_impl.h"
#include "client/group_codec.h"
#include "common/retry_policy.h"

namespace tidemq {
namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && s.size() <= 19 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Status check_rate(double v, const std::string& what) {
  if (!std::isfinite(v) || v < 0) return Status::invalid_argument(what + " must be a finite number >= 0");
  return Status::ok();
}

}  // namespace

std::string assign_strategy_name(AssignStrategy strategy) {
  switch (strategy) {
    case AssignStrategy::kAvg: return "avg";
    case AssignStrategy::kAvgByCircle: return "avg_by_circle";
    case AssignStrategy::kConsistentHash: return "consistent_hash";
    case AssignStrategy::kSticky: return "sticky";
  }
  return "unknown";
}

Result<AssignStrategy> parse_assign_strategy(const std::string& name) {
  for (AssignStrategy s : {AssignStrategy::kAvg, AssignStrategy::kAvgByCircle, AssignStrategy::kConsistentHash,
                           AssignStrategy::kSticky}) {
    if (assign_strategy_name(s) == name) return s;
  }
  return Status::invalid_argument("unknown assignment strategy '" + name +
                                  "' (avg, avg_by_circle, consistent_hash, sticky)");
}

Status validate_group_settings(const GroupSettings& s) {
  if (s.name.empty()) return Status::invalid_argument("group name is empty");
  const std::string& r = s.reset_policy;
  const bool reset_ok = r.empty() || r == "latest" || r == "earliest" ||
                        (r.rfind("timestamp:", 0) == 0 && all_digits(std::string_view(r).substr(10)));
  if (!reset_ok) {
    return Status::invalid_argument("reset policy must be latest, earliest or timestamp:<unix ms>, got '" + r + "'");
  }
  TIDEMQ_RETURN_IF_ERROR(validate_retry_policy(s.retry_policy));
  TIDEMQ_RETURN_IF_ERROR(check_rate(s.max_msgs_per_sec, "max_msgs_per_sec"));
  TIDEMQ_RETURN_IF_ERROR(check_rate(s.max_bytes_per_sec, "max_bytes_per_sec"));
  if (s.burst_ms == 0) return Status::invalid_argument("burst_ms must be > 0");
  std::set<std::string> topics;
  for (const auto& t : s.topic_rates) {
    if (t.topic.empty()) return Status::invalid_argument("a per-topic rate limit has no topic");
    if (!topics.insert(t.topic).second) {
      return Status::invalid_argument("topic '" + t.topic + "' has two per-topic rate limits");
    }
    TIDEMQ_RETURN_IF_ERROR(check_rate(t.max_msgs_per_sec, "max_msgs_per_sec of topic '" + t.topic + "'"));
    TIDEMQ_RETURN_IF_ERROR(check_rate(t.max_bytes_per_sec, "max_bytes_per_sec of topic '" + t.topic + "'"));
  }
  return Status::ok();
}

Status validate_retry_policy(const std::string& policy) { return RetryPolicy::parse(policy).status(); }

Status validate_reset_target(const std::string& target) {
  if (target == "earliest" || target == "latest" || target == "now" || all_digits(target)) return Status::ok();
  return Status::invalid_argument("reset target must be earliest, latest, now or a unix time in ms, got '" + target +
                                  "'");
}

Result<bool> Admin::update_group(const GroupSettings& settings) {
  TIDEMQ_RETURN_IF_ERROR(validate_group_settings(settings));
  flatbuffers::FlatBufferBuilder fbb(512);
  auto config = client::build_group_config(fbb, settings);
  auto req = wire::CreateUpdateGroupRequest(fbb, config);
  TIDEMQ_ASSIGN_OR_RETURN(auto f, impl_->call(fbb, wire::Body::UpdateGroupRequest, req.Union(),
                                              wire::Body::UpdateGroupResponse));
  return f.envelope().body_as_UpdateGroupResponse()->created();
}

Status Admin::delete_group(const std::string& name) {
  flatbuffers::FlatBufferBuilder fbb(128);
  auto req = wire::CreateDeleteGroupRequestDirect(fbb, name.c_str());
  return impl_->call(fbb, wire::Body::DeleteGroupRequest, req.Union(), wire::Body::DeleteGroupResponse).status();
}

Result<std::vector<GroupSettings>> Admin::list_groups() {
  flatbuffers::FlatBufferBuilder fbb(64);
  auto req = wire::CreateListGroupsRequest(fbb);
  TIDEMQ_ASSIGN_OR_RETURN(auto f, impl_->call(fbb, wire::Body::ListGroupsRequest, req.Union(),
                                              wire::Body::ListGroupsResponse));
  std::vector<GroupSettings> out;
  const auto* resp = f.envelope().body_as_ListGroupsResponse();
  if (resp->groups()) {
    for (const auto* g : *resp->groups()) out.push_back(client::group_settings_from_wire(g));
  }
  return out;
}

Result<GroupDescription> Admin::describe_group(const std::string& name) {
  flatbuffers::FlatBufferBuilder fbb(128);
  auto req = wire::CreateDescribeGroupRequestDirect(fbb, name.c_str());
  TIDEMQ_ASSIGN_OR_RETURN(auto f, impl_->call(fbb, wire::Body::DescribeGroupRequest, req.Union(),
                                              wire::Body::DescribeGroupResponse));
  GroupDescription d = client::group_description_from_wire(*f.envelope().body_as_DescribeGroupResponse());
  if (d.settings.name.empty()) d.settings.name = name;
  return d;
}

Result<ConsumerProgress> Admin::consumer_progress(const std::string& group) {
  flatbuffers::FlatBufferBuilder fbb(128);
  auto req = wire::CreateConsumerProgressRequestDirect(fbb, group.c_str());
  TIDEMQ_ASSIGN_OR_RETURN(auto f, impl_->call(fbb, wire::Body::ConsumerProgressRequest, req.Union(),
                                              wire::Body::ConsumerProgressResponse));
  ConsumerProgress p = client::consumer_progress_from_wire(*f.envelope().body_as_ConsumerProgressResponse());
  if (p.group.empty()) p.group = group;
  return p;
}

Result<std::vector<PartitionOffset>> Admin::reset_offsets(const std::string& group, const std::string& topic,
                                                          const std::string& target) {
  TIDEMQ_RETURN_IF_ERROR(validate_reset_target(target));
  flatbuffers::FlatBufferBuilder fbb(256);
  auto req = wire::CreateResetOffsetsRequestDirect(fbb, group.c_str(), topic.c_str(), target.c_str());
  TIDEMQ_ASSIGN_OR_RETURN(auto f, impl_->call(fbb, wire::Body::ResetOffsetsRequest, req.Union(),
                                              wire::Body::ResetOffsetsResponse));
  return client::partition_offsets_from_wire(f.envelope().body_as_ResetOffsetsResponse()->offsets());
}

Result<uint32_t> Admin::resend_dlq(const std::string& group, uint64_t id) {
  if (group.empty()) return Status::invalid_argument("resend_dlq: group is empty");
  flatbuffers::FlatBufferBuilder fbb(128);
  auto req = wire::CreateResendDlqRequestDirect(fbb, group.c_str(), id);
  TIDEMQ_ASSIGN_OR_RETURN(auto f, impl_->call(fbb, wire::Body::ResendDlqRequest, req.Union(),
                                              wire::Body::ResendDlqResponse));
  return f.envelope().body_as_ResendDlqResponse()->resent();
}

}  // namespace tidemq
