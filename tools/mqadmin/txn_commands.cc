// Transaction commands (SPEC §6, §8): halfStatus, queryHalfMsg, resumeCheckHalfMsg, endHalfMsg,
// producerConnection.
#include <CLI/CLI.hpp>
#include <ostream>

#include "tidemq/admin.h"
#include "tools/mqadmin/cli_checks.h"
#include "tools/mqadmin/command.h"
#include "tools/mqadmin/render.h"
#include "tools/mqadmin/txn_args.h"
#include "tools/mqadmin/txn_render.h"

namespace tidemq::tools {
namespace {

Status run_half_status(const CommandEnv& env, const std::string& group) {
  TIDEMQ_ASSIGN_OR_RETURN(auto admin, Admin::create(env.client_options()));
  TIDEMQ_ASSIGN_OR_RETURN(auto status, admin->half_status(group));
  return env.print(half_status_json(status), half_status_text(status));
}

// What queryHalfMsg, resumeCheckHalfMsg and endHalfMsg do to one transaction.
enum class HalfOp { kQuery, kResume, kEnd };

struct HalfArgs {
  HalfOp op = HalfOp::kQuery;
  std::string txn;        // -i, checked by parse_txn_id at parse time
  bool commit = false;    // endHalfMsg --commit
  bool rollback = false;  // endHalfMsg --rollback; exactly one of the two, checked at parse time
};

Result<HalfInfo> apply(Admin& admin, uint64_t txn_id, const HalfArgs& args) {
  switch (args.op) {
    case HalfOp::kQuery: return admin.query_half(txn_id);
    case HalfOp::kResume: return admin.resume_half(txn_id);
    case HalfOp::kEnd: {
      TIDEMQ_ASSIGN_OR_RETURN(TxnAction action, end_half_action(args.commit, args.rollback));
      TIDEMQ_ASSIGN_OR_RETURN(HalfInfo half, admin.end_half(txn_id, action));
      TIDEMQ_RETURN_IF_ERROR(check_end_outcome(half, action));
      return half;
    }
  }
  return Status::internal("HalfOp out of range");
}

// Prints the transaction as the broker has it after the operation. endHalfMsg fails (nothing
// printed) when the recorded outcome is not the one asked for.
Status run_half(const CommandEnv& env, const HalfArgs& args) {
  TIDEMQ_ASSIGN_OR_RETURN(uint64_t txn_id, parse_txn_id(args.txn));
  TIDEMQ_ASSIGN_OR_RETURN(auto admin, Admin::create(env.client_options()));
  TIDEMQ_ASSIGN_OR_RETURN(HalfInfo half, apply(*admin, txn_id, args));
  return env.print(half_info_json(half), half_info_text(half));
}

Status run_producer_connection(const CommandEnv& env, const std::string& group) {
  TIDEMQ_ASSIGN_OR_RETURN(auto admin, Admin::create(env.client_options()));
  TIDEMQ_ASSIGN_OR_RETURN(auto producers, admin->producer_connection(group));
  return env.print(producer_connection_json(group, producers), producer_connection_text(group, producers));
}

// Adds a command on one transaction, with -i/--id TXN (required, checked).
CLI::App* add_half_command(CommandSet& set, const std::string& name, const std::string& description, HalfOp op,
                           const std::shared_ptr<HalfArgs>& args) {
  args->op = op;
  CLI::App* cmd = set.add(name, description, [args](const CommandEnv& env) { return run_half(env, *args); });
  cmd->add_option("-i,--id", args->txn, "Transaction id: decimal, or 0x-prefixed hex")
      ->required()
      ->check(status_validator([](const std::string& s) { return parse_txn_id(s).status(); }, "TXN"));
  return cmd;
}

}  // namespace

void register_txn_commands(CommandSet& set) {
  {
    auto group = std::make_shared<std::string>();
    auto* cmd = set.add("halfStatus",
                        "Unresolved transactions: pending, parked, oldest age, checks histogram, per producer group",
                        [group](const CommandEnv& env) { return run_half_status(env, *group); });
    cmd->add_option("-g,--group", *group, "Only this producer group");
  }
  add_half_command(set, "queryHalfMsg", "Show one transaction: state, checks, next check, its half-message",
                   HalfOp::kQuery, std::make_shared<HalfArgs>());
  add_half_command(set, "resumeCheckHalfMsg",
                   "Unpark a parked transaction: check count back to 0, checked again at once", HalfOp::kResume,
                   std::make_shared<HalfArgs>());
  {
    auto args = std::make_shared<HalfArgs>();
    CLI::App* cmd = add_half_command(
        set, "endHalfMsg", "Resolve a transaction as an operator, --commit or --rollback (the first outcome wins)",
        HalfOp::kEnd, args);
    cmd->add_flag("--commit", args->commit, "Commit: append the half-message to its topic");
    cmd->add_flag("--rollback", args->rollback, "Roll back: drop the half-message");
    // Exactly one of the two: a usage error (exit 2) before anything is sent.
    cmd->parse_complete_callback([args] { require_valid(end_half_action(args->commit, args->rollback).status()); });
  }
  {
    auto group = std::make_shared<std::string>();
    auto* cmd = set.add("producerConnection", "The live connections of a producer group (where check-backs go)",
                        [group](const CommandEnv& env) { return run_producer_connection(env, *group); });
    cmd->add_option("-g,--group", *group, "Producer group name")->required();
  }
}

}  // namespace tidemq::tools
