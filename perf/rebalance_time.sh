#!/usr/bin/env bash
# Rebalance time after a group member dies (issue 3: "all partitions owned again within session
# timeout + 1 s"). Starts its own mqbroker on a free port, three `mqperf consume --group`
# members on an 8-partition topic, then:
#   1. SIGKILL one member: the broker sees the connection close and reassigns at once;
#   2. SIGSTOP another (a hung process, connection still open): it is expired after the session
#      timeout (10 s default) and its partitions move.
# Each line gives the time from the signal until `mqadmin consumerConnection` shows every
# partition owned by the live members only, and the budget (timeout + 1 s). Exit 1 if over.
#
#   perf/rebalance_time.sh [--bin DIR] [--partitions N]
set -euo pipefail
BIN=${TIDEMQ_BIN_DIR:-build/bin} PARTS=8
while [[ $# -gt 0 ]]; do
  case $1 in
    --bin) BIN=$2; shift 2 ;;
    --partitions) PARTS=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for b in mqbroker mqadmin mqperf; do [[ -x $BIN/$b ]] || { echo "$BIN/$b not found (build first or pass --bin)" >&2; exit 2; }; done
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
source "$(dirname "$0")/lib.sh"
ADDR=127.0.0.1:$(free_port)
start_broker "$BIN" "$WORK/data" "$ADDR" "$WORK/broker.out" --log-level warn || { echo "mqbroker did not start" >&2; exit 1; }
PIDS+=("$BROKER_PID")
"$BIN/mqadmin" -b "$ADDR" updateTopic -t rebalance -p "$PARTS" >/dev/null

member() {
  "$BIN/mqperf" consume -b "$ADDR" --topic rebalance --group g --duration 600 >"$WORK/member.$1.out" 2>&1 &
  PIDS+=($!)
  echo $!
}
# Prints "members owned_by_live_members" from consumerConnection, given the number of live members.
owned() {
  "$BIN/mqadmin" -b "$ADDR" consumerConnection -g g --json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
ms = d.get("members", [])
owned = {(a["topic"], p) for m in ms for a in m.get("assignment", []) for p in a["partitions"]}
print(len(ms), len(owned))' || echo "0 0"
}
# Waits until `want` members own all partitions; prints the milliseconds it took from $1 (ns).
wait_owned() {
  local since=$1 want=$2 deadline=$(( $(date +%s) + 60 ))
  while (( $(date +%s) < deadline )); do
    read -r m o < <(owned)
    if [[ $m == "$want" && $o == "$PARTS" ]]; then echo $(( ($(date +%s%N) - since) / 1000000 )); return; fi
    sleep 0.02
  done
  echo "timeout"
}
M1=$(member 1); M2=$(member 2); M3=$(member 3)
[[ $(wait_owned "$(date +%s%N)" 3) != timeout ]] || { echo "three members never owned all partitions" >&2; exit 1; }
fail=0
t0=$(date +%s%N); kill -9 "$M1"
ms=$(wait_owned "$t0" 2)
echo "SIGKILL of a member: all $PARTS partitions owned again after ${ms} ms (budget 11000 ms)"
[[ $ms != timeout && $ms -le 11000 ]] || fail=1
M4=$(member 4)
[[ $(wait_owned "$(date +%s%N)" 3) != timeout ]] || { echo "the replacement never joined" >&2; exit 1; }
t0=$(date +%s%N); kill -STOP "$M2"
ms=$(wait_owned "$t0" 2)
echo "SIGSTOP of a member (session timeout 10000 ms): all $PARTS partitions owned again after ${ms} ms (budget 11000 ms)"
[[ $ms != timeout && $ms -le 11000 ]] || fail=1
exit $fail
