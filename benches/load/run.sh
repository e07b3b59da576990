#!/usr/bin/env bash
# ChatSpace against the reference Node y-websocket servers, under the same load, in one run:
#   y-websocket 2.1 `bin/server.cjs` (yjs 13) and Hocuspocus 4.7 (`@hocuspocus/server`, no
#   extensions), both installed from benches/load/package-lock.json.
# For each server: idle connections (memory per connection), the offered load, a step-up of the
# typing rate to find the saturation throughput (p99 <= P99_BOUND_MS, every edit delivered), and
# a replay of a concurrent trace. Every measurement gets a freshly started server. Results (JSON)
# go to $OUT; the tables of docs/benchmarks.md are printed at the end. With `perf` installed, one
# more offered-load measurement per server samples the server with `perf record` and reports how
# much of its CPU goes to the kernel's TCP send path (PROFILE=0 skips it).
# ChatSpace's typing runs carry the room page's chat traffic too (the generator's --mix: typing in
# bursts, a chat `since` after each pause, a chat message now and then; MIX=0 leaves it out), and
# its offered load is measured once more without it. The Node servers do not speak the chat
# frames and get the typing alone.
#
# MIX_COMPARE=1 runs only the offered load on ChatSpace, with and without the mix, ROUNDS times
# interleaved: on this server and, when BEFORE_BIN names another chatspace binary, on that one.
#
# MULTINODE=1 runs only the offered load on ChatSpace (with the mix unless MIX=0), ROUNDS times,
# three ways per round (the order rotating from round to round), each on fresh servers:
#   sqlite  one node on a fresh SQLite file (the baseline: what every other measurement uses);
#   pg      one node on a fresh PostgreSQL database;
#   two     two nodes on a fresh PostgreSQL database and Redis key prefix: each room's writers
#           (and the sign-up) on node 1, its readers on node 2 (the generator's --reader-url), so
#           every edit a reader gets crossed Redis;
#   same    (only when WAYS names it) the same two nodes with every client on node 1: node 1
#           publishes every edit to Redis as in `two`, but no edit crosses (the bus's cost to the
#           publishing node alone).
# The databases are made with psql on PG_SERVER and dropped after each measurement, the prefix's
# keys deleted from REDIS_URL (also when the script is interrupted). Besides the generator's
# figures it records the CPU of the local PostgreSQL and Redis processes over each run (shared
# services: the sqlite rows show what the machine's other users cost them), how long the nodes'
# threads waited for a CPU each time they became runnable, and the nodes' bus metrics. With PIN=1 both nodes run on CPU 0 with the generator on CPU 1: the servers of every
# way get the same one core, so the two-node row shows what the second node and the bus cost, not
# a core more (NODE2_CPU=1 gives node 2 the generator's core instead). PostgreSQL and Redis are
# not pinned: they are the machine's own services and float over both cores for every way alike.
#
# FANOUT=1 runs only a fan-out step-up on every server of SERVERS, one after the other: each step
# of FANOUT_STEPS ("WxR": W writers typing at FANOUT_RATE edits/s each and R readers, spread over
# FANOUT_ROOMS rooms) on a fresh server, until a step does not keep up (FANOUT_ALL=1: every step).
# Readers count delivered edits by the markers in the frames (no Yjs decoding; a few readers
# decode everything for the convergence check), and each step reports frames, bytes and server
# CPU per delivered edit and the generator's own CPU: a step where the generator was above 80% of
# its cores is marked generator-bound and says nothing about the server. With perf installed,
# the step SYSCALL_STEP is run once more to count the server's system calls over its measurement
# window (`perf stat` on the syscall tracepoints, switched on and off by the generator's
# --window-file; SYSCALLS=0 skips it).
#
# Usage: benches/load/run.sh            (from anywhere; about 8 minutes)
#        MIX_COMPARE=1 BEFORE_BIN=/path/to/old/chatspace benches/load/run.sh   (about 6 minutes)
#        MULTINODE=1 benches/load/run.sh                                     (about 4 minutes)
#        FANOUT=1 benches/load/run.sh                                        (about 6-10 minutes)
# Knobs (environment): ROOMS CLIENTS WRITERS RATE DURATION RUN_LENGTH STEP_RATES STEP_SECS
#   P99_BOUND_MS IDLE_CONNECTIONS TRACE PIN PROFILE OUT SERVERS PORT MIX MIX_COMPARE BEFORE_BIN
#   ROUNDS MULTINODE WAYS PG_SERVER REDIS_URL NODE2_CPU CHATSPACE_FLAGS (more flags for every ChatSpace
#   server started, e.g. "--flush-interval-ms 1000") FANOUT FANOUT_STEPS FANOUT_ROOMS FANOUT_RATE
#   FANOUT_ALL FANOUT_MIX SYSCALLS SYSCALL_STEP
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

