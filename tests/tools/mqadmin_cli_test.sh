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

step "updateSubGroup creates, then changes only the given settings"
"${A[@]}" updateSubGroup -g billing --rate 2000 >"$O" || fail "updateSubGroup exit $?"
grep -q "^created group billing: strategy avg, clustering, reset latest, rate 2000 msg/s" "$O" ||
  fail "updateSubGroup output: $(cat "$O")"
"${A[@]}" --json updateSubGroup -g billing --strategy sticky --topic-rate orders=500 >"$O" || fail "update 2 exit $?"
python3 - "$O" <<'PY' || fail "updateSubGroup kept/changed: $(cat "$O")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["created"] is False, d
assert d["strategy"] == "sticky" and d["max_msgs_per_sec"] == 2000 and d["burst_ms"] == 100, d
assert d["topic_rates"] == [{"topic": "orders", "max_msgs_per_sec": 500, "max_bytes_per_sec": 0}], d
PY
"${A[@]}" updateSubGroup -g billing --topic-rate orders=0 --burst-ms 50 >/dev/null || fail "update 3"
"${A[@]}" updateSubGroup -g audit --broadcast --reset-policy earliest >/dev/null || fail "updateSubGroup audit"

step "groupList (table and JSON)"
"${A[@]}" groupList >"$O" || fail "groupList exit $?"
head -1 "$O" | grep -q "^GROUP  *STRATEGY  *MODE  *RESET_POLICY" || fail "groupList header: $(cat "$O")"
grep -Eq "^audit +avg +broadcasting +earliest" "$O" || fail "groupList audit: $(cat "$O")"
"${A[@]}" --json groupList >"$O" || fail "groupList --json exit $?"
python3 - "$O" <<'PY' || fail "groupList --json: $(cat "$O")"
import json, sys
g = {x["name"]: x for x in json.load(open(sys.argv[1]))["groups"]}
assert sorted(g) == ["audit", "billing"], g
b = g["billing"]
assert (b["strategy"], b["max_msgs_per_sec"], b["burst_ms"], b["topic_rates"]) == ("sticky", 2000, 50, []), b
assert (g["audit"]["mode"], g["audit"]["reset_policy"], g["audit"]["max_msgs_per_sec"]) == ("broadcasting", "earliest", 0)
PY

step "consumerConnection and consumerProgress of a group without members"
"${A[@]}" consumerConnection -g billing >"$O" || fail "consumerConnection exit $?"
grep -q "^no members online$" "$O" || fail "consumerConnection: $(cat "$O")"
"${A[@]}" --json consumerConnection -g billing >"$O" || fail "consumerConnection --json exit $?"
[[ $(json_get "$O" '(d["group"], d["strategy"], d["members"])') == "('billing', 'sticky', [])" ]] ||
  fail "consumerConnection --json: $(cat "$O")"

step "resetOffsetByTime / skipAccumulatedMessage move committed offsets (consumerProgress shows them)"
"${A[@]}" --json topicStatus -t orders >"$WORK/ts.json"
"${A[@]}" --json resetOffsetByTime -g billing -t orders -s earliest >"$O" || fail "reset earliest exit $?"
[[ $(json_get "$O" '[o["partition"] for o in d["offsets"]]') == "[0, 1, 2, 3]" ]] || fail "reset: $(cat "$O")"
"${A[@]}" --json consumerProgress -g billing >"$O" || fail "consumerProgress exit $?"
python3 - "$O" "$WORK/ts.json" <<'PY' || fail "consumerProgress after reset to earliest: $(cat "$O")"
import json, sys
d, ts = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert d["group"] == "billing", d
parts = {(p["topic"], p["partition"]): p for p in d["partitions"]}
for p in d["partitions"]:
    assert set(p) >= {"topic", "partition", "end_offset", "committed_offset", "lag", "owner"}, p
for t in ts["partitions"]:
    p = parts[("orders", t["partition"])]
    assert p["committed_offset"] == t["start_offset"] and p["end_offset"] == t["end_offset"], (p, t)
    assert p["lag"] == t["end_offset"] - t["start_offset"] and p["owner"] == "", p
assert d["total_lag"] == 3, d
PY
"${A[@]}" consumerProgress -g billing >"$O" || fail "consumerProgress table exit $?"
head -1 "$O" | grep -q "^TOPIC  *PARTITION  *START_OFFSET  *END_OFFSET  *COMMITTED  *LAG  *OWNER" ||
  fail "consumerProgress table: $(cat "$O")"
