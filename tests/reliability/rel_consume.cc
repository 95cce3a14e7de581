#include "tests/reliability/rel_consume.h"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>

#include "tests/reliability/rel_history.h"
#include "tidemq/consumer.h"

namespace tidemq::rel {
namespace {

std::atomic<bool> stopping{false};
extern "C" void on_stop(int) { stopping = true; }

}  // namespace

int run_consumer(const ConsumeArgs& a) {
  History history(a.history_path);
  if (!history.ok()) return fmt::print(stderr, "rel_client: cannot write {}\n", a.history_path), 1;
  std::signal(SIGTERM, on_stop);
  std::signal(SIGINT, on_stop);
  ConsumerOptions o;
  o.client.broker = a.broker;
  o.client.request_timeout = std::chrono::milliseconds(3000);
  o.group = a.group;
  o.auto_commit = false;
  o.session_timeout = std::chrono::milliseconds(3000);  // a killed member's partitions move soon
  o.max_poll_wait = std::chrono::milliseconds(500);
  Result<std::unique_ptr<Consumer>> c = Status::unavailable("not connected yet");
  for (int attempt = 0; attempt < 200 && !c.is_ok() && !stopping; ++attempt) {  // the broker may be restarting
    c = Consumer::create(o);
    if (!c.is_ok()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!c.is_ok()) return fmt::print(stderr, "rel_client: {}\n", c.status().to_string()), 1;
  // When a partition is assigned (before its start offset is read): the checker's reference for
  // what this member may poll of it (check.py --group, redelivered-after-commit).
  (*c)->set_rebalance_listener({}, [&history](const std::vector<TopicPartition>& assigned) {
    std::string line = fmt::format("assigned {}", now_ms());
    for (const TopicPartition& tp : assigned) line += fmt::format(" {}", tp.partition);
    history.line(line + "\n");
  });
  if (Status st = (*c)->subscribe(a.topic); !st.is_ok()) {
    return fmt::print(stderr, "rel_client: subscribe: {}\n", st.to_string()), 1;
  }
  while (!stopping) {
    auto msgs = (*c)->poll(std::chrono::milliseconds(500));
    if (!msgs.is_ok()) {
      fmt::print(stderr, "rel_client: poll: {}\n", msgs.status().to_string());
      return 1;
    }
    if (msgs->empty()) continue;
    std::string lines;
    const int64_t polled = now_ms();
    for (const Message& m : *msgs) lines += fmt::format("poll {} {} {}\n", m.partition, m.offset, polled);
    history.line(lines);
    if (Status st = (*c)->commit_sync(); st.is_ok()) {
      std::string line = fmt::format("commit {}", now_ms());
      for (const CommittedOffset& co : (*c)->committed()) line += fmt::format(" {}:{}", co.partition.partition, co.offset);
      history.line(line + "\n");
    } else {
      history.line(fmt::format("commitfail {}\n", static_cast<int>(st.code())));
    }
  }
  (void)(*c)->close();
  return 0;
}

}  // namespace tidemq::rel
