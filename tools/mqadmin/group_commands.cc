// Consumer-group commands: updateSubGroup, deleteSubGroup, groupList, consumerProgress,
// consumerConnection, resetOffsetByTime, skipAccumulatedMessage, resendDlq.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <ostream>

#include "common/snowflake.h"
#include "tidemq/admin.h"
#include "tools/mqadmin/cli_checks.h"
#include "tools/mqadmin/command.h"
#include "tools/mqadmin/group_args.h"
#include "tools/mqadmin/group_render.h"
#include "tools/mqadmin/render.h"

namespace tidemq::tools {
namespace {

// ---- updateSubGroup ---------------------------------------------------------------------------

struct UpdateArgs {
  std::string group;
  double rate = 0;
  double rate_bytes = 0;
  uint32_t burst_ms = 100;
  std::string strategy;
  bool broadcast = false;
  bool clustering = false;
  std::string reset_policy;
  std::vector<std::string> topic_rates;
  std::vector<std::string> topic_rates_bytes;
  std::string retry_policy;
  uint32_t max_reconsume = 16;
  CLI::Option* rate_opt = nullptr;
  CLI::Option* rate_bytes_opt = nullptr;
  CLI::Option* burst_opt = nullptr;
  CLI::Option* strategy_opt = nullptr;
  CLI::Option* reset_opt = nullptr;
  CLI::Option* retry_policy_opt = nullptr;
  CLI::Option* max_reconsume_opt = nullptr;

