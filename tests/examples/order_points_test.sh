#!/usr/bin/env bash
# client/examples/order_points against a real mqbroker (SPEC §10), with check-backs due after 1 s.
#   1. 50 orders, order 7's local transaction fails: 49 orders credited once each, order 7 never
#      delivered; the points service run again from the earliest offset credits nothing twice.
#   2. The order service is SIGKILLed after the local commit of order 20, before its commit
#      reaches the broker: order 20 stays invisible; the service is started again (same producer
#      group, same --db), the broker's check-back asks it, it answers COMMIT from its store, and
#      orders 1..30 are each credited once.
# Usage: order_points_test.sh BIN_DIR (holding mqbroker, mqadmin, order_service, points_service).
set -euo pipefail
BIN=${1:-${TIDEMQ_BIN_DIR:?usage: $0 BIN_DIR}}
source "$(dirname "$0")/../tools/broker_fixture.sh"
start_broker --flush sync --transaction-timeout-ms 1000 --check-interval-ms 1000 --check-scan-ms 100
A=("$BIN/mqadmin" -b "$BROKER")

source "$(dirname "$0")/service_fixture.sh"

half_state() {  # half_state TXN_HEX: the broker's state of a transaction (pending, committed...)
  "${A[@]}" --json queryHalfMsg -i "0x$1" >"$WORK/half.json" || fail "queryHalfMsg 0x$1"
  json_get "$WORK/half.json" 'd["state"]'
}


# check_points FILE CREDITED MIN_DUPLICATES ORDERS...: the points service's summary against what
# order_points/order.h defines (order n: user "u{n%5}", points (100 + n*37 % 900) // 10).
check_points() {
  python3 - "$@" <<'PY' || fail "points summary: $(cat "$1")"
import json, sys
text = open(sys.argv[1]).read()
assert text.count("\n") == 1, "not one line: %r" % text
d = json.loads(text)
credited, min_duplicates, orders = int(sys.argv[2]), int(sys.argv[3]), [int(n) for n in sys.argv[4:]]
by_user = {}
for n in orders:
    by_user["u%d" % (n % 5)] = by_user.get("u%d" % (n % 5), 0) + (100 + n * 37 % 900) // 10
assert d["credited"] == credited, ("credited", d)
# Redeliveries are allowed (at-least-once); crediting one twice is not.
assert d["duplicates_skipped"] >= min_duplicates, ("duplicates_skipped", d)
assert d["orders_seen"] == len(orders), ("orders_seen", d)
# One processed message id per order: no order was credited under two message ids.
assert d["store_messages"] == d["store_orders"] == len(orders), ("store", d)
assert d["store_points"] == sum(by_user.values()), ("store_points", sum(by_user.values()), d)
assert d["points_by_user"] == by_user, ("points_by_user", by_user, d)
PY
}

step "scenario 1: 50 orders, order 7's local transaction fails"
"${A[@]}" updateTopic -t orders -p 4 >/dev/null || fail "updateTopic orders"
"${A[@]}" updateSubGroup -g points --reset-policy earliest >/dev/null || fail "updateSubGroup points"
start points1 "$BIN/points_service" -b "$BROKER" --db "$WORK/points-db" --until-orders 49 --timeout-ms 30000
POINTS=$LAST_PID
start orders1 "$BIN/order_service" -b "$BROKER" --db "$WORK/orders-db" --orders 50 --fail-local 7
wait_exit "$LAST_PID" 30 orders1
[[ $RC -eq 0 ]] || fail "order_service exit $RC: $(cat "$WORK/orders1.err")"
[[ $(json_get "$WORK/orders1.out" '(d["created"], d["rolled_back"], d["store_orders"])') == "(49, 1, 49)" ]] ||
  fail "order_service summary: $(cat "$WORK/orders1.out")"
wait_exit "$POINTS" 35 points1
[[ $RC -eq 0 ]] || fail "points_service exit $RC: $(cat "$WORK/points1.err")"
mapfile -t ORDERS_BUT_7 < <(seq 1 50 | grep -vx 7)
check_points "$WORK/points1.out" 49 0 "${ORDERS_BUT_7[@]}"
[[ $(json_get "$WORK/points1.out" 'd["store_points"]') == $(json_get "$WORK/orders1.out" 'd["store_points"]') ]] ||
  fail "points credited differ from the orders' points"
