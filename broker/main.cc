// mqbroker: parse the config, start the broker, stop it cleanly on SIGINT/SIGTERM.
#include <csignal>
#include <cstdio>
#include <iostream>

#include <asio.hpp>

#include "broker/broker.h"
#include "broker/config.h"
#include "broker/version.h"
#include "common/logging.h"

int main(int argc, char** argv) {
  using namespace tidemq;
  std::signal(SIGPIPE, SIG_IGN);  // a closed peer is an error code, not a process exit
  try {
    auto parsed = broker::parse_config(argc, argv);
    if (!parsed.is_ok()) {
      std::fprintf(stderr, "mqbroker: %s\n", parsed.status().message().c_str());
      return 2;
    }
    if (parsed->exit_early) {
      std::cout << parsed->message << "\n";
      return 0;
    }
    const broker::BrokerConfig& config = parsed->config;
    if (Status st = logging::init(config.log_level); !st.is_ok()) {
      std::fprintf(stderr, "mqbroker: %s\n", st.message().c_str());
      return 2;
    }
    auto log = logging::get("broker");
    broker::Broker b(config);
    if (Status st = b.start(); !st.is_ok()) {
      log->error("cannot start: {}", st.to_string());
      std::fprintf(stderr, "mqbroker: %s\n", st.to_string().c_str());
      return 1;
    }
    std::string listen = config.listen_host() + ":" + std::to_string(b.port());
    log->info("tidemq mqbroker {} listening on {}, data dir {}, flush {}", broker::kVersion, listen,
              config.data_dir, broker::flush_mode_name(config.flush));
    if (config.unsafe_ack_before_sync) {
      log->warn("--unsafe-ack-before-sync: produces, offset commits and half-messages are acknowledged at once and written 200 ms later; a crash loses them");
    }
    // One machine-readable line on stdout for scripts and tests (port 0 resolves here).
    std::printf("mqbroker ready listen=%s data=%s flush=%s version=%s\n", listen.c_str(), config.data_dir.c_str(),
                std::string(broker::flush_mode_name(config.flush)).c_str(), std::string(broker::kVersion).c_str());
    std::fflush(stdout);

    asio::io_context signals_io;
    asio::signal_set signals(signals_io, SIGINT, SIGTERM);
    signals.async_wait([&](const asio::error_code&, int sig) {
      log->info("signal {}: shutting down", sig);
      b.stop();
    });
    signals_io.run();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mqbroker: fatal: %s\n", e.what());
    return 1;
  }
}
