#!/usr/bin/env bash
# perf/peak_shaving.sh — the peak-shaving scenario of SPEC §5.3 against a fresh broker, with a
# picture. Builds nothing: expects mqbroker, mqadmin and mqperf in build/bin (or --bin).
#
#   perf/peak_shaving.sh [--quick] [--count N] [--rate R] [--size BYTES] [--partitions N]
#                        [--flush sync|async] [--bin DIR] [--out DIR] [--no-plot] [--no-install]
#                        [--keep-logs] [--pause-ms MS]
#
#   --quick       a short run for CI: 20,000 messages at 2,000 msg/s (~10 s of draining)
#   --count       messages in the burst (default 200,000; --quick 20,000)
#   --rate        billing's limit in msg/s (default 2000)
#   --size        message body bytes (default 1024)
#   --partitions  partitions of topic `orders` (default 4)
#   --flush       broker flush mode (default sync)
#   --bin         directory holding mqbroker, mqadmin and mqperf (default build/bin or $TIDEMQ_BIN_DIR)
#   --out         where the merged CSV, the PNG and the per-process timelines go
#                 (default build/peak_shaving)
#   --no-plot     do not draw the PNG
#   --no-install  do not try to install gnuplot when it is missing (the plot is then skipped)
#   --keep-logs   keep the broker's data dir and logs (path printed at the end)
#   --pause-ms    freeze the broker (SIGSTOP) for MS once billing is a third into its drain
#                 (T10 of the reliability suite: the pace holds across the pause, no catch-up)
#
# What it does: starts `mqbroker` on a free port with a temp data dir; creates topic `orders`;
# gives group `billing` a delivery limit of --rate msg/s and leaves group `audit` unlimited (both
# start from the earliest offset, so the consumers may join before the burst); starts one
# `mqperf consume --group` per group with a per-second --timeline; bursts --count messages with
# `mqperf produce`; waits until billing has everything; merges the three timelines on one time
# axis (out/peak_shaving.csv: second,produced,billing_delivered,audit_delivered,billing_lag,
# audit_lag) and draws produced/s, billing delivered/s and audit delivered/s (log scale) and
# billing's backlog (linear, right axis) with gnuplot (out/peak_shaving.png).
#
# Checks (exit 1 if one fails):
#   1. every full second while billing's backlog exists (its timeline, without the first partial
#      second and the second it drained in) is within ±5 % of --rate;
#   2. audit drained at full speed: it finished within 2 s of the producer;
#   3. billing and audit each received at least --count messages, without errors;
#   4. nothing went to a retry topic (no %RETRY% topic holds a message);
#   5. with --pause-ms: the seconds the pause touched are left out of check 1, and the second
#      after it delivers at most rate × (1 + 100 ms burst) + 5 %: the bucket does not fill up
#      while the broker stands still, so nothing catches up in a burst.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${TIDEMQ_BIN_DIR:-$ROOT/build/bin}
OUT=$ROOT/build/peak_shaving
COUNT=
RATE=2000
SIZE=1024
PARTITIONS=4
FLUSH=sync
QUICK=0
PLOT=1
INSTALL=1
KEEP=0
PAUSE_MS=0

die() { echo "peak_shaving.sh: $*" >&2; exit 2; }       # usage
fail_run() { echo "peak_shaving.sh: $*" >&2; exit 1; }  # the run could not be done
say() { echo "peak_shaving.sh: $*" >&2; }

while (($#)); do
  case "$1" in
    --quick) QUICK=1; shift ;;
    --count) COUNT=${2:?--count needs a number}; shift 2 ;;
    --rate) RATE=${2:?--rate needs a number}; shift 2 ;;
    --size) SIZE=${2:?--size needs a number}; shift 2 ;;
    --partitions) PARTITIONS=${2:?--partitions needs a number}; shift 2 ;;
    --flush) FLUSH=${2:?--flush needs sync|async}; shift 2 ;;
    --bin) BIN=${2:?--bin needs a directory}; shift 2 ;;
    --out) OUT=${2:?--out needs a directory}; shift 2 ;;
    --no-plot) PLOT=0; shift ;;
    --no-install) INSTALL=0; shift ;;
    --keep-logs) KEEP=1; shift ;;
    --pause-ms) PAUSE_MS=${2:?--pause-ms needs a number}; shift 2 ;;
    -h|--help) sed -n '2,39p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
