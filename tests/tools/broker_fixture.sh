# Sourced by the tools/perf script tests: start a fresh mqbroker on a free port with a temp data
# dir, and stop it on exit. Needs BIN (the directory holding mqbroker) set by the caller.
#   start_broker [extra broker flags]   sets BROKER (host:port), BROKER_PID, WORK
#   stop_broker                          SIGTERM, then SIGKILL after 10 s
#   fail MESSAGE                         prints FAIL and exits 1
fail() {
  echo "FAIL: $*" >&2
  if [[ -n ${WORK:-} && -f $WORK/broker.log ]]; then
    echo "---- broker log (tail) ----" >&2
    tail -n 30 "$WORK/broker.log" >&2
  fi
  exit 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

stop_broker() {
  if [[ -n ${BROKER_PID:-} ]] && kill -0 "$BROKER_PID" 2>/dev/null; then
    kill -TERM "$BROKER_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
  fi
  BROKER_PID=
}

cleanup_broker() {
  stop_broker
  [[ -n ${WORK:-} ]] && rm -rf "$WORK"
}

start_broker() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/tidemq-clitest.XXXXXX")
  trap cleanup_broker EXIT
  local port
  port=$(free_port)
  BROKER=127.0.0.1:$port
  "$BIN/mqbroker" --data "$WORK/data" --listen "$BROKER" "$@" >"$WORK/broker.log" 2>&1 &
  BROKER_PID=$!
  for _ in $(seq 100); do
    kill -0 "$BROKER_PID" 2>/dev/null || fail "mqbroker exited at start-up"
    if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2).close()" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  fail "mqbroker did not listen on $BROKER within 10 s"
}

# json_get FILE EXPR: evaluates a Python expression over the parsed JSON `d` and prints it.
json_get() {
  python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).read()); print(eval(sys.argv[2]))' "$1" "$2"
}

# expect_one_line_error FILE TOOL: stderr must hold exactly one line of the tool's own, starting
# "<tool>: ". mqadmin silences the client library (set_client_log_level("off")), so its stderr must
# be that one line; mqperf keeps the library's warnings (reconnects, retries), which are skipped.
expect_one_line_error() {
  local file=$1 tool=$2
  local own n
  if [[ $tool == mqadmin ]]; then
    own=$(cat "$file")
  else
    own=$(grep -Ev '^\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+\] \[[a-z_]+\] ' "$file" || true)
  fi
  n=$(printf '%s' "$own" | grep -c '' || true)
  [[ $n -eq 1 ]] || fail "expected one stderr line, got $n: $(cat "$file")"
  [[ $own == "$tool: "* ]] || fail "stderr does not start with '$tool: ': $(cat "$file")"
}
