#pragma once
// How mqadmin commands plug in. A command group is one file with one register_* function that adds
// its subcommands to a CommandSet; main.cc calls every register function listed in kCommandGroups.
// Adding a group: write the file, declare its register function below, add it to kCommandGroups.
#include <chrono>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include "common/status.h"
#include "tidemq/options.h"

namespace CLI {
class App;
}  // namespace CLI

namespace tidemq::tools {

class JsonValue;  // render.h

// Flags that every command sees (given before or after the command name).
struct GlobalOptions {
  std::string broker = "127.0.0.1:7911";  // -b, or env TIDEMQ_BROKER
  bool json = false;                      // --json: one JSON object on stdout
  int timeout_ms = 10000;                 // --timeout-ms: per request
};

// What a running command gets: the global flags and where to print its result.
struct CommandEnv {
  const GlobalOptions& global;
  std::ostream& out;

  ClientOptions client_options() const;
  // Prints a command's result, `json` as one line with --json, else `text` (which ends in '\n').
  // Returns ok, so a command can end with `return env.print(...)`.
  Status print(const JsonValue& json, const std::string& text) const;
};

// A command's body. Returns ok after printing its result, or the reason it failed (printed by
// main as one line; the exit code is 1).
using CommandRunner = std::function<Status(const CommandEnv&)>;

class CommandSet {
 public:
  CommandSet(CLI::App& app, CommandRunner& selected) : app_(app), selected_(selected) {}

  // Adds subcommand `name`; when the user picks it, `runner` becomes the command to run.
  // Returns the subcommand so the caller can add its options.
  CLI::App* add(const std::string& name, const std::string& description, CommandRunner runner);

 private:
  CLI::App& app_;
  CommandRunner& selected_;
};

// Command groups (one file each).
void register_topic_commands(CommandSet& set);    // topic_commands.cc
void register_message_commands(CommandSet& set);  // message_commands.cc
void register_broker_commands(CommandSet& set);   // broker_commands.cc
void register_group_commands(CommandSet& set);    // group_commands.cc
void register_txn_commands(CommandSet& set);      // txn_commands.cc

inline constexpr void (*kCommandGroups[])(CommandSet&) = {
    register_topic_commands,
    register_message_commands,
    register_broker_commands,
    register_group_commands,
    register_txn_commands,
};

}  // namespace tidemq::tools
