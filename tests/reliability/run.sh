#!/usr/bin/env bash
# tests/reliability/run.sh — the reliability suite (tests/reliability/README.md): scenarios against
# real mqbroker processes on 127.0.0.1, one result line per scenario, exit 1 if any safety counter
# is not 0 or a canary does not see its fault.
#
#   tests/reliability/run.sh [--short | --long] [--only T6] [--keep] [BIN_DIR]
#     --only: the scenarios whose name starts so; --keep: leave the work dir (histories, drains, logs)
#
# --short (default; part of `tools/dev.sh test`): 4 producers × 4,000 messages at 500/s each (~8 s,
# ~4 kills per scenario); --long: × 60,000 at 1,000/s (~60 s, ~30 kills).
# Scenarios so far:
#   T1  kill -9 every 1–3 s during acknowledged produces, --flush sync: acked-lost 0, unexpected 0.
#   T1c the same against `mqbroker --unsafe-ack-before-sync` (acks at once, writes 200 ms later): the checker
#       must report acked-lost > 0 — proof that T1 can see a loss.
#   T2  power loss every 1–3 s (rel_power_broker: a LevelDB Env that drops unsynced data), --flush
#       sync: acked-lost 0, no holes in any partition (offset-gaps 0: the log is a prefix).
#   T2c the same with --flush async must report acked-lost > 0.
#   T3  SIGSTOP for 0.5–5 s every 1–3 s, --flush sync: acked-lost 0, unexpected 0.
#   T4  T1's producers and a group of 2 consumers committing after each poll; each round also kills
#       a member (-9) and starts a new one: acked-unconsumed 0, commit-regressions 0,
#       redelivered-after-commit 0.
#   T4c the same against `mqbroker --unsafe-ack-before-sync` (commits too are acknowledged at once,
#       stored 200 ms later): commit-regressions or redelivered-after-commit must be > 0.
#   T5  T1 with one request in flight per producer: also reordered 0 (every scenario counts it).
#   T6  4 transactional producers of one group (short: 500 each, long: 5,000, 100/s), outcome from
#       the sequence number, kill -9 every 1–3 s, one producer SIGKILLed: lost-commit 0, ghost 0,
#       duplicates 0, misapplied 0, checks per txn <= 15, no transaction left open; a live group
#       consumer reads along: precommitted 0 (nothing polled before its commit was decided). Then,
#       the broker stopped, rel_txn_audit on its data dir: no transaction open, one expiry key per
#       outcome, as many committed / rolled-back outcomes as the histories saw decided; with its
#       clock past the 24 h retention, the broker's own expiry rounds must leave no half record,
#       outcome or expiry key (its canary, the clock not moved, must fail).
#   T6c T6 against `mqbroker --unsafe-ack-before-sync` (half-messages acknowledged at once, stored
#       200 ms later): lost-commit or ghost must be > 0.
#   T2t T6's transactions (no producer killed) on rel_power_broker: power cut every 1–3 s, --flush
#       sync; the half log writes through the same Env, so its unsynced records go too. T6's
#       counters and audit. T2tc: the same with --flush async must report lost-commit or ghost > 0.
#   T6p T6's transactions through nemesis_proxy.py (no broker kills): client->broker bytes stalled
#       0–10 s without FIN (1 chunk in 100), every frame split into 1–7 byte pieces both ways, 1
#       chunk in 500 resets the connection — requests, EndTransactions and check answers arrive
#       late, after the client gave up on them and after a check resolved the transaction. T6's audit.
#   T1p T1's producers (short: 1,000 each at 200/s, long: 15,000 at 250/s) through the proxy with
#       T6p's faults (but 1 chunk in 200 reset) and 20 ms latency each way, no broker kills: T1's
#       counters (acked-lost 0, unexpected 0, non-monotonic 0, ...).
#   T4p T4's group workload (a member SIGKILLed and replaced each round) with the producers and the
#       members all talking through the proxy (T1p's faults), no broker kills: T4's counters.
#   T7  floods (t7_flood.py): a half-message flood refused at --max-half-messages, a produce flood
#       with no consumer within its memory bounds and without errors, a light victim producer's
#       p99 reported (--long: must stay under max(2 x alone, alone + 20 ms)).
#   T9  hostile network (t9_hostile.py): huge length prefixes, slow-loris, a consumer that never
#       reads, a connection storm — each bounded; T9c: each check fails with its guard loosened.
set -euo pipefail
MODE=short
ONLY=""
KEEP=""
while (($#)); do
  case "$1" in
    --keep) KEEP=1; shift ;;
    --only) ONLY=$2; shift 2 ;;
    --short) MODE=short; shift ;;
    --long) MODE=long; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) break ;;
  esac
