# Sourced by the example tests after tools/broker_fixture.sh: background services whose output
# goes to $WORK, killed on exit (then the broker is stopped).
#   start NAME CMD...          runs CMD in the background; sets LAST_PID
#   wait_exit PID SECONDS NAME waits for PID to exit; sets RC
#   wait_line FILE REGEX SECONDS
#   step TEXT
#   topic_messages TOPIC       messages stored in a topic (needs A=(mqadmin -b BROKER))
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
    { wait "$pid"; } 2>/dev/null || true
  done
  cleanup_broker
}
trap cleanup EXIT

step() { echo "-- $*"; }

# start NAME CMD...: runs CMD in the background, stdout in $WORK/NAME.out, stderr in NAME.err.
start() {
  local name=$1
  shift
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=($!)
  LAST_PID=$!
}

# wait_exit PID SECONDS NAME: waits until PID has exited (an exited child stays a zombie until
# `wait`, so kill -0 cannot tell) and sets RC to its exit status; fails after SECONDS. Bash's
# "Killed" notice for the SIGKILL scenario is printed while polling: stderr is muted meanwhile.
wait_exit() {
  local pid=$1 deadline=$((SECONDS + $2)) state='' timed_out=0
  {
    while read -r _ _ state _ </proc/"$pid"/stat && [[ $state != Z ]]; do
      ((SECONDS < deadline)) || { timed_out=1; break; }
      sleep 0.05
    done
    RC=0
    ((timed_out)) || wait "$pid" || RC=$?
  } 2>/dev/null
  ((timed_out == 0)) || fail "$3 still running after $2 s: $(cat "$WORK/$3.err")"
  local p keep=()  # reaped: its pid may be reused, so cleanup must not kill it
  for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# wait_line FILE REGEX SECONDS: waits until FILE has a line matching REGEX (extended, any case).
wait_line() {
  local deadline=$((SECONDS + $3))
  until grep -Eiq "$2" "$1"; do
    ((SECONDS < deadline)) || fail "no line /$2/ in $1 after $3 s: $(cat "$1")"
    sleep 0.05
  done
}


topic_messages() {  # messages stored in a topic
  "${A[@]}" --json topicStatus -t "$1" >"$WORK/status.json"
  json_get "$WORK/status.json" 'sum(p["end_offset"] - p["start_offset"] for p in d["partitions"])'
}