if [[ -z $COUNT ]]; then
  if ((QUICK)); then COUNT=20000; else COUNT=200000; fi
fi
[[ $COUNT =~ ^[1-9][0-9]*$ ]] || die "--count must be a positive number"
[[ $RATE =~ ^[1-9][0-9]*$ ]] || die "--rate must be a positive whole number"
[[ $SIZE =~ ^[0-9]+$ ]] || die "--size must be a number"
[[ $PARTITIONS =~ ^[1-9][0-9]*$ ]] || die "--partitions must be a positive number"
[[ $FLUSH == sync || $FLUSH == async ]] || die "--flush must be sync or async"
[[ $PAUSE_MS =~ ^[0-9]+$ ]] || die "--pause-ms must be a number"
for b in mqbroker mqadmin mqperf; do
  [[ -x $BIN/$b ]] || die "$BIN/$b not found: build first (cmake --build build) or pass --bin"
done
command -v python3 >/dev/null || die "python3 is needed to merge and check the timelines"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tidemq-peak.XXXXXX")
source "$(dirname "$0")/lib.sh"
PORT=$(free_port)
BROKER=127.0.0.1:$PORT
BROKER_PID=
CONSUMER_PIDS=()

cleanup() {
  for pid in "${CONSUMER_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  stop_broker
  if ((KEEP)); then
    say "broker data and logs kept in $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

A=("$BIN/mqadmin" -b "$BROKER")

# ---- broker, topic, groups ----------------------------------------------------------------------
start_broker "$BIN" "$WORK/data" "$BROKER" "$WORK/broker.log" --flush "$FLUSH" \
  || fail_run "mqbroker did not start listening on $BROKER within 10 s"
say "broker $BROKER (flush $FLUSH); burst of $COUNT x $SIZE B; billing limited to $RATE msg/s, audit unlimited"

"${A[@]}" updateTopic -t orders -p "$PARTITIONS" >/dev/null || fail_run "cannot create topic orders"
"${A[@]}" updateSubGroup -g billing --rate "$RATE" --reset-policy earliest >&2 || fail_run "cannot configure billing"
"${A[@]}" updateSubGroup -g audit --reset-policy earliest >&2 || fail_run "cannot configure audit"

# ---- consumers, then the burst ------------------------------------------------------------------
# Billing needs COUNT / RATE seconds; give it half as long again, plus a minute.
DRAIN_S=$((COUNT / RATE))
DEADLINE_S=$((DRAIN_S * 3 / 2 + 60 + PAUSE_MS / 1000))
for g in billing audit; do
  "$BIN/mqperf" consume -b "$BROKER" --topic orders --group "$g" --count "$COUNT" \
    --timeline "$OUT/$g.csv" --json \
    >"$WORK/$g.json" 2>"$WORK/$g.log" &
  CONSUMER_PIDS+=($!)
done

# Wait until both groups have a member (they join, get every partition, and start polling).
for g in billing audit; do
  joined=0
  for _ in $(seq 100); do
    if "${A[@]}" --json consumerConnection -g "$g" >"$WORK/conn.json" 2>/dev/null &&
      [[ $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["members"]))' "$WORK/conn.json") -ge 1 ]]; then
      joined=1
      break
    fi
    sleep 0.1
  done
  ((joined)) || { cat "$WORK/$g.log" >&2; fail_run "group $g has no member after 10 s"; }
done
# Start the burst right at one of billing's timeline seconds, so that the producer's seconds line
# up with the consumers' in the merged timeline.
T0=$(sed -n 's/.*timeline starts at unix_ms \([0-9]*\).*/\1/p' "$WORK/billing.log" | head -1)
if [[ -n $T0 ]]; then
  sleep "$(python3 -c 'import sys, time
t0, now = int(sys.argv[1]), time.time() * 1000
k = int((now + 200 - t0) // 1000) + 1
print(max(0.0, (t0 + k * 1000 - now) / 1000))' "$T0")"
fi
say "billing and audit joined; bursting $COUNT messages"

produce_rc=0
"$BIN/mqperf" produce -b "$BROKER" --topic orders --size "$SIZE" --count "$COUNT" --producers 2 \
  --timeline "$OUT/produce.csv" --json >"$WORK/produce.json" 2>"$WORK/produce.log" || produce_rc=$?
say "producer done (exit $produce_rc): $(cat "$WORK/produce.json")"
say "waiting for billing to drain (~${DRAIN_S} s at $RATE msg/s, at most ${DEADLINE_S} s)"
PAUSE_START=0 PAUSE_END=0
if ((PAUSE_MS > 0)); then
  sleep "$(python3 -c "print(max(1.0, $DRAIN_S / 3))")"
  PAUSE_START=$(date +%s%3N)
  kill -STOP "$BROKER_PID"
  sleep "$(python3 -c "print($PAUSE_MS / 1000)")"
  kill -CONT "$BROKER_PID"
  PAUSE_END=$(date +%s%3N)
  say "broker frozen (SIGSTOP) for $((PAUSE_END - PAUSE_START)) ms"
fi

consumer_rc=()
start_wait=$(date +%s)
for i in 0 1; do
  pid=${CONSUMER_PIDS[$i]}
  while kill -0 "$pid" 2>/dev/null; do
    if (($(date +%s) - start_wait > DEADLINE_S)); then
      say "a consumer is still running after ${DEADLINE_S} s: stopping it"
      kill -TERM "$pid" 2>/dev/null || true
      sleep 2
      break
    fi
    sleep 0.5
  done
  rc=0
  wait "$pid" || rc=$?
  consumer_rc+=("$rc")
done
CONSUMER_PIDS=()
say "billing exit ${consumer_rc[0]}: $(cat "$WORK/billing.json" 2>/dev/null)"
say "audit exit ${consumer_rc[1]}: $(cat "$WORK/audit.json" 2>/dev/null)"

# ---- retry topics -------------------------------------------------------------------------------
"${A[@]}" --json topicList >"$WORK/topics.json"
RETRY_MSGS=0
for t in $(python3 -c 'import json,sys; print(" ".join(t["name"] for t in json.load(open(sys.argv[1]))["topics"] if t["name"].startswith("%RETRY%")))' "$WORK/topics.json"); do
  "${A[@]}" --json topicStatus -t "$t" >"$WORK/retry.json"
  n=$(python3 -c 'import json,sys; print(sum(p["end_offset"] - p["start_offset"] for p in json.load(open(sys.argv[1]))["partitions"]))' "$WORK/retry.json")
  RETRY_MSGS=$((RETRY_MSGS + n))
done
"${A[@]}" consumerProgress -g billing >"$OUT/billing_progress.txt" 2>&1 || true

# ---- merge, check -------------------------------------------------------------------------------
rc=0
python3 - "$OUT" "$WORK" "$COUNT" "$RATE" "$RETRY_MSGS" "$produce_rc" "${consumer_rc[0]}" "${consumer_rc[1]}" \
  "$PAUSE_START" "$PAUSE_END" <<'PY' || rc=$?
import csv, json, re, sys

out, work = sys.argv[1], sys.argv[2]
count, rate, retry_msgs = int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
rcs = {"produce": int(sys.argv[6]), "billing": int(sys.argv[7]), "audit": int(sys.argv[8])}
pause_start, pause_end = int(sys.argv[9]), int(sys.argv[10])  # unix ms; 0: no pause
csv_name = {"produce": "produce.csv", "billing": "billing.csv", "audit": "audit.csv"}

def start_ms(name):
    for line in open(f"{work}/{name}.log", errors="replace"):
        m = re.search(r"timeline starts at unix_ms (\d+)", line)
        if m:
            return int(m.group(1))
    raise SystemExit(f"no timeline start in {name}'s log")

def rows(name):
    with open(f"{out}/{csv_name[name]}") as f:
        return [r for r in csv.DictReader(f)]

def summary(name):
    try:
        return json.loads(open(f"{work}/{name}.json").read())
    except (OSError, ValueError):
        return {}

t0 = {n: start_ms(n) for n in csv_name}
data = {n: rows(n) for n in csv_name}
origin = min(t0.values())

# One row per second of the common axis: second k covers [origin + (k-1) s, origin + k s); a
# process's row s covers (t0 + (s-1) s, t0 + s s] and lands on the second holding its midpoint.
def common_second(name, s):
    return int((t0[name] + (s - 0.5) * 1000 - origin) // 1000) + 1

merged = {}
def put(name, column, value_of):
    for r in data[name]:
        k = common_second(name, int(r["second"]))
        v = value_of(r)
        if v is not None:
            merged.setdefault(k, {})[column] = merged.get(k, {}).get(column, 0) + v

num = lambda key: (lambda r: int(r[key]) if r[key] != "" else None)
put("produce", "produced", num("produced"))
put("billing", "billing_delivered", num("delivered"))
put("audit", "audit_delivered", num("delivered"))
put("billing", "billing_lag", num("lag"))
put("audit", "audit_lag", num("lag"))
columns = ["produced", "billing_delivered", "audit_delivered", "billing_lag", "audit_lag"]
with open(f"{out}/peak_shaving.csv", "w") as f:
    f.write("second," + ",".join(columns) + "\n")
    for k in range(1, max(merged) + 1 if merged else 1):
        row = merged.get(k, {})
        cells = [str(row[c]) if c in row else ("" if c.endswith("_lag") else "0") for c in columns]
        f.write(f"{k}," + ",".join(cells) + "\n")

checks = []
def check(ok, what):
    checks.append((ok, what))

# 1. billing's pacing, on its own timeline (row i covers (t0 + i s, t0 + (i + 1) s]).
billing = [int(r["delivered"] or 0) for r in data["billing"]]
active = [i for i, d in enumerate(billing) if d > 0]

def touches(i, begin_ms, end_ms):
    return t0["billing"] + i * 1000 < end_ms and t0["billing"] + (i + 1) * 1000 > begin_ms

paused = lambda i: pause_start > 0 and touches(i, pause_start, pause_end + 1000)
if active:
    first, last = active[0], active[-1]
    # Without the first partial second, the one it drained in, and the seconds a pause touched.
    rows_checked = [i for i in range(first + 1, last) if not paused(i)]
    window = [billing[i] for i in rows_checked]
    lo, hi = rate * 0.95, rate * 1.05
    bad = [(i + 1, billing[i]) for i in rows_checked if not lo <= billing[i] <= hi]
    check(len(window) >= 1 and not bad,
          f"billing within ±5 % of {rate:.0f} msg/s in every full second of backlog "
          f"({len(window)} s checked, range {min(window) if window else '-'}..{max(window) if window else '-'}"
          + (f"; outside: {bad[:8]}" if bad else "") + ")")
else:
    check(False, "billing delivered nothing")

# 2. audit unaffected: finished within 2 s of the producer (on the common axis).
def last_active_second(name, key):
    secs = [common_second(name, int(r["second"])) for r in data[name] if (r[key] or "0") != "0"]
    return max(secs) if secs else None
p_end, a_end, b_end = (last_active_second("produce", "produced"), last_active_second("audit", "delivered"),
                       last_active_second("billing", "delivered"))
audit_peak = max((int(r["delivered"] or 0) for r in data["audit"]), default=0)
check(p_end is not None and a_end is not None and a_end <= p_end + 2,
      f"audit drained at full speed: last delivery in second {a_end}, producer's last in second {p_end} "
      f"(peak {audit_peak} msg/s); billing's last in second {b_end}")

# 3. everything arrived, no errors.
for name in ("produce", "billing", "audit"):
    s = summary(name)
    check(rcs[name] == 0 and s.get("messages", 0) >= count and s.get("errors", 1) == 0,
          f"{name}: {s.get('messages', 0)} of {count} messages, {s.get('errors', '?')} errors, exit {rcs[name]}")

# 4. retry topics.
check(retry_msgs == 0, f"nothing went to a retry topic ({retry_msgs} messages in %RETRY% topics)")

# 5. no catch-up burst after a pause: the second(s) right after it stay within the bucket.
if pause_start > 0:
    after = [i for i in range(len(billing)) if touches(i, pause_end, pause_end + 1000)]
    cap = rate * (1 + 0.1) * 1.05
    peak = max((billing[i] for i in after), default=0)
    check(bool(after) and peak <= cap,
          f"after the {pause_end - pause_start} ms pause billing delivered at most {peak} msg/s in a second "
          f"(limit {cap:.0f}: rate + its 100 ms bucket + 5 %)")

failed = 0
for ok, what in checks:
    print(("PASS  " if ok else "FAIL  ") + what)
    failed += not ok
sys.exit(1 if failed else 0)
PY

# ---- plot ---------------------------------------------------------------------------------------
have_gnuplot() { command -v gnuplot >/dev/null 2>&1; }
if ((PLOT)) && ! have_gnuplot && ((INSTALL)); then
  say "gnuplot not found: running 'apt-get install -y gnuplot-nox' to draw the PNG"
  SUDO=()
  if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null; then SUDO=(sudo -n); fi
  if ! "${SUDO[@]}" apt-get install -y gnuplot-nox >"$WORK/apt.log" 2>&1; then
    say "that failed; running 'apt-get update' and trying once more"
    { "${SUDO[@]}" apt-get update && "${SUDO[@]}" apt-get install -y gnuplot-nox; } >>"$WORK/apt.log" 2>&1 || true
  fi
fi
if ((PLOT)) && have_gnuplot; then
  gnuplot <<GP 2>"$WORK/gnuplot.log" || say "warning: gnuplot failed: $(head -c 500 "$WORK/gnuplot.log")"
set terminal png size 1280,640
set output "$OUT/peak_shaving.png"
set datafile separator ","
set key top right box opaque
set title "Peak shaving: a burst of $COUNT messages into topic orders; group billing limited to $RATE msg/s, group audit unlimited"
set xlabel "seconds (each step is one second of the merged timeline)"
set ylabel "messages per second (log scale)"
set logscale y
set yrange [100:*]
set xrange [0:*]
set y2label "billing's backlog (messages, linear)"
set y2tics
set y2range [0:*]
set ytics nomirror
set grid
# Row k covers second (k-1, k]: fsteps draws its value over that second; 0 is drawn below the axis.
plot "$OUT/peak_shaving.csv" using 1:(\$2 > 0 ? \$2 : 1) with fsteps lw 5 lc rgb "#9467bd" title "produced/s", \
     "" using 1:(\$4 > 0 ? \$4 : 1) with fsteps lw 2 dt 2 lc rgb "#1f77b4" title "audit delivered/s (no limit)", \
     "" using 1:(\$3 > 0 ? \$3 : 1) with fsteps lw 3 lc rgb "#2ca02c" title "billing delivered/s (limited)", \
     $RATE with lines dt 3 lc rgb "gray40" title "billing's limit", \
     "" using 1:5 axes x1y2 with lines lw 1 lc rgb "#d62728" title "billing's backlog (right axis)"
GP
  [[ -s $OUT/peak_shaving.png ]] && say "plot: $OUT/peak_shaving.png"
elif ((PLOT)); then
  say "warning: gnuplot is not available: no plot (install gnuplot-nox, or pass --no-plot)"
fi
say "timeline: $OUT/peak_shaving.csv (per process: $OUT/{produce,billing,audit}.csv)"
exit $rc
