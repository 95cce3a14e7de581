#include "tests/support/broker_process.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace tidemq::test {

std::string BrokerProcess::binary(const std::string& name) {
  const char* dir = std::getenv("TIDEMQ_BIN_DIR");
  return std::string(dir ? dir : "build/bin") + "/" + name;
}

BrokerProcess::BrokerProcess(std::string data_dir, std::vector<std::string> args)
    : data_dir_(std::move(data_dir)), args_(std::move(args)) {}

BrokerProcess::~BrokerProcess() { kill9(); }

bool BrokerProcess::start(uint16_t port, std::chrono::milliseconds timeout) {
  int out[2];
  if (::pipe(out) != 0) {
    error_ = "pipe failed";
    return false;
  }
  std::vector<std::string> argv_s = {binary("mqbroker"), "--data", data_dir_, "--listen",
                                     "127.0.0.1:" + std::to_string(port), "--log-level", "warn"};
  argv_s.insert(argv_s.end(), args_.begin(), args_.end());
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::close(out[0]);
    ::close(out[1]);
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::_Exit(127);
  }
  ::close(out[1]);
  if (pid < 0) {
    ::close(out[0]);
    error_ = "fork failed";
    return false;
  }
  pid_ = pid;
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (line.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd pfd{out[0], POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[256];
    ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  ::close(out[0]);  // later stdout writes go nowhere; the broker logs to stderr
  auto pos = line.find("listen=");
  if (pos == std::string::npos) {
    error_ = "broker did not report ready: '" + line + "'";
    kill9();
    return false;
  }
  auto colon = line.find(':', pos);
  port_ = static_cast<uint16_t>(std::atoi(line.c_str() + colon + 1));
  return true;
}

void BrokerProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

int BrokerProcess::terminate() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace tidemq::test
