# Shared by the perf scripts (source it): a free loopback port, and a broker started in the
# background and waited for.

# Prints a TCP port on 127.0.0.1 that is free now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_broker BIN_DIR DATA_DIR HOST:PORT LOG [mqbroker flags...]
# Starts mqbroker with its output in LOG, sets BROKER_PID and waits up to 10 s until it accepts
# connections. Returns 1 (with the log on stderr) if it exited or did not listen in time.
start_broker() {
  local bin=$1 data=$2 addr=$3 log=$4 port=${3##*:}
  shift 4
  "$bin/mqbroker" --data "$data" --listen "$addr" "$@" >"$log" 2>&1 &
  BROKER_PID=$!
  for _ in $(seq 100); do
    if ! kill -0 "$BROKER_PID" 2>/dev/null; then
      cat "$log" >&2
      return 1
    fi
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2).close()" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# stop_broker: SIGTERM the broker started by start_broker, wait up to 10 s, then SIGKILL.
# A no-op when it is not running.
stop_broker() {
  [[ -n ${BROKER_PID:-} ]] && kill -0 "$BROKER_PID" 2>/dev/null || return 0
  kill -TERM "$BROKER_PID" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$BROKER_PID" 2>/dev/null || true
  wait "$BROKER_PID" 2>/dev/null || true
}