grep -q "^total lag: 3$" "$O" || fail "consumerProgress total: $(cat "$O")"
"${A[@]}" skipAccumulatedMessage -g billing -t orders >"$O" || fail "skipAccumulatedMessage exit $?"
grep -q "reset to latest" "$O" || fail "skipAccumulatedMessage output: $(cat "$O")"
"${A[@]}" --json consumerProgress -g billing >"$O"
python3 - "$O" <<'PY' || fail "consumerProgress after skip: $(cat "$O")"
import json, sys
d = json.load(open(sys.argv[1]))
assert all(p["committed_offset"] == p["end_offset"] and p["lag"] == 0 for p in d["partitions"]), d
PY
# A time between two messages of partition 3: the group restarts at the second one.
"${A[@]}" --json sendMessage -t orders -p 3 -m before >"$O" || fail "send before"
BEFORE_OFF=$(json_get "$O" 'd["offset"]')
sleep 0.05
"${A[@]}" --json sendMessage -t orders -p 3 -m after >"$O" || fail "send after"
AFTER_OFF=$(json_get "$O" 'd["offset"]')
AFTER_MS=$(json_get "$O" 'd["store_ms"]')
"${A[@]}" --json resetOffsetByTime -g billing -t orders -s "$AFTER_MS" >"$O" || fail "reset by time exit $?"
[[ $(json_get "$O" '[o["offset"] for o in d["offsets"] if o["partition"] == 3][0]') == "$AFTER_OFF" ]] ||
  fail "reset to $AFTER_MS (after offset $AFTER_OFF, before $BEFORE_OFF): $(cat "$O")"
"${A[@]}" --json consumerProgress -g billing >"$O"
[[ $(json_get "$O" '[(p["committed_offset"], p["lag"]) for p in d["partitions"] if p["partition"] == 3][0]') == \
  "($AFTER_OFF, 1)" ]] || fail "consumerProgress after reset by time: $(cat "$O")"
"${A[@]}" resetOffsetByTime -g billing -t orders -s now >/dev/null || fail "reset now"
"${A[@]}" --json consumerProgress -g billing >"$O"
[[ $(json_get "$O" 'd["total_lag"]') == 0 ]] || fail "reset to now left a lag: $(cat "$O")"

step "group failures: unknown group, bad values"
rc=0; "${A[@]}" consumerProgress -g nosuchgroup >"$O" 2>"$E" || rc=$?
[[ $rc -eq 1 ]] || fail "consumerProgress of an unknown group: exit $rc"
expect_one_line_error "$E" mqadmin
grep -q "GROUP_NOT_FOUND" "$E" || fail "unknown group reason: $(cat "$E")"
rc=0; "${A[@]}" consumerConnection -g nosuchgroup >"$O" 2>"$E" || rc=$?
[[ $rc -eq 1 ]] || fail "consumerConnection of an unknown group: exit $rc"
expect_one_line_error "$E" mqadmin
rc=0; "${A[@]}" resetOffsetByTime -g billing -t nosuchtopic -s now >"$O" 2>"$E" || rc=$?
[[ $rc -eq 1 ]] || fail "reset on a missing topic: exit $rc"
expect_one_line_error "$E" mqadmin
rc=0; "${A[@]}" updateSubGroup -g billing --strategy round_robin >"$O" 2>"$E" || rc=$?
[[ $rc -eq 2 ]] || fail "bad --strategy: exit $rc (want 2)"
expect_one_line_error "$E" mqadmin
rc=0; "${A[@]}" updateSubGroup -g billing --topic-rate orders >"$O" 2>"$E" || rc=$?
[[ $rc -eq 2 ]] || fail "bad --topic-rate: exit $rc (want 2)"
expect_one_line_error "$E" mqadmin
rc=0; "${A[@]}" resetOffsetByTime -g billing -t orders -s yesterday >"$O" 2>"$E" || rc=$?
[[ $rc -eq 2 ]] || fail "bad -s: exit $rc (want 2)"
expect_one_line_error "$E" mqadmin
rc=0; "${A[@]}" updateSubGroup -g billing --broadcast --clustering >"$O" 2>"$E" || rc=$?
[[ $rc -eq 2 ]] || fail "--broadcast with --clustering: exit $rc (want 2)"