ROOMS=${ROOMS:-20}
CLIENTS=${CLIENTS:-25}
WRITERS=${WRITERS:-2}
RATE=${RATE:-10}
DURATION=${DURATION:-20}
RUN_LENGTH=${RUN_LENGTH:-1}
STEP_RATES=${STEP_RATES:-"10 14 20 28 40 56 80 113 160 226"}
STEP_SECS=${STEP_SECS:-8}
P99_BOUND_MS=${P99_BOUND_MS:-250}
IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-5000}
TRACE=${TRACE:-friendsforever}
SERVERS=${SERVERS:-"chatspace y-websocket hocuspocus"}
# PIN=1: the server runs on CPU 0 and the load generator on CPU 1 (one core each), so that they
# do not take CPU from each other in ways that differ between runs. PIN=0: both float.
PIN=${PIN:-1}
OUT=${OUT:-$(mktemp -d /tmp/chatspace-load.XXXXXX)}
PORT=${PORT:-18431}
PROFILE=${PROFILE:-1}
MIX=${MIX:-1}
MIX_COMPARE=${MIX_COMPARE:-0}
BEFORE_BIN=${BEFORE_BIN:-}
ROUNDS=${ROUNDS:-3}
MULTINODE=${MULTINODE:-0}
PG_SERVER=${PG_SERVER:-postgres://postgres@127.0.0.1:5432}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
NODE2_CPU=${NODE2_CPU:-0}
WAYS=${WAYS:-"sqlite pg two"}
FANOUT=${FANOUT:-0}
FANOUT_STEPS=${FANOUT_STEPS:-"8x200 16x300 16x500 24x600"}
FANOUT_ROOMS=${FANOUT_ROOMS:-1}
FANOUT_RATE=${FANOUT_RATE:-20}
FANOUT_ALL=${FANOUT_ALL:-0}
# The chat mix types in bursts and pauses: over an 8 s step the edits sent stray from the mean rate
# by more than the step-up's 5%, so the fan-out steps leave it out unless FANOUT_MIX=1.
FANOUT_MIX=${FANOUT_MIX:-0}
SYSCALLS=${SYSCALLS:-1}
SYSCALL_STEP=${SYSCALL_STEP:-16x300}
read -r -a CHATSPACE_FLAGS <<<"${CHATSPACE_FLAGS:-}"
if [[ $PROFILE == 1 ]] && ! command -v perf >/dev/null; then
  echo "NOTICE: perf not found (Debian package linux-perf); the TCP send profile is skipped"
  PROFILE=0 SYSCALLS=0
fi
mkdir -p "$OUT"

# Thousands of sockets: the generator raises its own soft limit too, but only up to the hard one.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

SERVER_CPU=() GEN_CPU=() NODE2_PIN=()
if [[ $PIN == 1 ]]; then SERVER_CPU=(taskset -c 0) GEN_CPU=(taskset -c 1) NODE2_PIN=(taskset -c "$NODE2_CPU"); fi

echo "== building (release) and installing the Node servers (when they are measured)"
nice -n 5 cargo build --release -p chatspace -p chatspace-load --bins
# Only the Node servers need the packages; the ChatSpace-only modes do without.
if [[ $MULTINODE != 1 && $MIX_COMPARE != 1 && $SERVERS != chatspace ]]; then
  (cd benches/load && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
fi
LOAD=$ROOT/target/release/chatspace-load
# The ChatSpace server measured (MIX_COMPARE also measures BEFORE_BIN).
SERVER_BIN=$ROOT/target/release/chatspace

# launch_chatspace NAME PORT DATABASE_URL [FLAGS...]: one ChatSpace node in the background ($!),
# logging to $OUT/NAME.log, pinned like every server (node2: to NODE2_CPU).
launch_chatspace() {
  local name=$1 port=$2 database=$3 pin=("${SERVER_CPU[@]}")
  shift 3
  if [[ $name == *node2 ]]; then pin=("${NODE2_PIN[@]}"); fi
  # The generator signs up one account through the forms (--sign-up: one registration per
  # server start, within the per-address sign-up limit) and opens every socket with its
  # session, so that account may hold them all (servers older than the cap have none).
  local cap=()
  if "$SERVER_BIN" --help | grep -q -- --max-sockets-per-user; then
    cap=(--max-sockets-per-user 1000000)
  fi
  RUST_LOG=warn "${pin[@]}" "$SERVER_BIN" --bind "127.0.0.1:$port" --database-url "$database" \
    "${cap[@]}" --rate-limit-messages 1000000 "${CHATSPACE_FLAGS[@]}" "$@" >>"$OUT/$name.log" 2>&1 &
}

# The PostgreSQL database (also the Redis key prefix) of the running servers (MULTINODE=1).
DEPLOYMENT= DEPLOYMENTS=0
new_deployment() {
  DEPLOYMENTS=$((DEPLOYMENTS + 1))
  DEPLOYMENT=chatspace_load_$$_$DEPLOYMENTS
  psql -q "$PG_SERVER/postgres" -c "CREATE DATABASE $DEPLOYMENT" >/dev/null
}
remove_deployment() {
  [[ -n $DEPLOYMENT ]] || return 0
  psql -q "$PG_SERVER/postgres" -c "DROP DATABASE IF EXISTS $DEPLOYMENT WITH (FORCE)" >/dev/null ||
    echo "WARNING: database $DEPLOYMENT was not dropped" >&2
  redis-cli -u "$REDIS_URL" --scan --pattern "$DEPLOYMENT:*" |
    xargs -r redis-cli -u "$REDIS_URL" DEL >/dev/null ||
    echo "WARNING: Redis keys $DEPLOYMENT:* were not deleted" >&2
  DEPLOYMENT=
}

# wait_up PORT PATH [STATUS]: until the server answers PATH (with STATUS, when given).
wait_up() {
  local status
  for _ in $(seq 1 100); do
    status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1$2") || true
    if [[ $status != 000 && $status == "${3:-$status}" ]]; then return 0; fi
    sleep 0.1
  done
  return 1
}

SERVER_PID= SERVER2_PID= READER=()
start_server() { # name
  local name=$1
  SERVER2_PID= READER=()
  case $name in
    chatspace)
      rm -f "$OUT"/chatspace.db*
      launch_chatspace chatspace "$PORT" "sqlite://$OUT/chatspace.db"
      BASE=ws://127.0.0.1:$PORT/ws FRAMING=y-websocket CLIENT=(--sign-up) ;;
    chatspace-pg)
      new_deployment
      launch_chatspace chatspace-pg "$PORT" "$PG_SERVER/$DEPLOYMENT"
      BASE=ws://127.0.0.1:$PORT/ws FRAMING=y-websocket CLIENT=(--sign-up) ;;
    chatspace-two | chatspace-same)
      new_deployment
      local bus=(--redis-url "$REDIS_URL" --redis-prefix "$DEPLOYMENT")
      launch_chatspace chatspace-node2 "$((PORT + 1))" "$PG_SERVER/$DEPLOYMENT" "${bus[@]}" \
        --node-id node2
      SERVER2_PID=$!
      if [[ $name == chatspace-two ]]; then
        READER=(--reader-url "ws://127.0.0.1:$((PORT + 1))/ws" --reader-server-pid "$SERVER2_PID")
      fi
      launch_chatspace chatspace-node1 "$PORT" "$PG_SERVER/$DEPLOYMENT" "${bus[@]}" --node-id node1
      BASE=ws://127.0.0.1:$PORT/ws FRAMING=y-websocket CLIENT=(--sign-up) ;;
    y-websocket)
      HOST=127.0.0.1 PORT=$PORT "${SERVER_CPU[@]}" node benches/load/node_modules/y-websocket/bin/server.cjs \
        >>"$OUT/y-websocket.log" 2>&1 &
      BASE=ws://127.0.0.1:$PORT FRAMING=y-websocket CLIENT=() ;;
    hocuspocus)
      PORT=$PORT "${SERVER_CPU[@]}" node benches/load/hocuspocus-server.mjs >>"$OUT/hocuspocus.log" 2>&1 &
      BASE=ws://127.0.0.1:$PORT FRAMING=hocuspocus CLIENT=() ;;
  esac
  SERVER_PID=$!
  # Nodes on the bus are ready once their database and Redis answer; other servers once they answer.
  if [[ -n $SERVER2_PID ]]; then
    wait_up "$PORT" /readyz 200 && wait_up "$((PORT + 1))" /readyz 200 && return 0
  else
    wait_up "$PORT" / && return 0
  fi
  echo "$name did not start" >&2
  return 1
}

