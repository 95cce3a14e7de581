#pragma once
// rel_client consume: T4's group consumer (tests/reliability/README.md).
#include <string>

namespace tidemq::rel {

struct ConsumeArgs {
  std::string broker;
  std::string topic;
  std::string group;
  std::string history_path;
};

// Polls the group until SIGTERM/SIGINT, committing (commit_sync, auto-commit off) after every poll
// that returned messages, and logs:
//   poll <partition> <offset> <unix ms>        a message poll() returned (logged when it returned)
//   commit <unix ms> <partition>:<offset>...   a commit the broker acknowledged (ms after the ack)
//   commitfail <code>                          a commit refused or unanswered
// Returns the process exit status.
int run_consumer(const ConsumeArgs& args);

}  // namespace tidemq::rel
