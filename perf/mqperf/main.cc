// mqperf: load generator and benchmark tool (SPEC §9).
//   mqperf produce|consume|e2e|txn [flags]   (see --help of each)
// Progress once per second on stderr; the summary on stdout (one JSON object with --json).
// Exit codes: 0 every requested message went through without error; 1 otherwise (the summary is
// still printed); 2 usage error.
#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "perf/mqperf/modes.h"
#include "perf/mqperf/options.h"
#include "perf/mqperf/report.h"

namespace tidemq::perf {
namespace {

// First SIGINT/SIGTERM: stop sending, wait for what is in flight, print the summary. A second one
// exits at once (e.g. when a connection will not close).
std::atomic<int> g_signals{0};
void on_signal(int) {
  if (g_signals.fetch_add(1) > 0) std::_Exit(130);
  request_interrupt();
}

int usage_error(const std::string& reason) {
  std::cerr << "mqperf: " << reason << '\n';
  return 2;
}

int run(int argc, char** argv) {
  CLI::App app{"mqperf: tidemq load generator", "mqperf"};
  app.require_subcommand(1, 1);

  PerfOptions options;
  if (const char* env = std::getenv("TIDEMQ_BROKER"); env != nullptr && *env != '\0') options.broker = env;
  struct ModeCommand {
    Mode mode;
    const char* help;
    CLI::App* cmd = nullptr;
  };
  ModeCommand modes[] = {
      {Mode::kProduce, "Send messages as fast as possible (or at --rate); latency = send->ack"},
      {Mode::kConsume,
       "Read a topic: every partition from its start, or as members of --group; latency = fetch round trip"},
      {Mode::kE2e, "Produce at --rate and consume at once; latency = send->receive"},
      {Mode::kTxn,
       "Transactions (half-message, local decision, end) with check-backs; latency = SendHalf->EndTransaction ack"},
  };
  for (auto& m : modes) {
    m.cmd = app.add_subcommand(mode_name(m.mode), m.help);
    add_flags(*m.cmd, options, m.mode);
  }

  // RocketMQ's -sr/-su/-cr/-cu, which CLI11 cannot declare, become their long names.
  std::vector<std::string> args = expand_rocketmq_flags(std::vector<std::string>(argv, argv + argc));
  std::vector<char*> expanded;
  for (auto& a : args) expanded.push_back(a.data());
  try {
    app.parse(static_cast<int>(expanded.size()), expanded.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    for (char& c : what) {
      if (c == '\n') c = ' ';
    }
    return usage_error(what + " (see mqperf --help)");
  }
  for (const auto& m : modes) {
    if (m.cmd->parsed()) options.mode = m.mode;
  }
  finalize_options(options);
  if (Status st = validate_options(options); !st.is_ok()) return usage_error(st.message());

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  Summary summary;
  switch (options.mode) {
    case Mode::kProduce: summary = run_produce(options); break;
    case Mode::kConsume: summary = run_consume(options); break;
    case Mode::kE2e: summary = run_e2e(options); break;
    case Mode::kTxn: summary = run_txn(options); break;
  }
  if (!summary.first_error.empty()) std::cerr << "mqperf: first error: " << summary.first_error << '\n';
  if (options.json) {
    std::cout << summary_json(summary) << '\n';
  } else {
    std::cout << summary_text(summary);
  }
  std::cout.flush();
  return exit_code(summary);
}

}  // namespace
}  // namespace tidemq::perf

int main(int argc, char** argv) {
  try {
    return tidemq::perf::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "mqperf: " << e.what() << '\n';
    return 1;
  }
}
