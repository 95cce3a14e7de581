#!/usr/bin/env bash
# mqadmin against a real broker: every command, table and JSON output, exit codes, and one-line
# failures. Usage: mqadmin_cli_test.sh BIN_DIR (holding mqbroker and mqadmin).
set -euo pipefail
BIN=${1:-${TIDEMQ_BIN_DIR:?usage: $0 BIN_DIR}}
source "$(dirname "$0")/broker_fixture.sh"
start_broker --flush sync
A=("$BIN/mqadmin" -b "$BROKER")
O=$WORK/out
E=$WORK/err

step() { echo "-- $*"; }

step "updateTopic creates, then is a no-op with the same settings"
"${A[@]}" updateTopic -t orders -p 4 >"$O" || fail "updateTopic exit $?"
grep -q "created topic orders: 4 partitions" "$O" || fail "updateTopic output: $(cat "$O")"
"${A[@]}" --json updateTopic -t orders -p 4 >"$O" || fail "updateTopic --json exit $?"
[[ $(json_get "$O" 'd["created"]') == False ]] || fail "second updateTopic created it again: $(cat "$O")"
[[ $(json_get "$O" 'd["partitions"]') == 4 ]] || fail "updateTopic --json: $(cat "$O")"
"${A[@]}" updateTopic -t other -p 2 --retention-ms 3600000 >/dev/null || fail "updateTopic other"

step "topicList"
"${A[@]}" topicList >"$O" || fail "topicList exit $?"
head -1 "$O" | grep -q "^TOPIC  *PARTITIONS" || fail "topicList header: $(cat "$O")"
grep -q "^orders  *4 " "$O" || fail "topicList lacks orders: $(cat "$O")"
"${A[@]}" topicList --json >"$O"
[[ $(json_get "$O" 'sorted(t["name"] for t in d["topics"])') == "['orders', 'other']" ]] ||
  fail "topicList --json: $(cat "$O")"
[[ $(json_get "$O" '[t["retention_ms"] for t in d["topics"] if t["name"] == "other"][0]') == 3600000 ]] ||
  fail "retention not kept: $(cat "$O")"

step "sendMessage (table and JSON, chosen partition, properties)"
"${A[@]}" sendMessage -t orders -k o-1 --tags TagA -m hello >"$O" || fail "sendMessage exit $?"
grep -Eq "^id: +[0-9a-f]{16}$" "$O" || fail "sendMessage output: $(cat "$O")"
"${A[@]}" --json sendMessage -t orders -k o-2 -p 2 --property trace=abc -m 'world "quoted" \ back' >"$O" ||
  fail "sendMessage --json exit $?"
ID=$(json_get "$O" 'd["id"]')
[[ $ID =~ ^[0-9a-f]{16}$ ]] || fail "id is not 16 hex digits: $ID"
[[ $(json_get "$O" 'd["partition"]') == 2 ]] || fail "sendMessage -p 2 went elsewhere: $(cat "$O")"
OFF=$(json_get "$O" 'd["offset"]')
# A body with a newline, a tab and UTF-8 must survive the JSON round trip.
"${A[@]}" --json sendMessage -t orders -p 1 -m "$(printf 'line1\nline2\t\xc3\xa9')" >/dev/null || fail "send utf8"

step "topicStatus (table and the SPEC JSON shape)"
"${A[@]}" topicStatus -t orders >"$O" || fail "topicStatus exit $?"
grep -q "PARTITION  START_OFFSET  END_OFFSET" "$O" || fail "topicStatus table: $(cat "$O")"
"${A[@]}" topicStatus -t orders --json >"$O" || fail "topicStatus --json exit $?"
python3 - "$O" <<'PY' || fail "topicStatus --json shape: $(cat "$O")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["topic"] == "orders", d
assert [p["partition"] for p in d["partitions"]] == [0, 1, 2, 3], d
for p in d["partitions"]:
    assert set(p) >= {"partition", "start_offset", "end_offset", "last_store_ms"}, p
assert sum(p["end_offset"] - p["start_offset"] for p in d["partitions"]) == 3, d
assert d["partitions"][2]["end_offset"] >= 1 and d["partitions"][2]["last_store_ms"] > 0, d
PY

step "consumeMessage (all partitions, one partition, from an offset)"
"${A[@]}" --json consumeMessage -t orders -c 10 --wait-ms 500 >"$O" || fail "consumeMessage exit $?"
python3 - "$O" <<'PY' || fail "consumeMessage --json: $(cat "$O")"
import json, sys
d = json.load(open(sys.argv[1]))
bodies = sorted(m["body"] for m in d["messages"])
assert bodies == sorted(["hello", 'world "quoted" \\ back', "line1\nline2\t\u00e9"]), bodies
m = [m for m in d["messages"] if m["key"] == "o-2"][0]
assert m["properties"] == {"trace": "abc"}, m
assert m["tags"] == "" and m["partition"] == 2, m
assert [m for m in d["messages"] if m["key"] == "o-1"][0]["tags"] == "TagA"
PY
"${A[@]}" --json consumeMessage -t orders -c 1 --wait-ms 500 >"$O"
[[ $(json_get "$O" 'len(d["messages"])') == 1 ]] || fail "-c 1 printed more: $(cat "$O")"
"${A[@]}" --json consumeMessage -t orders -p 2 --wait-ms 300 >"$O" || fail "consumeMessage -p exit $?"
[[ $(json_get "$O" '[m["partition"] for m in d["messages"]]') == "[2]" ]] || fail "-p 2: $(cat "$O")"
"${A[@]}" --json consumeMessage -t orders -p 2 -o "$((OFF + 1))" --wait-ms 300 >"$O" || fail "-o exit $?"
[[ $(json_get "$O" 'len(d["messages"])') == 0 ]] || fail "-o past the end: $(cat "$O")"
"${A[@]}" consumeMessage -t orders -c 10 --wait-ms 300 >"$O" 2>/dev/null || fail "consumeMessage table exit $?"
head -1 "$O" | grep -q "^PARTITION  OFFSET" || fail "consumeMessage table: $(cat "$O")"
grep -q 'line1\\nline2\\t' "$O" || fail "control characters not escaped in the table: $(cat "$O")"
[[ $(wc -l <"$O") -eq 4 ]] || fail "consumeMessage table rows: $(cat "$O")"

