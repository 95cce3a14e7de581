// Message commands: sendMessage, consumeMessage, queryMsgByOffset, queryMsgById.
#include <CLI/CLI.hpp>
#include <iostream>
#include <ostream>

#include "common/snowflake.h"
#include "tidemq/admin.h"
#include "tidemq/consumer.h"
#include "tidemq/producer.h"
#include "tidemq/reader.h"
#include "tools/mqadmin/command.h"
#include "tools/mqadmin/message_render.h"
#include "tools/mqadmin/render.h"

namespace tidemq::tools {
namespace {

constexpr size_t kBodyColumnWidth = 120;

// ---- sendMessage ------------------------------------------------------------------------------

struct SendArgs {
  std::string topic;
  std::string key;
  std::string tags;
  std::string body;
  std::vector<std::string> properties;  // k=v
  int32_t partition = -1;
  int64_t deliver_at_ms = 0;  // scheduled (SPEC §7): unix ms
  uint32_t delay_level = 0;   // or one of RocketMQ's 18 levels
};

Status run_send_message(const CommandEnv& env, const SendArgs& args) {
  ProducerOptions options;
  options.client = env.client_options();
  options.linger = std::chrono::microseconds(0);
  options.delivery_timeout = options.client.request_timeout;
  TIDEMQ_ASSIGN_OR_RETURN(auto producer, Producer::create(std::move(options)));
  Message msg;
  msg.topic = args.topic;
  msg.key = args.key;
  msg.tags = args.tags;
  msg.body = args.body;
  msg.partition = args.partition;
  msg.deliver_at_ms = args.deliver_at_ms;
  msg.delay_level = args.delay_level;
  for (const auto& kv : args.properties) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos) return Status::invalid_argument("property '" + kv + "' is not key=value");
    msg.properties.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  TIDEMQ_ASSIGN_OR_RETURN(SendResult sent, producer->send(std::move(msg)));
  producer->close();
  if (env.global.json) {
    env.out << JsonValue::object()
                   .set("id", SnowflakeGenerator::to_hex(sent.id))
                   .set("topic", args.topic)
                   .set("partition", sent.partition)
                   .set("offset", sent.offset)
                   .set("store_ms", sent.store_ms)
                   .set("scheduled", sent.scheduled)
                   .dump()
            << '\n';
  } else if (sent.scheduled) {  // in the delay store: no offset yet
    env.out << render_fields({{"id", SnowflakeGenerator::to_hex(sent.id)},
                              {"topic", args.topic},
                              {"partition", std::to_string(sent.partition)},
                              {"scheduled", "yes (delivered when due; no offset yet)"},
                              {"stored", format_time_ms(sent.store_ms)}});
  } else {
    env.out << render_fields({{"id", SnowflakeGenerator::to_hex(sent.id)},
                              {"topic", args.topic},
                              {"partition", std::to_string(sent.partition)},
                              {"offset", std::to_string(sent.offset)},
                              {"stored", format_time_ms(sent.store_ms)}});
  }
  return Status::ok();
}

// ---- consumeMessage ---------------------------------------------------------------------------

struct ConsumeArgs {
  std::string topic;
  std::string group;
  std::string expression = "*";
  uint32_t count = 128;
  uint32_t partition = 0;
  uint64_t offset = 0;
  int wait_ms = 3000;
  CLI::Option* partition_opt = nullptr;
  CLI::Option* offset_opt = nullptr;
};

// The consumed messages: a table, or {"topic"[,"group"],"messages":[...]}.
void print_messages(const CommandEnv& env, const ConsumeArgs& args, const std::vector<Message>& got) {
  if (env.global.json) {
    auto list = JsonValue::array();
    for (const auto& m : got) list.push(message_json(m));
    auto out = JsonValue::object().set("topic", args.topic);
    if (!args.group.empty()) out.set("group", args.group);
    env.out << out.set("messages", std::move(list)).dump() << '\n';
    return;
  }
  Table table({"PARTITION", "OFFSET", "ID", "KEY", "TAGS", "STORE_TIME", "BODY"});
  table.set_align(0, Table::Align::kRight);
  table.set_align(1, Table::Align::kRight);
  for (const auto& m : got) {
    table.add_row({std::to_string(m.partition), std::to_string(m.offset), SnowflakeGenerator::to_hex(m.id), m.key,
                   m.tags, format_time_ms(m.store_ms), truncate_display(printable(m.body), kBodyColumnWidth)});
  }
  env.out << table.render();
  if (got.empty()) std::cerr << "no messages within " << args.wait_ms << " ms\n";
}

// As a member of consumer group -g: joins (waiting up to --timeout-ms), polls until `count`
// messages or nothing more within --wait-ms, commits what it printed, leaves. When the last
// fetch returned more than -c leaves room for, nothing is committed (the consumer commits whole
// fetch positions, so committing would skip the unprinted messages): the printed ones will be
// delivered to the group again, and stderr says so.
Status run_consume_group(const CommandEnv& env, const ConsumeArgs& args) {
  ConsumerOptions options;
  options.client = env.client_options();
  options.group = args.group;
  options.auto_commit = false;
  TIDEMQ_ASSIGN_OR_RETURN(auto consumer, Consumer::create(std::move(options)));
  TIDEMQ_RETURN_IF_ERROR(consumer->subscribe(args.topic, args.expression));
  const auto wait = std::chrono::milliseconds(args.wait_ms);
  const auto join_deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(env.global.timeout_ms);
  std::vector<Message> got;
  size_t unprinted = 0;
  while (got.size() < args.count) {
    TIDEMQ_ASSIGN_OR_RETURN(auto batch, consumer->poll(wait));
    if (batch.empty()) {
      if (consumer->generation() != 0) break;  // joined, and nothing more arrived
      if (std::chrono::steady_clock::now() >= join_deadline) {
        return Status::timeout("could not join consumer group '" + args.group + "' within " +
                               std::to_string(env.global.timeout_ms) + " ms");
      }
      continue;
    }
    for (auto& m : batch) {
      if (got.size() == args.count) {
        ++unprinted;
      } else {
        got.push_back(std::move(m));
      }
    }
  }
  Status committed = Status::ok();
  if (unprinted == 0 && !got.empty()) committed = consumer->commit_sync();
  (void)consumer->close();
  print_messages(env, args, got);
  if (unprinted > 0) {
    std::cerr << "not committed: the last fetch returned " << unprinted
              << " more messages than -c; these and the printed ones will be delivered to group '" << args.group
              << "' again\n";
  }
  if (!committed.is_ok()) {
    return Status(committed.code(), "printed " + std::to_string(got.size()) +
                                        " messages but could not commit them: " + committed.message());
  }
  return Status::ok();
}

// Reads from the start of every partition (or from -p/-o) without a consumer group, until `count`
// messages were read or nothing more arrived within --wait-ms.
Status run_consume_message(const CommandEnv& env, const ConsumeArgs& args) {
  if (!args.group.empty()) return run_consume_group(env, args);
  TIDEMQ_ASSIGN_OR_RETURN(auto reader, PartitionReader::create(env.client_options(), args.topic));
  const bool one_partition = args.partition_opt->count() > 0;
  const bool from_offset = args.offset_opt->count() > 0;
  const uint32_t partitions = reader->partition_count();
  if (one_partition && args.partition >= partitions) {
    return {StatusCode::kInvalidPartition, "topic '" + args.topic + "' has " + std::to_string(partitions) +
                                               " partitions; no partition " + std::to_string(args.partition)};
  }
  const auto wait = std::chrono::milliseconds(args.wait_ms);
  std::vector<Message> got;

  if (one_partition) {
    uint64_t offset = args.offset;
    if (!from_offset) {
      TIDEMQ_RETURN_IF_ERROR(reader->assign_all_from_start());
      offset = reader->positions()[args.partition];
    }
    while (got.size() < args.count) {
      TIDEMQ_ASSIGN_OR_RETURN(FetchResult fetched, reader->fetch(args.partition, offset, wait));
      if (fetched.messages.empty()) break;
      for (auto& m : fetched.messages) {
        if (got.size() == args.count) break;
        got.push_back(std::move(m));
      }
      offset = fetched.next_offset;
    }
  } else {
    if (from_offset) {
      for (uint32_t p = 0; p < partitions; ++p) reader->assign(p, args.offset);
    } else {
      TIDEMQ_RETURN_IF_ERROR(reader->assign_all_from_start());
    }
    while (got.size() < args.count) {
      TIDEMQ_ASSIGN_OR_RETURN(auto batch, reader->poll(wait));
      if (batch.empty()) break;
      for (auto& m : batch) {
        if (got.size() == args.count) break;
        got.push_back(std::move(m));
      }
    }
  }

  print_messages(env, args, got);
  return Status::ok();
}

// ---- queries ----------------------------------------------------------------------------------

struct OffsetArgs {
  std::string topic;
  uint32_t partition = 0;
  uint64_t offset = 0;
};

Status run_query_by_offset(const CommandEnv& env, const OffsetArgs& args) {
  TIDEMQ_ASSIGN_OR_RETURN(auto admin, Admin::create(env.client_options()));
  TIDEMQ_ASSIGN_OR_RETURN(Message m, admin->query_by_offset(args.topic, args.partition, args.offset));
  if (env.global.json) {
    env.out << message_json(m).dump() << '\n';
  } else {
    env.out << message_fields(m);
  }
  return Status::ok();
}

struct IdArgs {
  std::string id;
  std::string topic;
};

Status run_query_by_id(const CommandEnv& env, const IdArgs& args) {
  TIDEMQ_ASSIGN_OR_RETURN(uint64_t id, SnowflakeGenerator::from_hex(args.id));
  TIDEMQ_ASSIGN_OR_RETURN(auto admin, Admin::create(env.client_options()));
  TIDEMQ_ASSIGN_OR_RETURN(auto found, admin->query_by_id(id, args.topic));
  if (found.empty()) return Status::not_found("no message with id " + SnowflakeGenerator::to_hex(id));
  if (env.global.json) {
    auto list = JsonValue::array();
    for (const auto& m : found) list.push(message_json(m));
    env.out << JsonValue::object().set("messages", std::move(list)).dump() << '\n';
    return Status::ok();
  }
  for (size_t i = 0; i < found.size(); ++i) {
    if (i) env.out << '\n';
    env.out << message_fields(found[i]);
  }
  return Status::ok();
}

const CLI::Validator kHexId(
    [](std::string& s) -> std::string {
      auto parsed = SnowflakeGenerator::from_hex(s);
      return parsed.is_ok() ? std::string() : "message id must be 16 hex digits, got '" + s + "'";
    },
    "HEX16");

}  // namespace

