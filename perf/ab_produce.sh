#!/usr/bin/env bash
# perf/ab_produce.sh — A/B one mqperf produce workload between two builds, alternating A and B
# (each run on a fresh broker and data directory), and print per-run and median msgs/s and the
# broker's CPU time (user+sys) for the run. The CPU column is steadier than throughput on a shared
# machine: it shows a hot-path cost even when other load moves msgs/s by ±20 %.
#
#   perf/ab_produce.sh [--pairs N] [--flush sync|async] A_BIN_DIR B_BIN_DIR -- <mqperf produce args>
#
# Example (one message per request):
#   perf/ab_produce.sh --pairs 5 /work/main/build/bin build-rel/bin -- \
#     produce --topic t --partitions 4 --size 1024 --count 200000 --producers 1 --batch 1 --inflight 1000
set -euo pipefail

PAIRS=3
FLUSH=sync
while (($#)); do
  case "$1" in
    --pairs) PAIRS=${2:?}; shift 2 ;;
    --flush) FLUSH=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) break ;;
  esac
done
(($# >= 3)) || { echo "usage: see --help" >&2; exit 2; }
A=$1; B=$2; shift 2
[[ $1 == -- ]] && shift

source "$(dirname "$0")/lib.sh"

run_one() {  # run_one <bin dir> -> "msgs_per_sec cpu_ms"
  local bin=$1 work port bp c0 c1 out
  shift
  work=$(mktemp -d "${TMPDIR:-/tmp}/tidemq-ab.XXXXXX")
  port=$(free_port)
  start_broker "$bin" "$work/data" "127.0.0.1:$port" "$work/broker.log" --flush "$FLUSH" || return 1
  bp=$BROKER_PID
  c0=$(awk '{print ($14+$15)*10}' "/proc/$bp/stat")
  out=$("$bin/mqperf" "$@" -b "127.0.0.1:$port" --json 2>"$work/mqperf.log" || true)
  c1=$(awk '{print ($14+$15)*10}' "/proc/$bp/stat")
  kill -TERM "$bp"
  wait "$bp" || true
  rm -rf "$work"
  echo "$(echo "$out" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["msgs_per_sec"]))' 2>/dev/null || echo 0) $((c1 - c0))"
}

declare -a A_RATE A_CPU B_RATE B_CPU
for i in $(seq "$PAIRS"); do
  # Alternate which build goes first, so drift in machine load hits both alike.
  if ((i % 2)); then order="A B"; else order="B A"; fi
  for who in $order; do
    if [[ $who == A ]]; then read -r r c < <(run_one "$A" "$@"); A_RATE+=("$r"); A_CPU+=("$c")
    else read -r r c < <(run_one "$B" "$@"); B_RATE+=("$r"); B_CPU+=("$c"); fi
    echo "pair $i $who: $r msg/s, broker cpu $c ms" >&2
  done
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : int((v[NR/2]+v[NR/2+1])/2)}'; }
echo "A $A: median $(median "${A_RATE[@]}") msg/s, broker cpu $(median "${A_CPU[@]}") ms  (runs: ${A_RATE[*]})"
echo "B $B: median $(median "${B_RATE[@]}") msg/s, broker cpu $(median "${B_CPU[@]}") ms  (runs: ${B_RATE[*]})"