step "queryMsgByOffset and queryMsgById"
"${A[@]}" --json queryMsgByOffset -t orders -p 2 -o "$OFF" >"$O" || fail "queryMsgByOffset exit $?"
[[ $(json_get "$O" 'd["id"]') == "$ID" ]] || fail "queryMsgByOffset: $(cat "$O")"
[[ $(json_get "$O" 'd["key"]') == o-2 ]] || fail "queryMsgByOffset key: $(cat "$O")"
"${A[@]}" queryMsgByOffset -t orders -p 2 -o "$OFF" >"$O" || fail "queryMsgByOffset table exit $?"
grep -Eq "^body: +world \"quoted\" \\\\ back$" "$O" || fail "queryMsgByOffset fields: $(cat "$O")"
"${A[@]}" --json queryMsgById -i "$ID" >"$O" || fail "queryMsgById exit $?"
[[ $(json_get "$O" '[(m["id"], m["offset"]) for m in d["messages"]]') == "[('$ID', $OFF)]" ]] ||
  fail "queryMsgById: $(cat "$O")"
"${A[@]}" --json queryMsgById -i "$ID" -t orders >"$O" || fail "queryMsgById -t exit $?"
"${A[@]}" queryMsgById -i "$ID" >"$O" || fail "queryMsgById table exit $?"
grep -Eq "^id: +$ID$" "$O" || fail "queryMsgById fields: $(cat "$O")"

step "brokerStatus"
"${A[@]}" --json brokerStatus >"$O" || fail "brokerStatus exit $?"
[[ $(json_get "$O" 'd["flush_mode"]') == sync ]] || fail "brokerStatus flush_mode: $(cat "$O")"
[[ -n $(json_get "$O" 'd["version"]') ]] || fail "brokerStatus version: $(cat "$O")"
"${A[@]}" brokerStatus >"$O" || fail "brokerStatus table exit $?"
grep -Eq "^flush_mode: +sync$" "$O" || fail "brokerStatus fields: $(cat "$O")"

step "failures: one line on stderr, non-zero exit"
rc=0; "${A[@]}" topicStatus -t missing >"$O" 2>"$E" || rc=$?
[[ $rc -eq 1 ]] || fail "topicStatus of a missing topic: exit $rc"
expect_one_line_error "$E" mqadmin
grep -qi "topic" "$E" || fail "reason does not mention the topic: $(cat "$E")"
[[ ! -s $O ]] || fail "stdout not empty on failure: $(cat "$O")"
rc=0; "${A[@]}" queryMsgByOffset -t orders -p 0 -o 999999 >"$O" 2>"$E" || rc=$?
[[ $rc -eq 1 ]] || fail "queryMsgByOffset past the end: exit $rc"
expect_one_line_error "$E" mqadmin
rc=0; "${A[@]}" sendMessage -t missing -m x >"$O" 2>"$E" || rc=$?
[[ $rc -eq 1 ]] || fail "sendMessage to a missing topic: exit $rc"
expect_one_line_error "$E" mqadmin
rc=0; "${A[@]}" queryMsgById -i not-hex >"$O" 2>"$E" || rc=$?
[[ $rc -eq 2 ]] || fail "bad id: exit $rc (want 2, usage)"
expect_one_line_error "$E" mqadmin
rc=0; "${A[@]}" updateTopic >"$O" 2>"$E" || rc=$?
[[ $rc -eq 2 ]] || fail "updateTopic without -t: exit $rc (want 2)"
expect_one_line_error "$E" mqadmin
rc=0; "${A[@]}" noSuchCommand >"$O" 2>"$E" || rc=$?
[[ $rc -eq 2 ]] || fail "unknown command: exit $rc (want 2)"
expect_one_line_error "$E" mqadmin
rc=0; "$BIN/mqadmin" -b "127.0.0.1:$(free_port)" --timeout-ms 2000 topicList >"$O" 2>"$E" || rc=$?
[[ $rc -eq 1 ]] || fail "unreachable broker: exit $rc"
expect_one_line_error "$E" mqadmin
rc=0; TIDEMQ_BROKER=$BROKER "$BIN/mqadmin" topicList >"$O" 2>"$E" || rc=$?
[[ $rc -eq 0 ]] || fail "TIDEMQ_BROKER not used: exit $rc $(cat "$E")"

step "deleteTopic"
"${A[@]}" deleteTopic -t other >"$O" || fail "deleteTopic exit $?"
grep -q "deleted topic other" "$O" || fail "deleteTopic output: $(cat "$O")"
rc=0; "${A[@]}" topicStatus -t other >"$O" 2>"$E" || rc=$?
[[ $rc -eq 1 ]] || fail "topicStatus after delete: exit $rc"
"${A[@]}" --json topicList >"$O"
[[ $(json_get "$O" '[t["name"] for t in d["topics"]]') == "['orders']" ]] || fail "after delete: $(cat "$O")"

echo "PASS"
