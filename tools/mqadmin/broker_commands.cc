// Broker commands: brokerStatus.
#include <CLI/CLI.hpp>
#include <ostream>

#include "tidemq/admin.h"
#include "tools/mqadmin/command.h"
#include "tools/mqadmin/render.h"

namespace tidemq::tools {
namespace {

Status run_broker_status(const CommandEnv& env) {
  TIDEMQ_ASSIGN_OR_RETURN(auto admin, Admin::create(env.client_options()));
  TIDEMQ_ASSIGN_OR_RETURN(BrokerStatus s, admin->broker_status());
  if (env.global.json) {
    auto stats = JsonValue::object();
    for (const auto& [k, v] : s.stats) stats.set(k, v);
    env.out << JsonValue::object()
                   .set("broker", env.global.broker)
                   .set("version", s.version)
                   .set("flush_mode", s.flush_mode)
                   .set("data_dir", s.data_dir)
                   .set("listen", s.listen)
                   .set("uptime_ms", s.uptime_ms)
                   .set("storage_error", s.storage_error)
                   .set("stats", std::move(stats))
                   .dump()
            << '\n';
    return Status::ok();
  }
  std::vector<std::pair<std::string, std::string>> fields = {
      {"broker", env.global.broker},
      {"version", s.version},
      {"flush_mode", s.flush_mode},
      {"data_dir", s.data_dir},
      {"listen", s.listen},
      {"uptime", format_duration_ms(s.uptime_ms)},
      {"storage", s.storage_error.empty() ? "ok" : "ERROR: " + s.storage_error},
  };
  for (const auto& kv : s.stats) fields.push_back(kv);
  env.out << render_fields(fields);
  return Status::ok();
}

}  // namespace

void register_broker_commands(CommandSet& set) {
  set.add("brokerStatus", "Broker version, flush mode, data dir, uptime, storage health and counters",
          [](const CommandEnv& env) { return run_broker_status(env); });
}

}  // namespace tidemq::tools
