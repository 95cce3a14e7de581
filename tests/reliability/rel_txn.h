#pragma once
// rel_client txn: T6's transactional workload (tests/reliability/README.md).
#include <cstdint>
#include <string>

namespace tidemq::rel {

// The outcome a transaction's sequence number decides (T6): 60 % commit, 30 % rollback, 10 %
// UNKNOWN from the local transaction and COMMIT from the check-back. check.py --txn knows the
// same rule.
enum class Planned { kCommit, kRollback, kUnknownThenCommit };
inline Planned planned_outcome(uint32_t seq) {
  const uint32_t r = seq % 10;
  return r < 6 ? Planned::kCommit : r < 9 ? Planned::kRollback : Planned::kUnknownThenCommit;
}

struct TxnArgs {
  std::string broker;
  std::string topic;
  std::string id;     // producer id: bodies are "<id>:<seq>"
  std::string group;  // producer group (every T6 producer shares it, so any can answer a check)
  uint32_t count = 1000;
  double rate = 0;             // transactions per second (0: as fast as they go)
  uint32_t resolve_wait_s = 60;  // after the last one: answer checks until the group has none open
  std::string history_path;
};

// Runs `count` transactions one after another, answering check-backs from the sequence number in
// the body, and logs:
//   invoke <seq> <unix ms>
//   half <seq> <txn id> <unix ms>       the half-message is stored and the local transaction
//                                       decided (at that ms; EndTransaction goes next)
//   end <seq> <state>                   the broker's recorded state after EndTransaction
//   fail|info <seq> <code>              send_half failed: certainly not stored / unknown
//   endinfo <seq> <code>                EndTransaction's answer was lost (a check resolves it)
//   check <seq> <times> <action> <ms> <producer id>
//                                       a check-back answered (for any producer of the group)
//   open <pending> <parked>             the group's open transactions when the client stopped waiting
// Returns the process exit status.
int run_transactions(const TxnArgs& args);

}  // namespace tidemq::rel
