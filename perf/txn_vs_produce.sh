#!/usr/bin/env bash
# perf/txn_vs_produce.sh — issue 4's number: committed transactions per second (`mqperf txn`,
# half + local commit + EndTransaction) as a share of plain produce throughput, measured in the
# same sitting, alternating the two workloads, each run on a fresh broker and data directory.
# Prints per-run and median msgs/s and the ratio of the medians.
#
# A transaction cannot be batched with others (one SendHalf and one EndTransaction each), so the
# txn workload gets its throughput from concurrency: --inflight transactions per producer. The
# default, 512, is where txn throughput stops growing on the 2-vCPU machine (perf/RESULTS.md:
# 256 → 37–41k, 512 → 41–44k, 1,024 → 43k, 2,048 → 42–44k txn/s): both workloads run as fast as
# they can, produce with batches, txn with enough transactions in flight.
#
# Each run lasts --duration seconds (default 20), the same for both workloads: sustained rates,
# each paying for the LevelDB memtable flushes and compactions its own writes cause. With --count
# instead, produce (3-4 s for 500,000) ends before most of its compaction work and is measured
# ~35 % above its sustained rate, while txn (12 s) pays for its own (perf/RESULTS.md).
#
#   perf/txn_vs_produce.sh [--rounds N] [--flush sync|async] [--duration S | --count N] [--inflight N] [BIN_DIR]
set -euo pipefail
ROUNDS=3
FLUSH=sync
LENGTH=(--duration 20)
INFLIGHT=512
while (($#)); do
  case "$1" in
    --rounds) ROUNDS=${2:?}; shift 2 ;;
    --flush) FLUSH=${2:?}; shift 2 ;;
    --duration) LENGTH=(--duration "${2:?}"); shift 2 ;;
    --count) LENGTH=(--count "${2:?}"); shift 2 ;;
    --inflight) INFLIGHT=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) break ;;
  esac
done
BIN=${1:-$(dirname "$0")/../build/bin}
source "$(dirname "$0")/lib.sh"

PRODUCE=(produce --topic plain --partitions 4 --size 1024 "${LENGTH[@]}" --producers 4)
TXN=(txn --topic txn --partitions 4 --size 1024 "${LENGTH[@]}" --producers 4 --inflight "$INFLIGHT")

run_one() {  # run_one <mqperf args...> -> msgs/s
  local work port out
  work=$(mktemp -d "${TMPDIR:-/tmp}/tidemq-txnperf.XXXXXX")
  port=$(free_port)
  start_broker "$BIN" "$work/data" "127.0.0.1:$port" "$work/broker.log" --flush "$FLUSH" || return 1
  out=$("$BIN/mqperf" "$@" -b "127.0.0.1:$port" --json 2>"$work/mqperf.log" || true)
  stop_broker
  rm -rf "$work"
  echo "$out" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["msgs_per_sec"]))' 2>/dev/null || echo 0
}

declare -a P T
for i in $(seq "$ROUNDS"); do
  if ((i % 2)); then order="P T"; else order="T P"; fi
  for w in $order; do
    if [[ $w == P ]]; then r=$(run_one "${PRODUCE[@]}"); P+=("$r"); echo "round $i produce: $r msg/s" >&2
    else r=$(run_one "${TXN[@]}"); T+=("$r"); echo "round $i txn: $r txn/s" >&2; fi
  done
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : int((v[NR/2]+v[NR/2+1])/2)}'; }
mp=$(median "${P[@]}"); mt=$(median "${T[@]}")
echo "produce ($FLUSH): median $mp msg/s (runs: ${P[*]}): mqperf ${PRODUCE[*]}"
echo "txn     ($FLUSH): median $mt txn/s (runs: ${T[*]}): mqperf ${TXN[*]}"
python3 -c "print(f'txn / produce = {$mt / max($mp, 1):.1%} (target >= 30 %)')"
