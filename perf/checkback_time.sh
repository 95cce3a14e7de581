#!/usr/bin/env bash
# perf/checkback_time.sh — issue 4's number: how soon after its due time (receipt +
# --transaction-timeout-ms) the check-back resolves an abandoned transaction. mqperf txn answers
# UNKNOWN for every local transaction (--send-unknown-rate 1) and COMMIT to every check, so each
# message is appended by its check-back; lateness = store_ms (commit) - born_ms (created just
# before the half was sent) - timeout. Prints p50/p99/max lateness and how many resolved.
#
#   perf/checkback_time.sh [--count N] [--timeout-ms MS] [BIN_DIR]
set -euo pipefail
COUNT=2000
TIMEOUT=6000
while (($#)); do
  case "$1" in
    --count) COUNT=${2:?}; shift 2 ;;
    --timeout-ms) TIMEOUT=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) break ;;
  esac
done
BIN=${1:-$(dirname "$0")/../build/bin}
source "$(dirname "$0")/lib.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tidemq-checkback.XXXXXX")
trap 'stop_broker; rm -rf "$WORK"' EXIT
PORT=$(free_port)
start_broker "$BIN" "$WORK/data" "127.0.0.1:$PORT" "$WORK/broker.log" --flush sync --transaction-timeout-ms "$TIMEOUT"
"$BIN/mqperf" txn -b "127.0.0.1:$PORT" --topic abandoned --partitions 4 --size 256 --count "$COUNT" --producers 1 \
  --inflight 64 --send-unknown-rate 1 --check-wait $((TIMEOUT / 1000 + 30)) --json >"$WORK/txn.json" 2>"$WORK/mqperf.log"
# The last answers are still being applied when mqperf returns: wait for every commit (10 s).
for _ in $(seq 100); do
  n=$("$BIN/mqadmin" -b "127.0.0.1:$PORT" --json topicStatus -t abandoned |
      python3 -c 'import json,sys; print(sum(p["end_offset"] for p in json.load(sys.stdin)["partitions"]))')
  ((n >= COUNT)) && break
  sleep 0.1
done
"$BIN/mqadmin" -b "127.0.0.1:$PORT" --json consumeMessage -t abandoned -c "$COUNT" --wait-ms 2000 >"$WORK/msgs.json"
python3 - "$WORK/msgs.json" "$WORK/txn.json" "$TIMEOUT" "$COUNT" <<'PY'
import json, sys
raw = open(sys.argv[1]).read().strip()
try:
    doc = json.loads(raw)
    msgs = doc["messages"] if isinstance(doc, dict) else doc
except json.JSONDecodeError:
    msgs = [json.loads(l) for l in raw.splitlines() if l.strip()]
txn = json.loads(open(sys.argv[2]).read())
timeout, count = int(sys.argv[3]), int(sys.argv[4])
late = sorted(m["store_ms"] - m["born_ms"] - timeout for m in msgs)
if not late:
    sys.exit("no message was resolved by a check-back")
pct = lambda p: late[min(len(late) - 1, int(p * len(late)))]
print(f"resolved by check-back: {len(late)}/{count}; checks {txn['checks']}, unexpected {txn['unexpected_checks']}, "
      f"duplicated {txn['duplicated_checks']}")
print(f"lateness after the due time (ms): p50 {pct(0.5)}, p99 {pct(0.99)}, max {late[-1]}, min {late[0]} (target: <= 1000)")
PY