void register_message_commands(CommandSet& set) {
  {
    auto args = std::make_shared<SendArgs>();
    auto* cmd = set.add("sendMessage", "Send one message and print its id, partition and offset",
                        [args](const CommandEnv& env) { return run_send_message(env, *args); });
    cmd->add_option("-t,--topic", args->topic, "Topic name")->required();
    cmd->add_option("-k,--key", args->key, "Message key");
    cmd->add_option("--tags", args->tags, "Message tags");
    cmd->add_option("--property", args->properties, "A property as key=value (repeatable)");
    cmd->add_option("-p,--partition", args->partition, "Partition (default: chosen by the producer)")
        ->check(CLI::Range(0, 1023));
    cmd->add_option("-m,--body", args->body, "Message body")->required();
    auto* at = cmd->add_option("--deliver-at-ms", args->deliver_at_ms,
                               "Scheduled: deliver at this unix time in ms (at most 3 days ahead)")
                   ->check(CLI::NonNegativeNumber);
    cmd->add_option("--delay-level", args->delay_level,
                    "Scheduled: RocketMQ delay level 1-18 (1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h)")
        ->check(CLI::Range(1u, 18u))
        ->excludes(at);
  }
  {
    auto args = std::make_shared<ConsumeArgs>();
    auto* cmd = set.add("consumeMessage",
                        "Print messages: as a member of consumer group -g (and commit them), or without a group "
                        "from the start of each partition (or -p/-o)",
                        [args](const CommandEnv& env) { return run_consume_message(env, *args); });
    cmd->add_option("-t,--topic", args->topic, "Topic name")->required();
    auto* group = cmd->add_option("-g,--group", args->group,
                                  "Consume as a member of this consumer group, from its committed offsets, and commit");
    cmd->add_option("--expression", args->expression, "With -g: subscription expression, * or 'TagA || TagB'")
        ->capture_default_str()
        ->needs(group);
    cmd->add_option("-c,--count", args->count, "Print at most this many messages")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    args->partition_opt =
        cmd->add_option("-p,--partition", args->partition, "Read only this partition (no group)")->excludes(group);
    args->offset_opt =
        cmd->add_option("-o,--offset", args->offset, "Start at this offset (every partition without -p; no group)")
            ->excludes(group);
    cmd->add_option("--wait-ms", args->wait_ms, "Stop when nothing more arrives within this time")
        ->capture_default_str()
        ->check(CLI::Range(0, 3'600'000));
  }
  {
    auto args = std::make_shared<OffsetArgs>();
    auto* cmd = set.add("queryMsgByOffset", "Print the message at a topic, partition and offset",
                        [args](const CommandEnv& env) { return run_query_by_offset(env, *args); });
    cmd->add_option("-t,--topic", args->topic, "Topic name")->required();
    cmd->add_option("-p,--partition", args->partition, "Partition")->required();
    cmd->add_option("-o,--offset", args->offset, "Offset")->required();
  }
  {
    auto args = std::make_shared<IdArgs>();
    auto* cmd = set.add("queryMsgById", "Print the message with this id (16 hex digits)",
                        [args](const CommandEnv& env) { return run_query_by_id(env, *args); });
    cmd->add_option("-i,--id", args->id, "Message id, 16 hex digits")->required()->check(kHexId);
    cmd->add_option("-t,--topic", args->topic, "Search only this topic");
  }
}

}  // namespace tidemq::tools