stop_server() {
  local pid
  for pid in $SERVER_PID $SERVER2_PID; do
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  SERVER_PID= SERVER2_PID=
  remove_deployment
  sleep 1
}
trap stop_server EXIT

# backing_ticks: the CPU ticks (user + system) of every local PostgreSQL and Redis process, one
# "SERVICE PID TICKS" line each.
backing_ticks() {
  local service pid
  for service in postgres redis-server; do
    for pid in $(pgrep -x "$service"); do
      awk -v s="$service" -v p="$pid" '{ sub(/^.*\) /, ""); print s, p, $12 + $13 }' \
        "/proc/$pid/stat" 2>/dev/null || true
    done
  done
}

# backing_usage BEFORE AFTER: the CPU seconds PostgreSQL and Redis used between two backing_ticks
# readings, as JSON fields (a process that ended in between is not counted, one that started is
# in full; null for a service with no local process).
backing_usage() {
  awk -v hz="$(getconf CLK_TCK)" '
    NR == FNR { before[$2] = $3; next }
    { used[$1] += $3 - (($2 in before) ? before[$2] : 0); seen[$1] = 1 }
    END {
      printf "\"postgres_cpu_s\": %s, \"redis_cpu_s\": %s",
        ("postgres" in seen) ? used["postgres"] / hz : "null",
        ("redis-server" in seen) ? used["redis-server"] / hz : "null"
    }' <(echo "$1") <(echo "$2")
}

