#!/usr/bin/env bash
# mqperf against a real broker: produce then consume 20,000 messages (also as a consumer group),
# short e2e runs (also with a group), the JSON summary and exit codes, and a broker that dies
# mid-run. Usage: mqperf_smoke_test.sh BIN_DIR.
set -euo pipefail
BIN=${1:-${TIDEMQ_BIN_DIR:?usage: $0 BIN_DIR}}
source "$(dirname "$0")/../tools/broker_fixture.sh"
start_broker --flush async
P=("$BIN/mqperf")
O=$WORK/out
E=$WORK/err

step() { echo "-- $*"; }

check_summary() {  # check_summary FILE MODE MESSAGES
  python3 - "$@" <<'PY' || fail "summary: $(cat "$1")"
import json, sys
text = open(sys.argv[1]).read()
assert text.count("\n") == 1, "not exactly one line: %r" % text
d = json.loads(text)
assert list(d) == ["mode", "messages", "errors", "seconds", "msgs_per_sec", "mb_per_sec", "latency_us"], list(d)
assert list(d["latency_us"]) == ["p50", "p99", "p999", "max"], d
assert d["mode"] == sys.argv[2], d
assert d["messages"] == int(sys.argv[3]), d
assert d["errors"] == 0, d
assert d["seconds"] > 0 and d["msgs_per_sec"] > 0 and d["mb_per_sec"] > 0, d
l = d["latency_us"]
assert 0 < l["p50"] <= l["p99"] <= l["p999"] <= l["max"], d
PY
}

step "produce 20,000 (4 producers, topic created with 4 partitions)"
"${P[@]}" produce -b "$BROKER" --topic smoke --partitions 4 --size 256 --count 20000 --producers 4 \
  --json --timeline "$WORK/produce.csv" >"$O" 2>"$E" || fail "produce exit $?: $(cat "$E")"
check_summary "$O" produce 20000
head -1 "$WORK/produce.csv" | grep -qx "second,produced,delivered,lag" || fail "timeline header"
"$BIN/mqadmin" -b "$BROKER" --json topicStatus -t smoke >"$O"
[[ $(json_get "$O" 'sum(p["end_offset"] - p["start_offset"] for p in d["partitions"])') == 20000 ]] ||
  fail "broker holds: $(cat "$O")"

step "produce one message per request"
"${P[@]}" produce -b "$BROKER" --topic smoke1 --size 100 --count 2000 --batch 1 --inflight 100 --json \
  >"$O" 2>"$E" || fail "produce --batch 1 exit $?: $(cat "$E")"
check_summary "$O" produce 2000

step "consume the 20,000 back (2 readers), human summary"
"${P[@]}" consume -b "$BROKER" --topic smoke --count 20000 --consumers 2 --json >"$O" 2>"$E" ||
  fail "consume exit $?: $(cat "$E")"
check_summary "$O" consume 20000
"${P[@]}" consume -b "$BROKER" --topic smoke --count 20000 >"$O" 2>"$E" || fail "consume text exit $?"
grep -q "^messages   20,000 of 20,000$" "$O" || fail "text summary: $(cat "$O")"

step "consume more than there is: stops after the request timeout, summary, exit 1"
rc=0
"${P[@]}" consume -b "$BROKER" --topic smoke --count 30000 --request-timeout-ms 1000 --json >"$O" 2>"$E" || rc=$?
[[ $rc -eq 1 ]] || fail "consume of a short backlog: exit $rc"
[[ $(json_get "$O" 'd["messages"]') == 20000 ]] || fail "short backlog summary: $(cat "$O")"

step "e2e at a fixed rate"
"${P[@]}" e2e -b "$BROKER" --topic smoke-e2e --size 64 --count 3000 --rate 3000 --json >"$O" 2>"$E" ||
  fail "e2e exit $?: $(cat "$E")"
check_summary "$O" e2e 3000
grep -q '^\[mqperf e2e\] 1s ' "$E" || fail "no progress line: $(cat "$E")"