  UpdateGroupFlags flags() const {
    UpdateGroupFlags f;
    if (rate_opt->count() > 0) f.rate = rate;
    if (rate_bytes_opt->count() > 0) f.rate_bytes = rate_bytes;
    if (burst_opt->count() > 0) f.burst_ms = burst_ms;
    if (strategy_opt->count() > 0) f.strategy = strategy;
    if (broadcast) f.broadcast = true;
    if (clustering) f.broadcast = false;
    if (reset_opt->count() > 0) f.reset_policy = reset_policy;
    if (retry_policy_opt->count() > 0) f.retry_policy = retry_policy;
    if (max_reconsume_opt->count() > 0) f.max_reconsume = max_reconsume;
    f.topic_rates = topic_rates;
    f.topic_rates_bytes = topic_rates_bytes;
    return f;
  }
};

// Creates the group, or changes only the settings given on the command line: the current ones
// come from list_groups() (defaults for a group the broker does not know), the flags are applied on top, and the whole
// config is written back.
Status run_update_group(const CommandEnv& env, const UpdateArgs& args) {
  TIDEMQ_ASSIGN_OR_RETURN(auto admin, Admin::create(env.client_options()));
  TIDEMQ_ASSIGN_OR_RETURN(auto groups, admin->list_groups());
  GroupSettings settings;
  settings.name = args.group;
  auto it = std::find_if(groups.begin(), groups.end(), [&](const GroupSettings& g) { return g.name == args.group; });
  if (it != groups.end()) settings = *it;
  TIDEMQ_RETURN_IF_ERROR(apply_update_flags(args.flags(), settings));
  TIDEMQ_ASSIGN_OR_RETURN(bool created, admin->update_group(settings));
  if (env.global.json) {
    env.out << group_settings_json(settings).set("created", created).dump() << '\n';
  } else {
    env.out << (created ? "created" : "updated") << " group " << printable(settings.name) << ": "
            << printable(group_settings_summary(settings)) << '\n';
  }
  return Status::ok();
}

// ---- the others -------------------------------------------------------------------------------

Status run_delete_group(const CommandEnv& env, const std::string& group) {
  TIDEMQ_ASSIGN_OR_RETURN(auto admin, Admin::create(env.client_options()));
  TIDEMQ_RETURN_IF_ERROR(admin->delete_group(group));
  return env.print(JsonValue::object().set("group", group).set("deleted", true),
                   "deleted group " + printable(group) + "\n");
}

Status run_group_list(const CommandEnv& env) {
  TIDEMQ_ASSIGN_OR_RETURN(auto admin, Admin::create(env.client_options()));
  TIDEMQ_ASSIGN_OR_RETURN(auto groups, admin->list_groups());
  if (env.global.json) {
    auto list = JsonValue::array();
    for (const auto& g : groups) list.push(group_settings_json(g));
    env.out << JsonValue::object().set("groups", std::move(list)).dump() << '\n';
  } else {
    env.out << group_list_table(groups);
  }
  return Status::ok();
}

Status run_consumer_progress(const CommandEnv& env, const std::string& group) {
  TIDEMQ_ASSIGN_OR_RETURN(auto admin, Admin::create(env.client_options()));
  TIDEMQ_ASSIGN_OR_RETURN(auto progress, admin->consumer_progress(group));
  return env.print(consumer_progress_json(progress), consumer_progress_table(progress));
}

Status run_resend_dlq(const CommandEnv& env, const std::string& group, uint64_t id) {
  TIDEMQ_ASSIGN_OR_RETURN(auto admin, Admin::create(env.client_options()));
  TIDEMQ_ASSIGN_OR_RETURN(uint32_t resent, admin->resend_dlq(group, id));
  return env.print(resend_dlq_json(group, id, resent), resend_dlq_text(group, id, resent));
}

Status run_consumer_connection(const CommandEnv& env, const std::string& group) {
  TIDEMQ_ASSIGN_OR_RETURN(auto admin, Admin::create(env.client_options()));
  TIDEMQ_ASSIGN_OR_RETURN(auto description, admin->describe_group(group));
  return env.print(consumer_connection_json(description), consumer_connection_text(description));
}

struct ResetArgs {
  std::string group;
  std::string topic;
  std::string target;
};

Status run_reset(const CommandEnv& env, const ResetArgs& args) {
  TIDEMQ_ASSIGN_OR_RETURN(auto admin, Admin::create(env.client_options()));
  TIDEMQ_ASSIGN_OR_RETURN(auto offsets, admin->reset_offsets(args.group, args.topic, args.target));
  return env.print(reset_offsets_json(args.group, args.topic, args.target, offsets),
                   reset_offsets_text(args.group, args.topic, args.target, offsets));
}

}  // namespace

void register_group_commands(CommandSet& set) {
  {
    auto args = std::make_shared<UpdateArgs>();
    auto* cmd = set.add("updateSubGroup",
                        "Create a consumer group, or change the given settings of an existing one (the others are kept)",
                        [args](const CommandEnv& env) { return run_update_group(env, *args); });
    cmd->add_option("-g,--group", args->group, "Group name")->required();
    args->rate_opt = cmd->add_option("--rate", args->rate, "Delivery limit in messages/s for the group (0 = unlimited)")
                         ->check(CLI::NonNegativeNumber);
    args->rate_bytes_opt =
        cmd->add_option("--rate-bytes", args->rate_bytes, "Delivery limit in bytes/s for the group (0 = unlimited)")
            ->check(CLI::NonNegativeNumber);
    args->burst_opt = cmd->add_option("--burst-ms", args->burst_ms, "Token bucket size = rate x this (new group: 100)")
                          ->check(CLI::Range(1u, 60'000u));
    args->strategy_opt = cmd->add_option("--strategy", args->strategy, "Assignment strategy (new group: avg)")
                             ->check(CLI::IsMember({"avg", "avg_by_circle", "consistent_hash", "sticky"}));
    auto* broadcast = cmd->add_flag("--broadcast", args->broadcast, "Every member gets every message");
    auto* clustering =
        cmd->add_flag("--clustering", args->clustering, "Each partition goes to one member (new group: this)");
    broadcast->excludes(clustering);
    args->reset_opt =
        cmd->add_option("--reset-policy", args->reset_policy,
                        "Where the group starts without a committed offset: latest|earliest|timestamp:MS (new: latest)")
            ->check(status_validator(
                [](const std::string& s) {
                  GroupSettings probe;
                  probe.name = "x";
                  probe.reset_policy = s;
                  return validate_group_settings(probe);
                },
                "POLICY"));
    auto topic_rate_check = status_validator(
        [](const std::string& s) { return parse_topic_rate(s).status(); }, "TOPIC=N");
    cmd->add_option("--topic-rate", args->topic_rates,
                    "Per-topic limit in messages/s, TOPIC=N, used instead of --rate for that topic (repeatable; "
                    "0 with no byte limit removes it)")
        ->check(topic_rate_check);
    cmd->add_option("--topic-rate-bytes", args->topic_rates_bytes,
                    "Per-topic limit in bytes/s, TOPIC=B (repeatable; 0 with no message limit removes it)")
        ->check(topic_rate_check);
    args->retry_policy_opt =
        cmd->add_option("--retry-policy", args->retry_policy,
                        "Delays before a sent-back message is redelivered: default|exponential|notify or a list "
                        "like 500ms,1s,5s,1m (the last repeats; new group: default)")
            ->check(status_validator([](const std::string& s) { return validate_retry_policy(s); }, "POLICY"));
    args->max_reconsume_opt =
        cmd->add_option("--max-reconsume", args->max_reconsume,
                        "Send-backs before a message goes to %DLQ%<group> (new group: 16)");
  }
  {
    struct ResendArgs {
      std::string group;
      std::string id;  // 16 hex digits, checked at parse time; empty = every message not resent
    };
    auto args = std::make_shared<ResendArgs>();
    auto* cmd = set.add("resendDlq",
                        "Send a group's dead-letter messages back to it (through %RETRY%<group>): every one not "
                        "resent before, or the one with -i",
                        [args](const CommandEnv& env) -> Status {
                          uint64_t id = 0;
                          if (!args->id.empty()) {
                            TIDEMQ_ASSIGN_OR_RETURN(id, SnowflakeGenerator::from_hex(args->id));
                          }
                          return run_resend_dlq(env, args->group, id);
                        });
    cmd->add_option("-g,--group", args->group, "Group name")->required();
    cmd->add_option("-i,--id", args->id, "Only the message with this id (16 hex digits)")
        ->check(status_validator([](const std::string& s) { return SnowflakeGenerator::from_hex(s).status(); },
                                 "HEX16"));
  }
  {
    auto group = std::make_shared<std::string>();
    auto* cmd = set.add("deleteSubGroup", "Delete a consumer group's config and committed offsets (no member online)",
                        [group](const CommandEnv& env) { return run_delete_group(env, *group); });
    cmd->add_option("-g,--group", *group, "Group name")->required();
  }
  set.add("groupList", "List consumer groups and their settings",
          [](const CommandEnv& env) { return run_group_list(env); });
  {
    auto group = std::make_shared<std::string>();
    auto* cmd = set.add("consumerProgress", "Per partition: end offset, committed offset, lag, owner",
                        [group](const CommandEnv& env) { return run_consumer_progress(env, *group); });
    cmd->add_option("-g,--group", *group, "Group name")->required();
  }
  {
    auto group = std::make_shared<std::string>();
    auto* cmd = set.add("consumerConnection", "A group's generation and online members with their assignment",
                        [group](const CommandEnv& env) { return run_consumer_connection(env, *group); });
    cmd->add_option("-g,--group", *group, "Group name")->required();
  }
  {
    auto args = std::make_shared<ResetArgs>();
    auto* cmd = set.add("resetOffsetByTime",
                        "Move a group's committed offsets of a topic (live group: members restart from there)",
                        [args](const CommandEnv& env) { return run_reset(env, *args); });
    cmd->add_option("-g,--group", args->group, "Group name")->required();
    cmd->add_option("-t,--topic", args->topic, "Topic name")->required();
    cmd->add_option("-s,--timestamp", args->target, "Unix time in ms, now, earliest or latest")
        ->required()
        ->check(status_validator([](const std::string& s) { return validate_reset_target(s); }, "MS|now|earliest|latest"));
  }
  {
    auto args = std::make_shared<ResetArgs>();
    args->target = "latest";
    auto* cmd = set.add("skipAccumulatedMessage", "Move a group's committed offsets of a topic to the end (skip the backlog)",
                        [args](const CommandEnv& env) { return run_reset(env, *args); });
    cmd->add_option("-g,--group", args->group, "Group name")->required();
    cmd->add_option("-t,--topic", args->topic, "Topic name")->required();
  }
}

}  // namespace tidemq::tools