# waits PID: "WAIT_NS SLICES" summed over the process's threads: how long they waited for a CPU
# after becoming runnable, and how many times they ran (/proc/PID/task/*/schedstat).
waits() {
  cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ w += $2; n += $3 } END { print w + 0, n + 0 }'
}

# wait_per_run BEFORE AFTER: the mean wait for a CPU per run between two `waits` readings, in us
# (null when a thread that ended in between took more with it than the others added).
wait_per_run() {
  echo "$1 $2" | awk '{ n = $4 - $2; w = $3 - $1; if (n > 0 && w >= 0) print w / n / 1000; else print "null" }'
}

# The system calls counted (perf's syscall tracepoints; raw_syscalls:sys_enter counts them all).
SYSCALL_EVENTS=raw_syscalls:sys_enter
for call in write writev sendto sendmsg read readv recvfrom recvmsg epoll_wait epoll_pwait \
  epoll_pwait2 epoll_ctl futex sched_yield io_uring_enter mmap munmap madvise mprotect brk; do
  SYSCALL_EVENTS+=,syscalls:sys_enter_$call
done

# syscalls_attach FILE: `perf stat` attached to the server with its counters off (attaching to
# every thread takes seconds under load, so it is done before the window, not in it).
PERF_PID=
syscalls_attach() {
  rm -f "$1.ctl" "$1.window" && mkfifo "$1.ctl"
  perf stat -x, -D -1 --control "fifo:$1.ctl" -e "$SYSCALL_EVENTS" -p "$SERVER_PID" -o "$1.csv" \
    >/dev/null 2>&1 &
  PERF_PID=$!
}