step "deleteSubGroup"
"${A[@]}" deleteSubGroup -g audit >"$O" || fail "deleteSubGroup exit $?"
grep -q "^deleted group audit$" "$O" || fail "deleteSubGroup output: $(cat "$O")"
"${A[@]}" --json groupList >"$O"
[[ $(json_get "$O" '[g["name"] for g in d["groups"]]') == "['billing']" ]] || fail "after deleteSubGroup: $(cat "$O")"
rc=0; "${A[@]}" deleteSubGroup -g audit >"$O" 2>"$E" || rc=$?
[[ $rc -eq 1 ]] || fail "deleting a deleted group: exit $rc"
expect_one_line_error "$E" mqadmin

step "consumeMessage -g: joins, prints, commits what it printed"
"${A[@]}" resetOffsetByTime -g billing -t orders -s earliest >/dev/null || fail "reset before consumeMessage -g"
"${A[@]}" --json consumeMessage -t orders -g billing -c 100 --wait-ms 500 >"$O" || fail "consumeMessage -g exit $?"
python3 - "$O" <<'PY' || fail "consumeMessage -g --json: $(cat "$O")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["group"] == "billing" and d["topic"] == "orders", d
bodies = sorted(m["body"] for m in d["messages"])
assert bodies == sorted(["hello", 'world "quoted" \\ back', "line1\nline2\t\u00e9", "before", "after"]), bodies
PY
"${A[@]}" --json consumerProgress -g billing >"$O"
[[ $(json_get "$O" 'd["total_lag"]') == 0 ]] || fail "consumeMessage -g did not commit: $(cat "$O")"
"${A[@]}" --json consumeMessage -t orders -g billing --wait-ms 300 >"$O" 2>/dev/null || fail "consumeMessage -g again"
[[ $(json_get "$O" 'len(d["messages"])') == 0 ]] || fail "committed messages came again: $(cat "$O")"
rc=0; "${A[@]}" consumeMessage -t orders -g billing -p 1 >"$O" 2>"$E" || rc=$?
[[ $rc -eq 2 ]] || fail "consumeMessage -g with -p: exit $rc (want 2)"

step "a live member: consumerConnection and consumerProgress show it; deleteSubGroup is refused"
"${A[@]}" consumeMessage -t orders -g billing --wait-ms 6000 >"$WORK/live.out" 2>&1 &
LIVE_PID=$!
joined=0
for _ in $(seq 50); do
  "${A[@]}" --json consumerConnection -g billing >"$O" || fail "consumerConnection (live) exit $?"
  if [[ $(json_get "$O" 'len(d["members"])') == 1 ]]; then joined=1; break; fi
  sleep 0.1
done
((joined)) || fail "the member did not show up in consumerConnection: $(cat "$O")"
python3 - "$O" <<'PY' || fail "consumerConnection (live): $(cat "$O")"
import json, sys
d = json.load(open(sys.argv[1]))
m = d["members"][0]
assert d["generation"] >= 1 and m["client_id"] == "mqadmin" and m["member_id"], d
# Every member also subscribes its group's retry topic (SPEC §7); a broker that created it
# assigns its one partition too.
assert sorted(m["subscriptions"], key=lambda s: s["topic"]) == [
    {"topic": "%RETRY%billing", "expression": "*"}, {"topic": "orders", "expression": "*"}], m
assert [a for a in m["assignment"] if a["topic"] != "%RETRY%billing"] == [
    {"topic": "orders", "partitions": [0, 1, 2, 3]}], m
assert m["remote"].startswith("127.0.0.1:"), m
PY
MEMBER=$(json_get "$O" 'd["members"][0]["member_id"]')
"${A[@]}" consumerConnection -g billing >"$O" || fail "consumerConnection (live) table"
grep -q "orders\[0-3\]" "$O" || fail "consumerConnection table: $(cat "$O")"
"${A[@]}" --json consumerProgress -g billing >"$O"
[[ $(json_get "$O" 'sorted(set((p["owner"], p["owner_client_id"]) for p in d["partitions"]))') == \
  "[('$MEMBER', 'mqadmin')]" ]] || fail "consumerProgress owners: $(cat "$O")"
rc=0; "${A[@]}" deleteSubGroup -g billing >"$O" 2>"$E" || rc=$?
[[ $rc -eq 1 ]] || fail "deleteSubGroup with a member online: exit $rc"
expect_one_line_error "$E" mqadmin
wait "$LIVE_PID" || fail "the live consumeMessage -g failed: $(cat "$WORK/live.out")"

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
