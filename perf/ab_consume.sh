#!/usr/bin/env bash
# A/B of the consume path: one 1,000,000 x 1 KiB backlog, read by `mqperf consume` through two
# broker builds started alternately on the same data (run 0 warms the page cache and is shown but
# not counted). Prints each run and the medians of runs 1..N.
#
#   perf/ab_consume.sh --base DIR --new DIR [--runs N] [--count N] [--flush sync|async]
#
# DIR holds mqbroker (and, for --new, mqadmin and mqperf, used for both sides).
set -euo pipefail
RUNS=3 COUNT=1000000 FLUSH=sync BASE= NEW=
while [[ $# -gt 0 ]]; do
  case $1 in
    --base) BASE=$2; shift 2 ;;
    --new) NEW=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --count) COUNT=$2; shift 2 ;;
    --flush) FLUSH=$2; shift 2 ;;
    *) echo "usage: $0 --base DIR --new DIR [--runs N] [--count N] [--flush sync|async]" >&2; exit 2 ;;
  esac
done
[[ -x $BASE/mqbroker && -x $NEW/mqbroker && -x $NEW/mqperf ]] || { echo "need --base and --new build dirs" >&2; exit 2; }
WORK=$(mktemp -d); trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
source "$(dirname "$0")/lib.sh"
PORT=$(free_port)
PID=
start() {
  start_broker "$1" "$WORK/data" "127.0.0.1:$PORT" "$WORK/broker.out" --flush "$FLUSH" --log-level warn \
    || { echo "broker did not start" >&2; exit 1; }
  PID=$BROKER_PID
}
stop() { kill "$PID"; wait "$PID" || true; }
rate() { python3 -c 'import json,sys; print(round(json.load(sys.stdin)["msgs_per_sec"]))'; }

start "$NEW"
"$NEW/mqadmin" -b 127.0.0.1:$PORT updateTopic -t bench -p 4 >/dev/null
"$NEW/mqperf" produce -b 127.0.0.1:$PORT --topic bench --size 1024 --count "$COUNT" --producers 4 --json 2>/dev/null >/dev/null
stop
declare -A all=([base]="" [new]="")
for run in $(seq 0 "$RUNS"); do
  for side in base new; do
    if [[ $side == base ]]; then start "$BASE"; else start "$NEW"; fi
    r=$("$NEW/mqperf" consume -b 127.0.0.1:$PORT --topic bench --count "$COUNT" --json 2>/dev/null | rate)
    stop
    echo "$side run $run: $r msgs/s"
    [[ $run -gt 0 ]] && all[$side]+="$r "
  done
done
for side in base new; do
  echo "$side median: $(tr ' ' '\n' <<<"${all[$side]}" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') msgs/s"
done