[[ $(topic_messages orders) == 49 ]] || fail "topic orders holds $(topic_messages orders) messages, not 49"

step "scenario 1: every order delivered again (offsets reset to earliest): nothing credited twice"
"${A[@]}" resetOffsetByTime -g points -t orders -s earliest >/dev/null || fail "resetOffsetByTime"
start points1b "$BIN/points_service" -b "$BROKER" --db "$WORK/points-db" --until-orders 49 --timeout-ms 20000
wait_exit "$LAST_PID" 25 points1b
[[ $RC -eq 0 ]] || fail "points_service (again) exit $RC: $(cat "$WORK/points1b.err")"
check_points "$WORK/points1b.out" 0 49 "${ORDERS_BUT_7[@]}"

step "scenario 2: the order service dies after the local commit of order 20"
"${A[@]}" updateTopic -t orders2 -p 4 >/dev/null || fail "updateTopic orders2"
"${A[@]}" updateSubGroup -g points2 --reset-policy earliest >/dev/null || fail "updateSubGroup points2"
start points2 "$BIN/points_service" -b "$BROKER" --topic orders2 --group points2 --db "$WORK/points2-db" \
  --until-orders 30 --timeout-ms 40000
POINTS=$LAST_PID
ORDER_FLAGS=(-b "$BROKER" --topic orders2 --producer-group order-pg2 --db "$WORK/orders2-db" --orders 30)
start orders2 "$BIN/order_service" "${ORDER_FLAGS[@]}" --crash-after-local-commit 20
wait_exit "$LAST_PID" 30 orders2
[[ $RC -eq 137 ]] || fail "order_service was to die by SIGKILL, exit $RC: $(cat "$WORK/orders2.err")"
TXN=$(sed -nE 's/.*crashing after the local commit of o-000020 \(txn ([0-9a-f]{16})\)$/\1/p' "$WORK/orders2.err")
[[ -n $TXN ]] || fail "no crash line: $(cat "$WORK/orders2.err")"
# Orders 1..19 are committed; 20 is a half-message no live producer can be asked about.
[[ $(topic_messages orders2) == 19 ]] || fail "orders2 holds $(topic_messages orders2) messages, not 19"
[[ $(half_state "$TXN") == pending ]] || fail "order 20's transaction: $(cat "$WORK/half.json")"

step "scenario 2: restarted, it answers the check-back for order 20 from its store"
start orders2b "$BIN/order_service" "${ORDER_FLAGS[@]}" --serve-checks-ms 40000
ORDERS=$LAST_PID
wait_line "$WORK/orders2b.err" "^check txn=$TXN order=o-000020 -> " 20
grep -Eiq "^check txn=$TXN order=o-000020 -> commit$" "$WORK/orders2b.err" ||
  fail "the check-back for order 20 was not answered COMMIT: $(cat "$WORK/orders2b.err")"
wait_exit "$POINTS" 45 points2
[[ $RC -eq 0 ]] || fail "points_service exit $RC: $(cat "$WORK/points2.err")"
mapfile -t ORDERS_1_TO_30 < <(seq 1 30)
check_points "$WORK/points2.out" 30 0 "${ORDERS_1_TO_30[@]}"
kill -TERM "$ORDERS"
wait_exit "$ORDERS" 15 orders2b
[[ $RC -eq 0 ]] || fail "restarted order_service exit $RC: $(cat "$WORK/orders2b.err")"
[[ $(json_get "$WORK/orders2b.out" '(d["skipped"], d["created"], d["store_orders"])') == "(20, 10, 30)" ]] ||
  fail "restarted order_service summary: $(cat "$WORK/orders2b.out")"
[[ $(topic_messages orders2) == 30 ]] || fail "orders2 holds $(topic_messages orders2) messages, not 30"
[[ $(half_state "$TXN") == committed ]] || fail "order 20's transaction: $(cat "$WORK/half.json")"
"${A[@]}" --json halfStatus >"$WORK/half.json" || fail "halfStatus"
[[ $(json_get "$WORK/half.json" '(d["pending"], d["parked"])') == "(0, 0)" ]] ||
  fail "half-messages left: $(cat "$WORK/half.json")"

echo "PASS"
