#!/usr/bin/env bash
# tests/reliability/run.sh — the reliability suite (tests/reliability/README.md): scenarios against
# real mqbroker processes on 127.0.0.1, one result line per scenario, exit 1 if any safety counter
# is not 0 or a canary does not see its fault.
#
#   tests/reliability/run.sh [--short | --long] [BIN_DIR]
#
# --short (default; part of `tools/dev.sh test`): 4 producers × 4,000 messages at 500/s each (~8 s,
# ~4 kills per scenario); --long: × 60,000 at 1,000/s (~60 s, ~30 kills).
# Scenarios so far:
#   T1  kill -9 every 1–3 s during acknowledged produces, --flush sync: acked-lost 0, unexpected 0.
#   T1c the same against `mqbroker --unsafe-ack-before-sync` (acks at once, writes 200 ms later): the checker
#       must report acked-lost > 0 — proof that T1 can see a loss.
set -euo pipefail
MODE=short
while (($#)); do
  case "$1" in
    --short) MODE=short; shift ;;
    --long) MODE=long; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) break ;;
  esac
done
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${1:-$HERE/../../build/bin}
PER_PRODUCER=$([[ $MODE == long ]] && echo 60000 || echo 4000)
RATE=$([[ $MODE == long ]] && echo 1000 || echo 500)
PRODUCERS=4
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tidemq-rel.XXXXXX")
BROKER_PID=""
cleanup() {
  [[ -n $BROKER_PID ]] && kill -KILL "$BROKER_PID" 2>/dev/null || true
  jobs -p | xargs -r kill -KILL 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }

# start_broker DATA PORT FLAGS...: starts mqbroker, waits for its ready line, sets BROKER_PID.
start_broker() {
  local data=$1 port=$2
  shift 2
  "$BIN/mqbroker" --data "$data" --listen "127.0.0.1:$port" "$@" >"$WORK/broker.out" 2>>"$WORK/broker.log" &
  BROKER_PID=$!
  for _ in $(seq 400); do
    grep -q "^mqbroker ready" "$WORK/broker.out" 2>/dev/null && return 0
    kill -0 "$BROKER_PID" 2>/dev/null || { echo "mqbroker exited: $(tail -3 "$WORK/broker.log")" >&2; return 1; }
    sleep 0.025
  done
  echo "mqbroker not ready after 10 s" >&2
  return 1
}

# scenario_kill NAME CHECK_FLAGS BROKER_FLAGS...: T1's shape. Producers send while the nemesis
# kills the broker with SIGKILL every 1–3 s and starts it again on the same port and data; then
# the topic is drained and checked.
scenario_kill() {
  local name=$1 check_flags=$2
  shift 2
  local dir="$WORK/$name" port
  mkdir -p "$dir"
  port=$(free_port)
  : >"$dir/restarts"
  start_broker "$dir/data" "$port" --flush sync "$@"
  "$BIN/mqadmin" -b "127.0.0.1:$port" updateTopic -t rel -p 4 >/dev/null
  local pids=()
  for p in $(seq 1 $PRODUCERS); do
    "$BIN/rel_client" produce -b "127.0.0.1:$port" --topic rel --id "p$p" --count "$PER_PRODUCER" --rate "$RATE" \
      --history "$dir/p$p.history" 2>>"$dir/clients.log" &
    pids+=($!)
  done
  running() { local p; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
  while running; do
    sleep "$(python3 -c 'import random; print(round(random.uniform(1, 3), 2))')"  # the nemesis' schedule
    running || break
    kill -KILL "$BROKER_PID"
    wait "$BROKER_PID" 2>/dev/null || true
    start_broker "$dir/data" "$port" --flush sync "$@"
    now_ms >>"$dir/restarts"
  done
  for p in "${pids[@]}"; do wait "$p"; done
  "$BIN/rel_client" drain -b "127.0.0.1:$port" --topic rel --out "$dir/drain"
  kill -TERM "$BROKER_PID"
  wait "$BROKER_PID" 2>/dev/null || true
  BROKER_PID=""
  # shellcheck disable=SC2086
  python3 "$HERE/check.py" --name "$name" --drain "$dir/drain" --restarts "$dir/restarts" $check_flags \
    "$dir"/p*.history
}

rc=0
scenario_kill "T1 kill -9 every 1–3 s, $PRODUCERS producers, flush sync" "" || rc=1
scenario_kill "T1c canary (--unsafe-ack-before-sync must lose acked messages)" "--expect-loss" \
  --unsafe-ack-before-sync || { echo "T1c: the checker saw no loss in the unsafe mode" >&2; rc=1; }
exit $rc
