#!/usr/bin/env bash
# perf/bench.sh — run the SPEC §11 produce/consume workloads against a fresh broker and print a
# markdown table of medians. Builds nothing: expects mqbroker and mqperf in build/bin (or --bin).
#
#   perf/bench.sh [--flush sync|async] [--runs N] [--quick] [--partitions N] [--bin DIR]
#                 [--keep-logs]
#
#   --flush       broker flush mode (default sync)
#   --runs        runs per workload; the table shows medians (default 3)
#   --quick       small counts and one run: a smoke test of the script and the tools, not a benchmark
#   --partitions  partitions of each benchmark topic (default 4)
#   --bin         directory holding mqbroker and mqperf (default: build/bin, or $TIDEMQ_BIN_DIR)
#   --keep-logs   keep the broker log and mqperf outputs (path printed at the end)
#
# Each workload writes to its own topic. The consume workload reads the topic written by the first
# run of the 1 KiB batched produce workload (a backlog of that many 1 KiB messages), from the start
# of every partition, once per run.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${TIDEMQ_BIN_DIR:-$ROOT/build/bin}
FLUSH=sync
RUNS=3
QUICK=0
PARTITIONS=4
KEEP=0

die() { echo "bench.sh: $*" >&2; exit 2; }

while (($#)); do
  case "$1" in
    --flush) FLUSH=${2:?--flush needs sync|async}; shift 2 ;;
    --flush=*) FLUSH=${1#*=}; shift ;;
    --runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
    --runs=*) RUNS=${1#*=}; shift ;;
    --quick) QUICK=1; shift ;;
    --partitions) PARTITIONS=${2:?--partitions needs a number}; shift 2 ;;
    --bin) BIN=${2:?--bin needs a directory}; shift 2 ;;
    --keep-logs) KEEP=1; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ $FLUSH == sync || $FLUSH == async ]] || die "--flush must be sync or async"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive number"
for b in mqbroker mqperf; do
  [[ -x $BIN/$b ]] || die "$BIN/$b not found: build first (cmake --build build) or pass --bin"
done
command -v python3 >/dev/null || die "python3 is needed to parse mqperf --json"

if ((QUICK)); then
  RUNS=1
  N_1K=20000; N_100B=50000; N_UNBATCHED=10000
else
  N_1K=1000000; N_100B=2000000; N_UNBATCHED=500000
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tidemq-bench.XXXXXX")
DATA=$WORK/data
mkdir -p "$DATA"
source "$(dirname "$0")/lib.sh"
PORT=$(free_port)
BROKER=127.0.0.1:$PORT
BROKER_PID=

cleanup() {
  stop_broker
  if ((KEEP)); then
    rm -rf "$DATA"
    echo "bench.sh: logs kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_broker "$BIN" "$DATA" "$BROKER" "$WORK/broker.log" --flush "$FLUSH" \
  || die "mqbroker did not start listening on $BROKER within 10 s"

CPU=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //' || echo unknown)
echo "bench.sh: broker $BROKER, flush $FLUSH, $(nproc) cores ($CPU), $RUNS run(s) per workload" >&2

# run_workload <name> <target> <mqperf args...>: runs mqperf RUNS times, appending each JSON
# summary (or a failure marker) to $WORK/<name>.jsonl. "{run}" in the args becomes the run number.
run_workload() {
  local name=$1 target=$2
  shift 2
  local cmd_shown="mqperf $*"
  cmd_shown=${cmd_shown//\{run\}/N}
  printf '%s\t%s\t%s\n' "$name" "$target" "$cmd_shown" >>"$WORK/workloads.tsv"
  for run in $(seq "$RUNS"); do
    local args=()
    for a in "$@"; do args+=("${a//\{run\}/$run}"); done
    local out=$WORK/$name.$run.json rc=0
    "$BIN/mqperf" "${args[@]}" -b "$BROKER" --json >"$out" 2>"$WORK/$name.$run.log" || rc=$?
    if [[ -s $out ]]; then
      python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).read()); d["rc"]=int(sys.argv[2]); print(json.dumps(d))' \
        "$out" "$rc" >>"$WORK/$name.jsonl"
    else
      echo "{\"rc\": $rc}" >>"$WORK/$name.jsonl"
    fi
    echo "bench.sh: $name run $run: exit $rc $(head -c 300 "$out" 2>/dev/null)" >&2
  done
}

run_workload produce-1k-batched "≥ 100,000 msg/s (async ≥ 150,000)" \
  produce --topic bench-1k-r{run} --partitions "$PARTITIONS" --size 1024 --count "$N_1K" --producers 4
run_workload produce-100b-batched "≥ 250,000 msg/s" \
  produce --topic bench-100b-r{run} --partitions "$PARTITIONS" --size 100 --count "$N_100B" --producers 4
run_workload produce-1k-unbatched "≥ 50,000 msg/s" \
  produce --topic bench-1k-unbatched-r{run} --partitions "$PARTITIONS" --size 1024 --count "$N_UNBATCHED" \
  --producers 1 --batch 1 --inflight 1000
run_workload consume-1k-backlog "≥ 200,000 msg/s" \
  consume --topic bench-1k-r1 --count "$N_1K" --consumers 1

echo
echo "flush: $FLUSH · machine: $(nproc) cores, $CPU · $(date -u +%Y-%m-%dT%H:%MZ) · commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
echo
python3 - "$WORK" "$RUNS" <<'PY'
import json, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
print("| workload | command | msgs/s | MB/s | p99 | target | runs ok |")
print("| --- | --- | ---: | ---: | ---: | --- | ---: |")
for line in open(f"{work}/workloads.tsv"):
    name, target, cmd = line.rstrip("\n").split("\t")
    results = [json.loads(l) for l in open(f"{work}/{name}.jsonl")]
    good = [r for r in results if "msgs_per_sec" in r]
    ok = sum(1 for r in results if r.get("rc") == 0)
    def med(key, sub=None):
        vals = [(r[key][sub] if sub else r[key]) for r in good]
        return statistics.median(vals) if vals else None
    rate, mb, p99 = med("msgs_per_sec"), med("mb_per_sec"), med("latency_us", "p99")
    fmt_rate = f"{rate:,.0f}" if rate is not None else "-"
    fmt_mb = f"{mb:,.1f}" if mb is not None else "-"
    if p99 is None:
        fmt_p99 = "-"
    elif p99 >= 1000:
        fmt_p99 = f"{p99 / 1e6:.2f} s" if p99 >= 1e6 else f"{p99 / 1000:.1f} ms"
    else:
        fmt_p99 = f"{p99:.0f} µs"
    print(f"| {name} | `{cmd}` | {fmt_rate} | {fmt_mb} | {fmt_p99} | {target} | {ok}/{len(results)} |")
PY
