// tidemq_test_group_consumer: one consumer-group member for the real-process kill test
// (tests/integration/group_kill_test.cc). Joins --group, subscribes --topic, polls with
// auto-commit off and calls commit_sync() after every --commit-every messages. Appends to --log,
// one write(2) per line, so a SIGKILL loses nothing that was logged:
//   <mono_ns> <partition> <offset>          a message poll() returned
//   <mono_ns> commit <partition> <offset>   the broker acknowledged this committed offset
//   <mono_ns> assigned|revoked p,p,...      rebalance callbacks
// <mono_ns> is CLOCK_MONOTONIC (steady_clock), comparable across processes on one host; it is
// read right after poll() returned (one stamp for its whole batch) or after commit_sync()
// returned (commits).
// SIGTERM / SIGINT: close() (no commit: auto-commit is off) and exit 0.
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "tidemq/consumer.h"
#include "tidemq/log.h"

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class LogFile {
 public:
  explicit LogFile(const std::string& path) : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644)) {}
  ~LogFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  void line(const std::string& s) { lines(mono_ns(), {s}); }
  // One write for several lines that share one time stamp.
  void lines(int64_t stamp_ns, const std::vector<std::string>& ls) {
    std::string buf;
    for (const auto& s : ls) buf += fmt::format("{} {}\n", stamp_ns, s);
    (void)!::write(fd_, buf.data(), buf.size());
  }

 private:
  int fd_;
};

std::string join(const std::vector<tidemq::TopicPartition>& parts) {
  std::string out;
  for (const auto& tp : parts) {
    if (!out.empty()) out += ',';
    out += std::to_string(tp.partition);
  }
  return out.empty() ? std::string("-") : out;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> args{{"--commit-every", "100"}, {"--session-timeout-ms", "10000"}};
  for (int i = 1; i + 1 < argc; i += 2) args[argv[i]] = argv[i + 1];
  for (const char* required : {"--broker", "--group", "--topic", "--log"}) {
    if (!args.count(required)) {
      std::fprintf(stderr, "usage: %s --broker H:P --group G --topic T --log FILE [--commit-every N]\n", argv[0]);
      return 2;
    }
  }
  ::signal(SIGTERM, on_signal);
  ::signal(SIGINT, on_signal);
  (void)tidemq::set_client_log_level("error");

  LogFile log(args["--log"]);
  if (!log.ok()) {
    std::perror("open log");
    return 1;
  }
  tidemq::ConsumerOptions o;
  o.client.broker = args["--broker"];
  o.client.request_timeout = std::chrono::milliseconds(10000);
  o.group = args["--group"];
  o.auto_commit = false;
  o.session_timeout = std::chrono::milliseconds(std::stol(args["--session-timeout-ms"]));
  o.max_poll_wait = std::chrono::milliseconds(500);
  const uint64_t commit_every = std::stoull(args["--commit-every"]);

  auto c = tidemq::Consumer::create(o);
  if (!c.is_ok()) {
    std::fprintf(stderr, "create: %s\n", c.status().to_string().c_str());
    return 1;
  }
  auto& consumer = *c;
  consumer->set_rebalance_listener(
      [&](const std::vector<tidemq::TopicPartition>& p) { log.line("revoked " + join(p)); },
      [&](const std::vector<tidemq::TopicPartition>& p) { log.line("assigned " + join(p)); });
  if (auto st = consumer->subscribe(args["--topic"]); !st.is_ok()) {
    std::fprintf(stderr, "subscribe: %s\n", st.to_string().c_str());
    return 1;
  }

  std::map<uint32_t, uint64_t> logged_commits;
  uint64_t since_commit = 0;
  while (!g_stop) {
    auto msgs = consumer->poll(std::chrono::milliseconds(200));
    // Deliveries are stamped when poll() returned them, not when each line is written: under load
    // writing a few hundred lines takes long enough to stamp a delivery after a commit that the
    // broker acknowledged later than the delivery (a false violation in group_kill_test).
    const int64_t delivered_ns = mono_ns();
    if (!msgs.is_ok()) {
      std::fprintf(stderr, "poll: %s\n", msgs.status().to_string().c_str());
      if (msgs.status().code() != tidemq::StatusCode::kShuttingDown) continue;
      break;
    }
    std::vector<std::string> delivered;
    delivered.reserve(msgs->size());
    for (const auto& m : *msgs) delivered.push_back(fmt::format("{} {}", m.partition, m.offset));
    if (!delivered.empty()) log.lines(delivered_ns, delivered);
    since_commit += msgs->size();
    if (since_commit >= commit_every) {
      since_commit = 0;
      tidemq::Status st = consumer->commit_sync();
      if (!st.is_ok()) std::fprintf(stderr, "commit: %s\n", st.to_string().c_str());
      // Every partition whose commit the broker acknowledged (a fenced one keeps its old value).
      for (const auto& co : consumer->committed()) {
        auto it = logged_commits.find(co.partition.partition);
        if (it != logged_commits.end() && it->second == co.offset) continue;
        logged_commits[co.partition.partition] = co.offset;
        log.line(fmt::format("commit {} {}", co.partition.partition, co.offset));
      }
    }
  }
  (void)consumer->close();
  return 0;
}
