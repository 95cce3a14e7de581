// rel_power_broker: T2's broker host (tests/reliability/README.md). Runs the broker in this process
// over a PowerLossEnv and cuts its power every --cut-min-ms..--cut-max-ms: every LevelDB write
// fails from that instant, the broker is stopped, each file is truncated to what was fsynced, and a
// new broker starts on the same port and data — what a machine's power loss and reboot leave.
//
//   rel_power_broker --data DIR --listen 127.0.0.1:PORT [--flush sync|async] [--cut-min-ms 1000]
//                    [--cut-max-ms 3000] [--transaction-timeout-ms N] [--check-interval-ms N]
//                    --restarts FILE
//
// The transaction half log writes and syncs through the same Env as LevelDB, so a cut drops its
// unsynced records too (T2t).
//
// Prints mqbroker's "mqbroker ready ..." line once serving. SIGUSR1: stop cutting (for the drain);
// SIGTERM/SIGINT: stop cleanly and exit. Appends "<unix ms>" to FILE after each restart.
#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>
#include <random>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "broker/broker.h"
#include "common/logging.h"
#include "tests/support/power_loss_env.h"

namespace {

int64_t unix_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tidemq;
  CLI::App app{"rel_power_broker: the broker with simulated power cuts (reliability suite T2)"};
  broker::BrokerConfig config;
  config.log_level = "warn";
  std::string flush = "sync";
  std::string restarts_path;
  int cut_min_ms = 1000;
  int cut_max_ms = 3000;
  app.add_option("--data", config.data_dir)->required();
  app.add_option("--listen", config.listen)->required();
  app.add_option("--flush", flush)->check(CLI::IsMember({"sync", "async"}));
  app.add_option("--cut-min-ms", cut_min_ms)->check(CLI::PositiveNumber);
  app.add_option("--cut-max-ms", cut_max_ms)->check(CLI::PositiveNumber);
  app.add_option("--restarts", restarts_path)->required();
  // T6's check-back timing (mqbroker's flags of the same names).
  app.add_option("--transaction-timeout-ms", config.transaction_timeout_ms)->check(CLI::PositiveNumber);
  app.add_option("--check-interval-ms", config.check_interval_ms)->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  config.flush = flush == "sync" ? broker::FlushMode::kSync : broker::FlushMode::kAsync;
  if (cut_max_ms < cut_min_ms) cut_max_ms = cut_min_ms;

  // The signals are taken synchronously by this thread (sigtimedwait), so block them in every
  // thread the broker starts.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGTERM, SIGINT, SIGUSR1}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  (void)logging::init(config.log_level);

  test::PowerLossEnv env;
  auto start = [&]() -> std::unique_ptr<broker::Broker> {
    auto b = std::make_unique<broker::Broker>(config, Clock::system(), &env);
    if (Status st = b->start(); !st.is_ok()) {
      fmt::print(stderr, "rel_power_broker: cannot start: {}\n", st.to_string());
      return nullptr;
    }
    return b;
  };
  auto b = start();
  if (!b) return 1;
  config.listen = config.listen_host() + ":" + std::to_string(b->port());  // restarts keep the port
  fmt::print("mqbroker ready listen={} data={} flush={}\n", config.listen, config.data_dir, flush);
  std::fflush(stdout);

  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> next_cut(cut_min_ms, cut_max_ms);
  bool cutting = true;
  uint64_t cuts = 0;
  uint64_t lost_bytes = 0;
  for (;;) {
    siginfo_t info{};
    int sig;
    if (cutting) {
      const int ms = next_cut(rng);
      timespec wait{ms / 1000, (ms % 1000) * 1'000'000L};
      sig = sigtimedwait(&signals, &info, &wait);  // the nemesis' schedule, or a signal
    } else {
      sig = sigwaitinfo(&signals, &info);
    }
    if (sig == SIGUSR1) {
      cutting = false;
      continue;
    }
    if (sig == SIGTERM || sig == SIGINT) break;
    if (sig >= 0) continue;
    env.cut_power();  // the timeout: power goes now
    b.reset();        // its writes fail from here; stopping only releases memory and sockets
    lost_bytes += env.drop_unsynced();
    ++cuts;
    b = start();
    if (!b) return 1;
    if (FILE* f = std::fopen(restarts_path.c_str(), "a")) {
      fmt::print(f, "{}\n", unix_ms());
      std::fclose(f);
    }
  }
  b.reset();
  fmt::print(stderr, "rel_power_broker: {} power cuts, {} unsynced bytes dropped\n", cuts, lost_bytes);
  return 0;
}
