#pragma once
// Runs a real `mqbroker` as a child process (binary from $TIDEMQ_BIN_DIR) for integration and
// crash tests: start on port 0, learn the port from its "mqbroker ready" line, kill -9 or SIGTERM.
#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace tidemq::test {

class BrokerProcess {
 public:
  // `args` are extra flags; --data and --listen 127.0.0.1:<port> are added.
  BrokerProcess(std::string data_dir, std::vector<std::string> args = {});
  ~BrokerProcess();  // kill -9 if still running

  // Starts and waits for the ready line (or fails: returns false with the reason in error()).
  // `port` 0 picks a free one; pass the previous port() to come back on the same address.
  bool start(uint16_t port = 0, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  void kill9();
  // SIGTERM and wait; returns the exit status (0 on a clean shutdown).
  int terminate();
  bool running() const { return pid_ > 0; }
  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& error() const { return error_; }

  static std::string binary(const std::string& name);  // $TIDEMQ_BIN_DIR/name

 private:
  std::string data_dir_;
  std::vector<std::string> args_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string error_;
};

}  // namespace tidemq::test