# window_reaches FILE WORD GENERATOR_PID: waits until the generator wrote WORD to FILE (false if
# it ended first).
window_reaches() {
  until grep -q "$2" "$1" 2>/dev/null; do
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.02
  done
}

# syscalls_count FILE GENERATOR_PID: counts from the generator's `start` to its `end` (written to
# FILE.window), then writes FILE: {"secs": S, "counts": {"all": N, "write": N, ...}}, zeros left out.
syscalls_count() {
  local file=$1 generator=$2 t0 t1
  if window_reaches "$file.window" start "$generator"; then
    timeout 5 sh -c "echo enable >'$file.ctl'" || true
    t0=$(date +%s.%N)
    window_reaches "$file.window" end "$generator" || true
    timeout 5 sh -c "echo disable >'$file.ctl'" || true
    t1=$(date +%s.%N)
  fi
  kill -INT "$PERF_PID" 2>/dev/null || true
  wait "$PERF_PID" 2>/dev/null || true
  if [[ -n ${t0:-} && -s $file.csv ]]; then
    awk -F, -v secs="$(echo "$t1 - $t0" | bc -l)" '
      $3 ~ /sys_enter/ && $1 ~ /^[0-9]+$/ && $1 > 0 {
        name = $3; sub(/^.*sys_enter_?/, "", name); if (name == "") name = "all"
        counts = counts sep "\"" name "\": " $1; sep = ", "
      }
      END { printf "{\"secs\": %.3f, \"counts\": {%s}}\n", secs, counts }' "$file.csv" >"$file"
  fi
  rm -f "$file.csv" "$file.ctl" "$file.window"
}

