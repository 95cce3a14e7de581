#!/usr/bin/env bash
# client/examples/recharge_notify against a real mqbroker (SPEC §10): best-effort notification.
# Group `sms` retries on the notify ladder scaled down 100× (15s 15s 30s 3m ... -> 150ms 150ms 300ms
# 1800ms ...) with max 4 redeliveries, so the test takes seconds.
#   1. 20 recharges: 5, 10, 15, 20 fail, 7 stays PENDING, the rest settle 300 ms after their
#      notification; the SMS gateway fails every SMS's first 2 attempts. Each of the 15 successful
#      recharges gets exactly one SMS (after >= 2 retries through %RETRY%sms), no failed one gets
#      any, and recharge 7's notification ends in %DLQ%sms after 4 redeliveries.
#   2. An operator settles recharge 7 and runs `mqadmin resendDlq -g sms`: it gets its one SMS.
#   3. Every notification delivered again (offsets reset to earliest): no SMS is sent twice.
# Usage: recharge_notify_test.sh BIN_DIR (holding mqbroker, mqadmin, recharge_service, sms_service).
set -euo pipefail
BIN=${1:-${TIDEMQ_BIN_DIR:?usage: $0 BIN_DIR}}
source "$(dirname "$0")/../tools/broker_fixture.sh"
start_broker --flush sync
A=("$BIN/mqadmin" -b "$BROKER")
source "$(dirname "$0")/service_fixture.sh"

finals() { grep -Ec "^final r-[0-9]{6} $2" "$WORK/$1.err" || true; }  # finals NAME OUTCOME-REGEX
wait_finals() {  # wait_finals NAME OUTCOME-REGEX COUNT SECONDS
  local deadline=$((SECONDS + $4))
  until (($(finals "$1" "$2") >= $3)); do
    ((SECONDS < deadline)) || fail "$1: $(finals "$1" "$2") of $3 /$2/ after $4 s: $(tail -5 "$WORK/$1.err")"
    sleep 0.05
  done
}
ask() {  # ask LINE: one request to the recharge service's query interface
  python3 - "$QUERY_PORT" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)
s.sendall((sys.argv[2] + "\n").encode())
print(s.makefile().readline().strip())
PY
}

step "scenario 1: 20 recharges notified; SMS retried on the group's ladder"
"${A[@]}" updateTopic -t recharge-notify -p 2 >/dev/null || fail "updateTopic"
"${A[@]}" updateSubGroup -g sms --reset-policy earliest --max-reconsume 4 \
  --retry-policy 150ms,150ms,300ms,1800ms,6s,12s,18s,18s,18s,36s,108s,108s,108s,216s,216s >/dev/null ||
  fail "updateSubGroup sms"
QUERY_PORT=$(free_port)
start recharge "$BIN/recharge_service" -b "$BROKER" --db "$WORK/recharge-db" --recharges 20 --fail-every 5 \
  --stuck 7 --settle-ms 300 --query-port "$QUERY_PORT"
RECHARGE=$LAST_PID
wait_line "$WORK/recharge.err" "20 recharges notified" 20
start sms1 "$BIN/sms_service" -b "$BROKER" --db "$WORK/sms-db" --query-port "$QUERY_PORT" --gateway-fail-first 2
SMS=$LAST_PID
wait_finals sms1 "(sent|failed)" 19 40
[[ $(finals sms1 failed) == 4 ]] || fail "failed recharges: $(grep failed "$WORK/sms1.err")"
for n in 5 10 15 20; do ! grep -q "^final r-0000$(printf %02d $n) sent" "$WORK/sms1.err" || fail "SMS for failed recharge $n"; done
# Recharge 7 never settles: after 4 redeliveries it is a dead letter.
deadline=$((SECONDS + 30))
until [[ $(topic_messages %DLQ%sms 2>/dev/null || echo 0) == 1 ]]; do
  ((SECONDS < deadline)) || fail "no dead letter for recharge 7"
  sleep 0.1