step "consume --group: 2 members share the 20,000 (a new group starts at the earliest offset)"
"${P[@]}" consume -b "$BROKER" --topic smoke --group smoke-g --count 20000 --consumers 2 --json \
  --timeline "$WORK/group.csv" >"$O" 2>"$E" || fail "consume --group exit $?: $(cat "$E")"
check_summary "$O" consume 20000
grep -q "created consumer group 'smoke-g' (reset policy earliest)" "$E" || fail "group creation note: $(cat "$E")"
grep -q "timeline starts at unix_ms [0-9]" "$E" || fail "no timeline start line: $(cat "$E")"
head -1 "$WORK/group.csv" | grep -qx "second,produced,delivered,lag" || fail "group timeline header"
"$BIN/mqadmin" -b "$BROKER" --json consumerProgress -g smoke-g >"$O"
[[ $(json_get "$O" 'd["total_lag"]') == 0 ]] || fail "the group did not commit everything: $(cat "$O")"
"$BIN/mqadmin" -b "$BROKER" --json consumerConnection -g smoke-g >"$O"
[[ $(json_get "$O" 'len(d["members"])') == 0 ]] || fail "members still online after mqperf: $(cat "$O")"

step "e2e --group at a fixed rate (2 members)"
"${P[@]}" e2e -b "$BROKER" --topic smoke-e2e --group e2e-g --consumers 2 --size 64 --count 3000 --rate 3000 \
  --json --timeline "$WORK/e2e.csv" >"$O" 2>"$E" || fail "e2e --group exit $?: $(cat "$E")"
check_summary "$O" e2e 3000
python3 - "$WORK/e2e.csv" <<'PY' || fail "e2e timeline: $(cat "$WORK/e2e.csv")"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
# Both ends run in this process: every column is known (lag = produced - delivered so far).
assert rows and all(r["produced"] != "" and r["delivered"] != "" and r["lag"] != "" for r in rows), rows
PY

step "usage errors exit 2 with one line"
rc=0; "${P[@]}" produce -b "$BROKER" --topic smoke --group g1 >"$O" 2>"$E" || rc=$?
[[ $rc -eq 2 ]] || fail "produce --group: exit $rc"
expect_one_line_error "$E" mqperf
rc=0; "${P[@]}" consume -b "$BROKER" --topic smoke --group "bad group" >"$O" 2>"$E" || rc=$?
[[ $rc -eq 2 ]] || fail "bad --group: exit $rc"
grep -q -- "--group must match" "$E" || fail "bad --group message: $(cat "$E")"
rc=0; "${P[@]}" produce --producers 0 >"$O" 2>"$E" || rc=$?
[[ $rc -eq 2 ]] || fail "--producers 0: exit $rc"
expect_one_line_error "$E" mqperf

step "consume a missing topic: exit 1, summary still printed"
rc=0; "${P[@]}" consume -b "$BROKER" --topic nope --count 10 --json >"$O" 2>"$E" || rc=$?
[[ $rc -eq 1 ]] || fail "missing topic: exit $rc"
[[ $(json_get "$O" 'd["messages"]') == 0 ]] || fail "missing topic summary: $(cat "$O")"

step "broker killed mid-run: summary with what was acknowledged, exit 1"
"${P[@]}" produce -b "$BROKER" --topic smoke-kill --size 512 --duration 60 --request-timeout-ms 2000 \
  --json >"$O" 2>"$E" &
PERF_PID=$!
sleep 2
kill -KILL "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null || true
BROKER_PID=
start=$(date +%s)
rc=0; wait "$PERF_PID" || rc=$?
took=$(($(date +%s) - start))
[[ $rc -eq 1 ]] || fail "mqperf after the broker died: exit $rc"
[[ $took -le 20 ]] || fail "mqperf took ${took}s to give up"
python3 - "$O" <<'PY' || fail "summary after broker death: $(cat "$O")"
import json, sys
d = json.loads(open(sys.argv[1]).read())
assert d["mode"] == "produce" and d["messages"] > 0 and d["errors"] > 0, d
PY

echo "PASS"