# measure NAME OUTFILE SUBCOMMAND ARGS...: a fresh server, one measurement, stop. With PERF_DATA
# set, `perf record` samples the server from 6 s to 12 s after the generator starts (inside the
# measured window of a run of at least 12 s: connecting and the 2 s warm-up come first). With
# WITH_MIX=1 the generator sends the chat mix too. With SYSCALL_DATA set, the server's system calls
# over the measurement window go to that file (syscalls_count). With MULTINODE=1 the CPU of PostgreSQL and
# Redis and how long the nodes' threads waited for a CPU, over the generator's run, go to
# OUTFILE-backing.json and each node's /metrics at the end to OUTFILE-nodeN.metrics.
measure() {
  local name=$1 file=$2 sub=$3
  shift 3
  start_server "$name"
  local mix=() window=()
  if [[ ${WITH_MIX:-0} == 1 ]]; then mix=(--mix); fi
  if [[ -n ${SYSCALL_DATA:-} ]]; then
    syscalls_attach "$SYSCALL_DATA"
    window=(--window-file "$SYSCALL_DATA.window")
  fi
  echo "-- $name: $sub ${mix[*]} $*"
  local status=0 backing= waits1= waits2=
  if [[ $MULTINODE == 1 ]]; then
    backing=$(backing_ticks) waits1=$(waits "$SERVER_PID")
    if [[ ${#READER[@]} -gt 0 ]]; then waits2=$(waits "$SERVER2_PID"); fi
  fi
  "${GEN_CPU[@]}" "$LOAD" "$sub" --url "$BASE" --framing "$FRAMING" --server-pid "$SERVER_PID" \
    --label "$name" --json "${CLIENT[@]}" "${READER[@]}" "${mix[@]}" "${window[@]}" "$@" >"$OUT/$file" \
    2>>"$OUT/load-errors.log" &
  local generator=$!
  if [[ -n ${PERF_DATA:-} ]]; then
    sleep 6
    perf record -F 999 -g -p "$SERVER_PID" -o "$PERF_DATA" -- sleep 6 >/dev/null 2>&1 || true
  fi
  if [[ -n ${SYSCALL_DATA:-} ]]; then syscalls_count "$SYSCALL_DATA" "$generator"; fi
  wait "$generator" || status=$?
  if [[ $MULTINODE == 1 ]]; then
    local node2=null
    if [[ -n $waits2 ]]; then node2=$(wait_per_run "$waits2" "$(waits "$SERVER2_PID")"); fi
    echo "{$(backing_usage "$backing" "$(backing_ticks)"), \"node1_wait_us\": $(wait_per_run \
      "$waits1" "$(waits "$SERVER_PID")"), \"node2_wait_us\": $node2}" >"$OUT/${file%.json}-backing.json"
    curl -s "http://127.0.0.1:$PORT/metrics" >"$OUT/${file%.json}-node1.metrics" || true
    if [[ -n $SERVER2_PID ]]; then
      curl -s "http://127.0.0.1:$((PORT + 1))/metrics" >"$OUT/${file%.json}-node2.metrics" || true
    fi
  fi
  stop_server
  [[ -s $OUT/$file ]] || rm -f "$OUT/$file"
  return $status
}

passes() { # file: the step kept up (same rule as report.mjs)
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const ok = r.converged && r.errors === 0 && r.latency_ms.p99 <= Number(process.argv[2]) &&
      r.delivery_ratio >= 0.999 && r.delivered_per_s >= 0.95 * r.offered_per_s &&
      r.offered_per_s >= 0.95 * r.requested_per_s;
    process.exit(ok ? 0 : 1)' "$1" "$P99_BOUND_MS" 2>/dev/null
}

# send_profile PERF_DATA: the shares of the server's samples in the kernel and in its TCP send path
# (`tcp_sendmsg` and what it calls: on loopback that includes the receiving socket's side), as JSON.
# A share perf could not give (no data, or no kernel samples for a user without the right) is null.
send_profile() {
  local kernel send
  kernel=$(perf report -i "$1" --no-children --sort dso --stdio 2>/dev/null |
    awk '$2 == "[kernel.kallsyms]" && !seen { seen = 1; sub("%", "", $1); print $1 }') || true
  send=$(perf report -i "$1" --children --sort symbol --stdio -g none 2>/dev/null |
    awk '$3 == "[k]" && $4 == "tcp_sendmsg" && !seen { seen = 1; sub("%", "", $1); print $1 }') || true
  echo "{\"kernel_pct\": ${kernel:-null}, \"tcp_send_pct\": ${send:-null}}"
}

START=$(date +%s)
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
LOADARGS=(--rooms "$ROOMS" --clients "$CLIENTS" --writers "$WRITERS" --run-length "$RUN_LENGTH")
OFFERED=(run "${LOADARGS[@]}" --rate "$RATE" --duration "$DURATION")
if [[ $MULTINODE == 1 ]]; then
  read -r -a ways <<<"$WAYS"
  for round in $(seq 1 "$ROUNDS"); do
    # Each round starts one way further on, so that no way always goes first.
    for i in "${!ways[@]}"; do
      way=${ways[(i + round - 1) % ${#ways[@]}]}
      name=chatspace-$way
      if [[ $way == sqlite ]]; then name=chatspace; fi
      WITH_MIX=$MIX measure "$name" "multinode-$way-$round.json" "${OFFERED[@]}" || true
    done
  done
elif [[ $FANOUT == 1 ]]; then
  for name in $SERVERS; do
    echo "== $name: fan-out step-up"
    mixed=0
    if [[ $name == chatspace && $FANOUT_MIX == 1 ]]; then mixed=1; fi
    for step in $FANOUT_STEPS; do
      writers=${step%x*} readers=${step#*x}
      per_writers=$(((writers + FANOUT_ROOMS - 1) / FANOUT_ROOMS))
      per_clients=$((per_writers + (readers + FANOUT_ROOMS - 1) / FANOUT_ROOMS))
      file=$name-fanout-$step.json
      args=(run --rooms "$FANOUT_ROOMS" --writers "$per_writers" --clients "$per_clients"
        --rate "$FANOUT_RATE" --duration "$STEP_SECS" --drain 20)
      WITH_MIX=$mixed measure "$name" "$file" "${args[@]}" || true
      # The system calls are counted on a run of their own: tracing every call costs the server
      # CPU (at 16 x 300 a traced ChatSpace used 3.1-3.3 us per delivered edit, an untraced one
      # 2.0-2.5), which must not reach the step's figures.
      if [[ $SYSCALLS == 1 && $step == "$SYSCALL_STEP" ]]; then
        SYSCALL_DATA=$OUT/$name-fanout-$step-syscalls.json WITH_MIX=$mixed measure "$name" \
          "$name-fanout-$step-syscalls-run.json" "${args[@]}" || true
      fi
      if [[ $FANOUT_ALL != 1 ]] && { [[ ! -s $OUT/$file ]] || ! passes "$OUT/$file"; }; then break; fi
    done
  done
elif [[ $MIX_COMPARE == 1 ]]; then
  SERVER_BINS=("after=$SERVER_BIN")
  if [[ -n $BEFORE_BIN ]]; then SERVER_BINS+=("before=$(realpath "$BEFORE_BIN")"); fi
  for round in $(seq 1 "$ROUNDS"); do
    # Every other round the other way round, so that neither server nor setting always goes first.
    order=("${SERVER_BINS[@]}") mixes=(1 0)
    if ((round % 2 == 0)); then
      order=() mixes=(0 1)
      for ((i = ${#SERVER_BINS[@]} - 1; i >= 0; i--)); do order+=("${SERVER_BINS[i]}"); done
    fi
    for entry in "${order[@]}"; do
      SERVER_BIN=${entry#*=}
      for mixed in "${mixes[@]}"; do
        setting=nomix
        if [[ $mixed == 1 ]]; then setting=mix; fi
        WITH_MIX=$mixed measure chatspace "compare-${entry%%=*}-$setting-$round.json" "${OFFERED[@]}" || true
      done
    done
  done
else
  for name in $SERVERS; do
    echo "== $name"
    mixed=0
    if [[ $name == chatspace && $MIX == 1 ]]; then mixed=1; fi
    measure "$name" "$name-idle.json" idle --connections "$IDLE_CONNECTIONS" || true
    WITH_MIX=$mixed measure "$name" "$name-offered.json" "${OFFERED[@]}" || true
    if [[ $mixed == 1 ]]; then
      measure "$name" "$name-offered-nomix.json" "${OFFERED[@]}" || true
    fi
    if [[ $PROFILE == 1 ]]; then
      WITH_MIX=$mixed PERF_DATA=$OUT/$name.perf.data measure "$name" "$name-profiled.json" run \
        "${LOADARGS[@]}" --rate "$RATE" --duration 14 || true
      send_profile "$OUT/$name.perf.data" >"$OUT/$name-send-profile.json"
      rm -f "$OUT/$name.perf.data"
    fi
    for rate in $STEP_RATES; do
      WITH_MIX=$mixed measure "$name" "$name-step-$rate.json" run "${LOADARGS[@]}" --rate "$rate" \
        --duration "$STEP_SECS" --drain 20 || true
      if [[ ! -s $OUT/$name-step-$rate.json ]] || ! passes "$OUT/$name-step-$rate.json"; then break; fi
    done
    measure "$name" "$name-trace.json" run --trace "$TRACE" --rooms 2 --clients 4 --rate 0 \
      --max-secs 120 || true
  done
fi

echo
echo "== results ($OUT), $(($(date +%s) - START)) s"
{
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB RAM, $(uname -sr)"
  echo "Commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src crdt benches/load Cargo.toml || echo ' + uncommitted changes')"
  echo "Pinning: PIN=$PIN (server on CPU 0, generator on CPU 1 when 1)$(
    [[ $MULTINODE == 1 ]] && echo "; MULTINODE: node 1 on CPU 0, node 2 on CPU $NODE2_CPU")"
  if [[ ${#CHATSPACE_FLAGS[@]} -gt 0 ]]; then echo "ChatSpace flags: ${CHATSPACE_FLAGS[*]}"; fi
  if [[ $MIX_COMPARE == 1 ]]; then
    echo "Servers: after = $ROOT/target/release/chatspace${BEFORE_BIN:+; before = $(realpath "$BEFORE_BIN")}"
  fi
  echo "Load average (1/5/15 min) at start: $LOAD_AT_START; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  node benches/load/report.mjs "$OUT" "$P99_BOUND_MS"
} | tee "$OUT/report.md"
