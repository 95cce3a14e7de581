#!/usr/bin/env bash
# mqadmin's transaction commands (halfStatus, queryHalfMsg, resumeCheckHalfMsg, endHalfMsg,
# producerConnection). Part 1, argument validation, needs no broker: a usage error exits 2 before
# anything connects, and a well-formed command gets as far as connecting to a port where nothing
# listens (exit 1). Part 2 runs them against a real broker. Usage: mqadmin_txn_cli_test.sh BIN_DIR (holding mqadmin, mqbroker).
set -euo pipefail
BIN=${1:-${TIDEMQ_BIN_DIR:?usage: $0 BIN_DIR}}
source "$(dirname "$0")/broker_fixture.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tidemq-txnclitest.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
O=$WORK/out
E=$WORK/err
NOBROKER=127.0.0.1:$(free_port)

step() { echo "-- $*"; }

# usage_error REASON ARGS...: exit 2, nothing on stdout, one stderr line containing REASON.
usage_error() {
  local reason=$1 rc=0
  shift
  "$BIN/mqadmin" -b "$NOBROKER" "$@" >"$O" 2>"$E" || rc=$?
  [[ $rc -eq 2 ]] || fail "mqadmin $*: exit $rc, want 2 (usage): $(cat "$E")"
  expect_one_line_error "$E" mqadmin
  grep -qF -- "$reason" "$E" || fail "mqadmin $*: reason lacks '$reason': $(cat "$E")"
  [[ ! -s $O ]] || fail "mqadmin $*: stdout not empty: $(cat "$O")"
}

# parsed ARGS...: the arguments are accepted; the command then fails to reach the broker (exit 1).
parsed() {
  local rc=0
  "$BIN/mqadmin" -b "$NOBROKER" --timeout-ms 2000 "$@" >"$O" 2>"$E" || rc=$?
  [[ $rc -eq 1 ]] || fail "mqadmin $*: exit $rc, want 1 (arguments accepted, broker unreachable): $(cat "$E")"
  expect_one_line_error "$E" mqadmin
  grep -q "UNAVAILABLE" "$E" || fail "mqadmin $*: not a connection failure: $(cat "$E")"
}

step "transaction ids: decimal or 0x-hex u64, not 0"
usage_error "--id is required" queryHalfMsg
usage_error "transaction id must be a decimal number or 0x followed by hex digits (u64), got 'abc'" queryHalfMsg -i abc
usage_error "got '18446744073709551616'" queryHalfMsg -i 18446744073709551616
usage_error "got '0x'" resumeCheckHalfMsg -i 0x
usage_error "got '63704b570ddf6001'" resumeCheckHalfMsg -i 63704b570ddf6001
usage_error "transaction id 0 is not a transaction" endHalfMsg -i 0 --commit
usage_error "--id is required" resumeCheckHalfMsg
parsed queryHalfMsg -i 7165309844413440001
parsed queryHalfMsg --id 0x63704b570ddf6001
parsed resumeCheckHalfMsg -i 18446744073709551615

step "endHalfMsg: exactly one of --commit and --rollback"
usage_error "endHalfMsg needs --commit or --rollback" endHalfMsg -i 42
usage_error "endHalfMsg takes --commit or --rollback, not both" endHalfMsg -i 42 --commit --rollback
usage_error "--id is required" endHalfMsg --commit
parsed endHalfMsg -i 42 --commit
parsed endHalfMsg --rollback -i 0x2a --json
rc=0; "$BIN/mqadmin" endHalfMsg --help >"$O" 2>"$E" || rc=$?
[[ $rc -eq 0 ]] || fail "endHalfMsg --help: exit $rc: $(cat "$E")"
grep -q -- "--rollback" "$O" || fail "endHalfMsg --help lacks --rollback: $(cat "$O")"

step "halfStatus and producerConnection"
parsed halfStatus
parsed --json halfStatus -g order-pg
usage_error "--group is required" producerConnection
parsed producerConnection -g order-pg --json

# ---- against a broker -------------------------------------------------------------------------
rm -rf "$WORK"
start_broker --flush sync
O=$WORK/out
E=$WORK/err
A=("$BIN/mqadmin" -b "$BROKER")

step "halfStatus of a broker without transactions"
"${A[@]}" --json halfStatus >"$O" || fail "halfStatus --json exit $?"
python3 - "$O" <<'PY' || fail "halfStatus --json: $(cat "$O")"
import json, sys
d = json.load(open(sys.argv[1]))
assert (d["pending"], d["parked"], d["oldest_age_ms"], d["groups"]) == (0, 0, 0, []), d
assert set(d) >= {"checks_histogram", "checks_sent", "outcomes_committed", "outcomes_rolled_back"}, d
PY
"${A[@]}" halfStatus >"$O" || fail "halfStatus exit $?"
grep -q "^no half-messages$" "$O" || fail "halfStatus table: $(cat "$O")"

step "an unknown transaction: NOT_FOUND, exit 1, one line"
not_found() {
  local rc=0
  "${A[@]}" "$@" >"$O" 2>"$E" || rc=$?
  [[ $rc -eq 1 ]] || fail "$*: exit $rc"
  expect_one_line_error "$E" mqadmin
  grep -q "NOT_FOUND" "$E" || fail "$*: $(cat "$E")"
}
not_found queryHalfMsg -i 42
not_found resumeCheckHalfMsg -i 42
not_found endHalfMsg -i 42 --commit

step "producerConnection of a group without producers"
"${A[@]}" --json producerConnection -g order-pg >"$O" || fail "producerConnection --json exit $?"
[[ $(json_get "$O" '(d["producer_group"], d["producers"])') == "('order-pg', [])" ]] ||
  fail "producerConnection --json: $(cat "$O")"
"${A[@]}" producerConnection -g order-pg >"$O" || fail "producerConnection exit $?"
grep -q "^no producers online$" "$O" || fail "producerConnection table: $(cat "$O")"

# TODO(txn handlers + TransactionalProducer): with a producer of order-pg online that sent a half-
# message and answers checks UNKNOWN: producerConnection lists it; halfStatus -g order-pg counts it
# pending; queryHalfMsg -i shows it (state pending, its message); endHalfMsg --commit prints it
# committed with its offset and consumeMessage sees it there; endHalfMsg --rollback then exits 1
# ("already committed"); a second transaction parked (--check-max 1) is listed by halfStatus and
# resumeCheckHalfMsg brings it back to pending with check_count 0.

echo "PASS"