done
"${A[@]}" consumeMessage -t %DLQ%sms -c 1 >"$WORK/dlq.txt" || fail "consumeMessage %DLQ%sms: $(cat "$WORK/dlq.txt")"
grep -q "r-000007" "$WORK/dlq.txt" || fail "the dead letter is not recharge 7: $(cat "$WORK/dlq.txt")"
"${A[@]}" --json consumerProgress -g sms >"$WORK/progress.json" || fail "consumerProgress"
[[ $(json_get "$WORK/progress.json" 'd["dlq_messages"]') == 1 ]] || fail "consumerProgress: $(cat "$WORK/progress.json")"
json_get "$WORK/progress.json" '[p["topic"] for p in d["partitions"]]' | grep -q "%RETRY%sms" ||
  fail "the group does not consume %RETRY%sms: $(cat "$WORK/progress.json")"
"${A[@]}" topicList >"$WORK/topics.txt" || fail "topicList"
grep -q "%RETRY%sms" "$WORK/topics.txt" && grep -q "%DLQ%sms" "$WORK/topics.txt" ||
  fail "topicList does not show the retry and DLQ topics: $(cat "$WORK/topics.txt")"
"${A[@]}" --json brokerStatus >"$WORK/broker.json" || fail "brokerStatus"
python3 - "$WORK/broker.json" <<'PY' || fail "brokerStatus: $(cat "$WORK/broker.json")"
import json, sys
d = json.loads(open(sys.argv[1]).read())
stats = d.get("stats", d)
for k in ("scheduled_backlog", "retries_scheduled", "dlq_messages"):
    assert k in stats, k
assert int(stats["retries_scheduled"]) >= 2 * 15 and int(stats["dlq_messages"]) == 1, stats
PY

step "scenario 2: the operator settles recharge 7 and resends the dead letter"
[[ $(ask "SET r-000007 SUCCESS") == OK ]] || fail "SET r-000007"
"${A[@]}" --json resendDlq -g sms >"$WORK/resend.json" || fail "resendDlq: $(cat "$WORK/resend.json")"
[[ $(json_get "$WORK/resend.json" 'd["resent"]') == 1 ]] || fail "resendDlq: $(cat "$WORK/resend.json")"
wait_line "$WORK/sms1.err" "^final r-000007 sent" 20
kill -TERM "$SMS"
wait_exit "$SMS" 20 sms1
[[ $RC -eq 0 ]] || fail "sms_service exit $RC: $(tail -5 "$WORK/sms1.err")"
python3 - "$WORK/sms1.out" <<'PY' || fail "sms_service summary: $(cat "$WORK/sms1.out")"
import json, sys
d = json.loads(open(sys.argv[1]).read())
assert d["sent"] == 16 and d["store_sms"] == 16 and d["duplicates"] == 0, d
assert d["failed_recharges"] == 4, d
assert d["gateway_failures"] >= 2 * 16, d          # every SMS failed its first two attempts
assert d["max_reconsume_times"] >= 4, d            # recharge 7 went round the ladder
PY
[[ $(grep -c "^final r-[0-9]* sent" "$WORK/sms1.err") == 16 ]] || fail "SMS lines: $(grep sent "$WORK/sms1.err")"
[[ $(grep "^final r-[0-9]* sent" "$WORK/sms1.err" | awk '{print $2}' | sort -u | wc -l) == 16 ]] || fail "an SMS sent twice"

step "scenario 3: every notification delivered again: nothing sent twice"
"${A[@]}" resetOffsetByTime -g sms -t recharge-notify -s earliest >/dev/null || fail "resetOffsetByTime"
start sms2 "$BIN/sms_service" -b "$BROKER" --db "$WORK/sms-db" --query-port "$QUERY_PORT" --gateway-fail-first 2
SMS=$LAST_PID
wait_finals sms2 "(duplicate|failed)" 20 40
kill -TERM "$SMS"
wait_exit "$SMS" 20 sms2
[[ $RC -eq 0 ]] || fail "sms_service (again) exit $RC"
[[ $(json_get "$WORK/sms2.out" '(d["sent"], d["duplicates"] >= 16, d["store_sms"])') == "(0, True, 16)" ]] ||
  fail "sms_service (again) summary: $(cat "$WORK/sms2.out")"
kill -TERM "$RECHARGE"
wait_exit "$RECHARGE" 15 recharge
[[ $RC -eq 0 ]] || fail "recharge_service exit $RC: $(cat "$WORK/recharge.err")"
[[ $(json_get "$WORK/recharge.out" '(d["recharges"], d["succeeded"], d["failed"], d["stuck"])') == "(20, 15, 4, 1)" ]] ||
  fail "recharge_service summary: $(cat "$WORK/recharge.out")"
echo "PASS"
