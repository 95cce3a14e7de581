// Topic commands: updateTopic, deleteTopic, topicList, topicStatus.
#include <CLI/CLI.hpp>
#include <ostream>

#include "tidemq/admin.h"
#include "tools/mqadmin/command.h"
#include "tools/mqadmin/render.h"

namespace tidemq::tools {
namespace {

std::string retention_ms_text(int64_t ms) {
  return ms < 0 ? "default" : format_duration_ms(static_cast<uint64_t>(ms));
}

std::string retention_bytes_text(int64_t bytes) { return bytes < 0 ? "unlimited" : std::to_string(bytes); }

JsonValue settings_json(const TopicSettings& s) {
  return JsonValue::object()
      .set("name", s.name)
      .set("partitions", s.partitions)
      .set("retention_ms", s.retention_ms)
      .set("retention_bytes", s.retention_bytes);
}

struct UpdateTopicArgs {
  std::string topic;
  uint32_t partitions = 4;
  int64_t retention_ms = -1;
  int64_t retention_bytes = -1;
  CLI::Option* partitions_opt = nullptr;
  CLI::Option* retention_ms_opt = nullptr;
  CLI::Option* retention_bytes_opt = nullptr;
};

// Creates the topic, or changes the settings given on the command line and keeps the others.
Status run_update_topic(const CommandEnv& env, const UpdateTopicArgs& args) {
  TIDEMQ_ASSIGN_OR_RETURN(auto admin, Admin::create(env.client_options()));
  TopicSettings settings;
  settings.name = args.topic;
  auto current = admin->topic_status(args.topic);
  if (current.is_ok()) {
    settings = current->settings;
    settings.name = args.topic;
  } else if (current.status().code() != StatusCode::kTopicNotFound) {
    return current.status();
  }
  if (args.partitions_opt->count() > 0) settings.partitions = args.partitions;
  if (args.retention_ms_opt->count() > 0) settings.retention_ms = args.retention_ms;
  if (args.retention_bytes_opt->count() > 0) settings.retention_bytes = args.retention_bytes;

  TIDEMQ_ASSIGN_OR_RETURN(bool created, admin->update_topic(settings));
  if (env.global.json) {
    env.out << settings_json(settings).set("created", created).dump() << '\n';
  } else {
    env.out << (created ? "created" : "updated") << " topic " << printable(settings.name) << ": "
            << settings.partitions << " partitions, retention " << retention_ms_text(settings.retention_ms)
            << ", " << retention_bytes_text(settings.retention_bytes) << " bytes per partition\n";
  }
  return Status::ok();
}

Status run_delete_topic(const CommandEnv& env, const std::string& topic) {
  TIDEMQ_ASSIGN_OR_RETURN(auto admin, Admin::create(env.client_options()));
  TIDEMQ_RETURN_IF_ERROR(admin->delete_topic(topic));
  if (env.global.json) {
    env.out << JsonValue::object().set("topic", topic).set("deleted", true).dump() << '\n';
  } else {
    env.out << "deleted topic " << printable(topic) << '\n';
  }
  return Status::ok();
}

Status run_topic_list(const CommandEnv& env) {
  TIDEMQ_ASSIGN_OR_RETURN(auto admin, Admin::create(env.client_options()));
  TIDEMQ_ASSIGN_OR_RETURN(auto topics, admin->list_topics());
  if (env.global.json) {
    auto list = JsonValue::array();
    for (const auto& t : topics) list.push(settings_json(t));
    env.out << JsonValue::object().set("topics", std::move(list)).dump() << '\n';
    return Status::ok();
  }
  Table table({"TOPIC", "PARTITIONS", "RETENTION", "RETENTION_BYTES"});
  table.set_align(1, Table::Align::kRight);
  for (const auto& t : topics) {
    table.add_row({t.name, std::to_string(t.partitions), retention_ms_text(t.retention_ms),
                   retention_bytes_text(t.retention_bytes)});
  }
  env.out << table.render();
  return Status::ok();
}

Status run_topic_status(const CommandEnv& env, const std::string& topic) {
  TIDEMQ_ASSIGN_OR_RETURN(auto admin, Admin::create(env.client_options()));
  TIDEMQ_ASSIGN_OR_RETURN(auto status, admin->topic_status(topic));
  if (env.global.json) {
    auto parts = JsonValue::array();
    for (const auto& p : status.partitions) {
      parts.push(JsonValue::object()
                     .set("partition", p.partition)
                     .set("start_offset", p.start_offset)
                     .set("end_offset", p.end_offset)
                     .set("last_store_ms", p.last_store_ms));
    }
    env.out << JsonValue::object().set("topic", topic).set("partitions", std::move(parts)).dump() << '\n';
    return Status::ok();
  }
  Table table({"PARTITION", "START_OFFSET", "END_OFFSET", "MESSAGES", "LAST_STORE_TIME"});
  for (size_t c = 0; c < 4; ++c) table.set_align(c, Table::Align::kRight);
  uint64_t total = 0;
  for (const auto& p : status.partitions) {
    const uint64_t count = p.end_offset >= p.start_offset ? p.end_offset - p.start_offset : 0;
    total += count;
    table.add_row({std::to_string(p.partition), std::to_string(p.start_offset), std::to_string(p.end_offset),
                   std::to_string(count), format_time_ms(p.last_store_ms)});
  }
  env.out << "topic " << printable(topic) << ": " << status.partitions.size() << " partitions, " << total
          << " messages, retention " << retention_ms_text(status.settings.retention_ms) << ", "
          << retention_bytes_text(status.settings.retention_bytes) << " bytes per partition\n"
          << table.render();
  return Status::ok();
}

}  // namespace

void register_topic_commands(CommandSet& set) {
  {
    auto args = std::make_shared<UpdateTopicArgs>();
    auto* cmd = set.add("updateTopic", "Create a topic, or change the given settings of an existing one",
                        [args](const CommandEnv& env) { return run_update_topic(env, *args); });
    cmd->add_option("-t,--topic", args->topic, "Topic name")->required();
    args->partitions_opt =
        cmd->add_option("-p,--partitions", args->partitions, "Partition count (new topic: 4)")
            ->check(CLI::Range(1, 1024));
    args->retention_ms_opt =
        cmd->add_option("--retention-ms", args->retention_ms, "Retention time in ms (-1: broker default, 72 h)")
            ->check(CLI::Range(int64_t{-1}, INT64_MAX));
    args->retention_bytes_opt =
        cmd->add_option("--retention-bytes", args->retention_bytes,
                        "Retention size per partition in bytes (-1: unlimited)")
            ->check(CLI::Range(int64_t{-1}, INT64_MAX));
  }
  {
    auto topic = std::make_shared<std::string>();
    auto* cmd = set.add("deleteTopic", "Delete a topic and its messages",
                        [topic](const CommandEnv& env) { return run_delete_topic(env, *topic); });
    cmd->add_option("-t,--topic", *topic, "Topic name")->required();
  }
  set.add("topicList", "List topics", [](const CommandEnv& env) { return run_topic_list(env); });
  {
    auto topic = std::make_shared<std::string>();
    auto* cmd = set.add("topicStatus", "Per partition: start offset, end offset, last store time",
                        [topic](const CommandEnv& env) { return run_topic_status(env, *topic); });
    cmd->add_option("-t,--topic", *topic, "Topic name")->required();
  }
}

}  // namespace tidemq::tools