done
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${1:-$HERE/../../build/bin}
PER_PRODUCER=$([[ $MODE == long ]] && echo 60000 || echo 4000)
RATE=$([[ $MODE == long ]] && echo 1000 || echo 500)
TXN_PER_PRODUCER=$([[ $MODE == long ]] && echo 5000 || echo 500)
TXN_RATE=$([[ $MODE == long ]] && echo 100 || echo 100)
PRODUCERS=4
CLIENT_FLAGS=()  # extra rel_client produce flags for the next scenario
PROXY_FLAGS=()   # nemesis_proxy.py flags for the proxy nemesis
TXN_COUNT=$TXN_PER_PRODUCER
WORKLOAD=produce # or group (T4), txn (T6)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tidemq-rel.XXXXXX")
BROKER_PID=""
cleanup() {
  [[ -n $BROKER_PID ]] && kill -KILL "$BROKER_PID" 2>/dev/null || true
  jobs -p | xargs -r kill -KILL 2>/dev/null || true
  [[ -n $KEEP ]] && echo "reliability: work dir kept: $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }

# start_broker DATA PORT FLAGS...: starts $BROKER (mqbroker, or T2's rel_power_broker), waits for
# its ready line, sets BROKER_PID.
start_broker() {
  local data=$1 port=$2
  shift 2
  : >"$WORK/broker.out"  # here, not only in the child: the loop below must not see the previous broker's line
  "$BIN/$BROKER" --data "$data" --listen "127.0.0.1:$port" "$@" >"$WORK/broker.out" 2>>"$WORK/broker.log" &
  BROKER_PID=$!
  for _ in $(seq 1200); do  # 30 s: recovery on a loaded machine
    grep -q "^mqbroker ready" "$WORK/broker.out" 2>/dev/null && return 0
    kill -0 "$BROKER_PID" 2>/dev/null || { echo "$BROKER exited: $(tail -3 "$WORK/broker.log")" >&2; return 1; }
    sleep 0.025
  done
  echo "$BROKER not ready after 30 s: $(tail -2 "$WORK/broker.log")" >&2
  return 1
}

# scenario NAME NEMESIS CHECK_FLAGS BROKER_FLAGS...: producers send while the nemesis works on the
# broker; then the topic is drained and checked. NEMESIS: kill (SIGKILL every 1–3 s, restart on
# the same port and data), stop (SIGSTOP for 0.5–5 s every ~1–3 s, then SIGCONT), power (the
# broker is rel_power_broker, which cuts its own power every 1–3 s; BROKER_FLAGS go to it) or
# proxy (the clients talk to the broker through nemesis_proxy.py with PROXY_FLAGS).
scenario() {
  local name=$1 nemesis=$2 check_flags=$3
  shift 3
  [[ -n $ONLY && $name != "$ONLY"* ]] && return 0
  local dir="$WORK/$name" port
  mkdir -p "$dir"
  port=$(free_port)
  : >"$dir/restarts"
  BROKER=mqbroker
  [[ $nemesis == power ]] && { BROKER=rel_power_broker; set -- "$@" --restarts "$dir/restarts"; }
  start_broker "$dir/data" "$port" "$@"
  "$BIN/mqadmin" -b "127.0.0.1:$port" updateTopic -t rel -p 4 >/dev/null
  local client_port=$port proxy_pid=""
  if [[ $nemesis == proxy ]]; then
    client_port=$(free_port)
    python3 "$HERE/nemesis_proxy.py" "$client_port" "$port" "${PROXY_FLAGS[@]}" --stats "$dir/proxy.stats" \
      2>>"$dir/proxy.log" &
    proxy_pid=$!
    for _ in $(seq 200); do  # listening
      python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
        "$client_port" 2>/dev/null && break
      sleep 0.05
    done
  fi
  local pids=()
  for p in $(seq 1 $PRODUCERS); do
    if [[ $WORKLOAD == txn ]]; then
      "$BIN/rel_client" txn -b "127.0.0.1:$client_port" --topic rel --id "p$p" --group rel-pg --count "$TXN_COUNT" \
        --rate "$TXN_RATE" --history "$dir/p$p.history" 2>>"$dir/clients.log" &
    else
      "$BIN/rel_client" produce -b "127.0.0.1:$client_port" --topic rel --id "p$p" --count "$PER_PRODUCER" --rate "$RATE" \
        --history "$dir/p$p.history" "${CLIENT_FLAGS[@]}" 2>>"$dir/clients.log" &
    fi
    pids+=($!)
  done
  local consumers=() runs=0 consumer_port=$port
  [[ $WORKLOAD == group ]] && consumer_port=$client_port  # T4p: the members too talk through the proxy
  start_consumer() {  # T4: a new group member with its own history
    runs=$((runs + 1))
    "$BIN/rel_client" consume -b "127.0.0.1:$consumer_port" --topic rel --group rel-cg --history "$dir/c$runs.history" \
      2>>"$dir/clients.log" &
    consumers+=($!)
  }
  replace_member() {  # T4's rounds: a member dies with uncommitted polls; a new one joins
    local victim=$((RANDOM % ${#consumers[@]}))
    kill -KILL "${consumers[$victim]}" 2>/dev/null || true
    wait "${consumers[$victim]}" 2>/dev/null || true
    consumers=("${consumers[@]:0:$victim}" "${consumers[@]:$((victim + 1))}")
    start_consumer
  }
  if [[ $WORKLOAD == group ]]; then  # from the first message: the default (latest) would skip what came before the join
    "$BIN/mqadmin" -b "127.0.0.1:$port" updateSubGroup -g rel-cg --reset-policy earliest >/dev/null
    start_consumer
    start_consumer
  elif [[ $WORKLOAD == txn ]]; then  # a live reader: nothing may be read before its commit was decided
    "$BIN/mqadmin" -b "127.0.0.1:$port" updateSubGroup -g rel-cg --reset-policy earliest >/dev/null
    start_consumer
  fi
  running() { local p; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
  local pauses=0 producer_killed=0
  while [[ $nemesis != power ]] && running; do  # rel_power_broker is its own nemesis
    sleep "$(python3 -c 'import random; print(round(random.uniform(1, 3), 2))')"  # the nemesis' schedule
    running || break
    case $nemesis in
      kill)
        if [[ $WORKLOAD == txn && $producer_killed == 0 ]]; then  # once: a producer dies between half and end
          kill -KILL "${pids[0]}" 2>/dev/null || true
          wait "${pids[0]}" 2>/dev/null || true
          producer_killed=1
        fi
        if [[ $WORKLOAD == group ]]; then replace_member; fi
        kill -KILL "$BROKER_PID"
        wait "$BROKER_PID" 2>/dev/null || true
        start_broker "$dir/data" "$port" "$@"
        now_ms >>"$dir/restarts" ;;
      stop)
        kill -STOP "$BROKER_PID"
        sleep "$(python3 -c 'import random; print(round(random.uniform(0.5, 5), 2))')"
        kill -CONT "$BROKER_PID"
        pauses=$((pauses + 1)) ;;
      proxy)  # the proxy is the nemesis; T4's member rounds go on
        if [[ $WORKLOAD == group ]]; then replace_member; fi ;;
    esac
  done
  local client_failed=0 st
  for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null && continue
    st=$?
    [[ $WORKLOAD == txn && $nemesis == kill && $p == "${pids[0]}" ]] && continue  # the producer the nemesis killed
    echo "$name: a client exited with $st (see $dir/clients.log)" >&2
    client_failed=1
  done
  if [[ $WORKLOAD == group ]]; then  # the members consume the rest, then leave
    for _ in $(seq 300); do
      "$BIN/mqadmin" -b "127.0.0.1:$port" --json consumerProgress -g rel-cg 2>/dev/null |
        python3 -c 'import json, sys; sys.exit(json.load(sys.stdin)["total_lag"] != 0)' && break
      sleep 0.2
    done
  fi
  if ((${#consumers[@]})); then
    kill -TERM "${consumers[@]}" 2>/dev/null || true
    wait "${consumers[@]}" 2>/dev/null || true
  fi
  [[ $nemesis == power ]] && kill -USR1 "$BROKER_PID"  # no cuts during the drain
  if ! "$BIN/rel_client" drain -b "127.0.0.1:$port" --topic rel --out "$dir/drain" 2>>"$dir/clients.log"; then
    echo "$name: the drain failed: $(tail -1 "$dir/clients.log"); broker log: $(tail -2 "$WORK/broker.log")" >&2
    kill -KILL "$BROKER_PID" 2>/dev/null || true
    BROKER_PID=""
    return 1
  fi
  kill -TERM "$BROKER_PID"
  wait "$BROKER_PID" 2>/dev/null || true
  BROKER_PID=""
  [[ $nemesis == stop ]] && name="$name ($pauses pauses)"
  if [[ -n $proxy_pid ]]; then
    kill -TERM "$proxy_pid"
    wait "$proxy_pid" 2>/dev/null || true
    name="$name ($(cat "$dir/proxy.stats" 2>/dev/null || echo 'no proxy stats'))"
  fi
  local ok=1 line audit_flags=() st=0
  if [[ $WORKLOAD == txn && $check_flags != *--expect-loss* ]]; then  # T6, T6p: the audit below needs the count
    audit_flags=(--decided-out "$dir/decided")
  fi
  # shellcheck disable=SC2086
  line=$(python3 "$HERE/check.py" --name "$name" --drain "$dir/drain" --restarts "$dir/restarts" $check_flags \
    "${audit_flags[@]}" "$dir"/[pc]*.history) || ok=0
  if ((${#audit_flags[@]})); then
    # The stopped broker's transaction state (rel_txn_audit, txn_audit.h): nothing open, one expiry
    # key per outcome, the outcomes the histories saw decided; then, its clock past the outcome
    # retention, the broker's own expiry must leave no half record, outcome or expiry key. Its
    # canary leaves the clock: it must fail.
    [[ -n $KEEP ]] && cp -a "$dir/data" "$dir/data.before-audit"
    "$BIN/rel_txn_audit" --data "$dir/data" --canary-no-expiry >"$dir/audit-canary" || st=$?
    if ((st != 1)); then
      line="$line; the audit's canary (no expiry) exited $st, not 1: $(cat "$dir/audit-canary")"
      ok=0
    fi
    local audit
    # shellcheck disable=SC2046
    audit=$("$BIN/rel_txn_audit" --data "$dir/data" --expect $(cat "$dir/decided")) || ok=0
    line="$line; $audit"
    ((st == 1)) && line="$line (no-expiry canary: failed, as it must)"
  fi
  echo "$line"
  ((ok == 1 && client_failed == 0))
}

rc=0
scenario "T1 kill -9 every 1–3 s, $PRODUCERS producers, flush sync" kill "" --flush sync || rc=1
scenario "T1c canary (--unsafe-ack-before-sync must lose acked messages)" kill --expect-loss \
  --flush sync --unsafe-ack-before-sync || { echo "T1c: the checker saw no loss in the unsafe mode" >&2; rc=1; }
scenario "T2 power loss every 1–3 s (unsynced data dropped), flush sync" power "" --flush sync || rc=1
scenario "T2c canary (flush async under power loss must lose acked messages)" power --expect-loss \
  --flush async || { echo "T2c: the checker saw no loss under power loss with flush async" >&2; rc=1; }
scenario "T3 SIGSTOP 0.5–5 s every 1–3 s, flush sync" stop "" --flush sync || rc=1
CLIENT_FLAGS=(--inflight 1)
scenario "T5 per-partition order, one request in flight per producer, kill -9 every 1–3 s, flush sync" kill "" \
  --flush sync || rc=1
CLIENT_FLAGS=()
WORKLOAD=group
scenario "T4 consumer group (2 members, one SIGKILLed and replaced each round), kill -9 every 1–3 s, flush sync" \
  kill "--group" --flush sync || rc=1
scenario "T4c canary (--unsafe-ack-before-sync must lose acknowledged commits)" kill "--group --expect-loss" \
  --flush sync --unsafe-ack-before-sync || { echo "T4c: the checker saw no lost commit in the unsafe mode" >&2; rc=1; }
WORKLOAD=txn
scenario "T6 transactions (60 % commit, 30 % rollback, 10 % unknown then committed by a check), kill -9 every 1–3 s, one producer killed" \
  kill "--txn" --flush sync --transaction-timeout-ms 1000 --check-interval-ms 1000 || rc=1
scenario "T6c canary (--unsafe-ack-before-sync must lose acknowledged half-messages)" kill "--txn --expect-loss" \
  --flush sync --transaction-timeout-ms 1000 --check-interval-ms 1000 --unsafe-ack-before-sync \
  || { echo "T6c: the checker saw no lost commit in the unsafe mode" >&2; rc=1; }
scenario "T2t transactions under power loss every 1–3 s (unsynced data dropped, half log included), flush sync" \
  power "--txn" --flush sync --transaction-timeout-ms 1000 --check-interval-ms 1000 || rc=1
scenario "T2tc canary (flush async under power loss must lose acknowledged transactions)" power "--txn --expect-loss" \
  --flush async --transaction-timeout-ms 1000 --check-interval-ms 1000 \
  || { echo "T2tc: the checker saw no lost commit under power loss with flush async" >&2; rc=1; }
PROXY_FLAGS=(--stall-prob 0.01 --stall-max-ms 10000 --split --reset-prob 0.002)
TXN_COUNT=$([[ $MODE == long ]] && echo 1500 || echo 150)
scenario "T6p transactions through a proxy (stalls 0–10 s without FIN, frames split into 1–7 bytes, resets mid-frame)" \
  proxy "--txn" --flush sync --transaction-timeout-ms 1000 --check-interval-ms 1000 || rc=1
WORKLOAD=produce
# T6p's faults with resets more often (fewer chunks than T6p: 1,200–2,300 in short runs) and a link's latency.
PROXY_FLAGS=(--stall-prob 0.01 --stall-max-ms 10000 --split --reset-prob 0.005 --delay-ms 20)
# Every byte through the proxy costs a Python write when split: fewer messages than T1 (short ~15 s).
PER_PRODUCER=$([[ $MODE == long ]] && echo 15000 || echo 1000)
RATE=$([[ $MODE == long ]] && echo 250 || echo 200)
scenario "T1p $PRODUCERS producers through a proxy (20 ms each way, stalls 0–10 s without FIN, frames split into 1–7 bytes, resets mid-frame), flush sync" \
  proxy "" --flush sync || rc=1
WORKLOAD=group
scenario "T4p consumer group through a proxy (producers and members; 20 ms each way, stalls, split frames, resets; one member SIGKILLed and replaced each round), flush sync" \
  proxy "--group" --flush sync || rc=1
WORKLOAD=produce
if [[ -z $ONLY || T7 == "$ONLY"* ]]; then  # its own broker and checks (t7_flood.py)
  python3 "$HERE/t7_flood.py" "$BIN" "--$MODE" ${KEEP:+--keep} || rc=1
fi
if [[ -z $ONLY || T9 == "$ONLY"* ]]; then  # its own broker and checks (t9_hostile.py)
  python3 "$HERE/t9_hostile.py" "$BIN" "--$MODE" || rc=1
  python3 "$HERE/t9_hostile.py" "$BIN" --canary || { echo "T9c: a hostile-network checker missed its fault" >&2; rc=1; }
fi
exit $rc
