// mqadmin: the operator CLI (SPEC §8). RocketMQ's command names; tables by default, --json for
// scripts. Exit codes: 0 ok, 1 the command failed (broker error, connection), 2 usage error.
// Every failure prints exactly one line "mqadmin: <reason>" on stderr.
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include "tidemq/log.h"
#include "tools/mqadmin/command.h"
#include "tools/mqadmin/render.h"

namespace tidemq::tools {

ClientOptions CommandEnv::client_options() const {
  ClientOptions options;
  options.broker = global.broker;
  options.client_id = "mqadmin";
  options.request_timeout = std::chrono::milliseconds(global.timeout_ms);
  options.connect_timeout = std::chrono::milliseconds(std::min(global.timeout_ms, 3000));
  return options;
}

Status CommandEnv::print(const JsonValue& json, const std::string& text) const {
  if (global.json) {
    out << json.dump() << '\n';
  } else {
    out << text;
  }
  return Status::ok();
}

CLI::App* CommandSet::add(const std::string& name, const std::string& description, CommandRunner runner) {
  CLI::App* sub = app_.add_subcommand(name, description);
  CommandRunner& selected = selected_;
  sub->callback([&selected, runner = std::move(runner)] { selected = runner; });
  return sub;
}

namespace {

// One line: newlines in a reason (e.g. CLI11's multi-line messages) would break "one line".
std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

int fail(int code, const std::string& reason) {
  std::cerr << "mqadmin: " << one_line(reason) << '\n';
  return code;
}

int run(int argc, char** argv) {
  CLI::App app{"mqadmin: tidemq admin tool", "mqadmin"};
  app.require_subcommand(1, 1);
  app.fallthrough();  // global flags may also follow the command name

  GlobalOptions global;
  if (const char* env = std::getenv("TIDEMQ_BROKER"); env != nullptr && *env != '\0') global.broker = env;
  app.add_option("-b,--broker", global.broker, "Broker host:port (default 127.0.0.1:7911, or $TIDEMQ_BROKER)");
  app.add_flag("--json", global.json, "Print one JSON object instead of tables");
  app.add_option("--timeout-ms", global.timeout_ms, "Request timeout in ms")
      ->capture_default_str()
      ->check(CLI::Range(1, 3'600'000));

  CommandRunner selected;
  CommandSet set(app, selected);
  for (auto register_group : kCommandGroups) register_group(set);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(2, std::string(e.what()) + " (see mqadmin --help)");
  }
  if (!selected) return fail(2, "no command given (see mqadmin --help)");

  // mqadmin reports every failure itself, in one line: the library stays quiet.
  (void)set_client_log_level("off");
  CommandEnv env{global, std::cout};
  Status st = selected(env);
  std::cout.flush();
  if (!st.is_ok()) return fail(1, st.to_string());
  return 0;
}

}  // namespace
}  // namespace tidemq::tools

int main(int argc, char** argv) {
  try {
    return tidemq::tools::run(argc, argv);
  } catch (const std::exception& e) {
    return tidemq::tools::fail(1, e.what());
  }
}
