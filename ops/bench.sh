#!/usr/bin/env bash
# Issue 15's benchmark: every Roster figure beside the baseline the issue's target names, ALL run
# here, in this run, on this machine (loopback only), and ONE table written into README.md between
# <!-- bench:begin --> and <!-- bench:end -->: workload | Roster | baseline | ratio | target | met?
#
#   ops/bench.sh           the full run (~10-15 minutes on the shared 2-core machine)
#   ops/bench.sh --quick   a ~3-minute smoke run: small sizes, short runs (figures not meaningful)
#
# Baselines: PostgreSQL 15 (private cluster in a temp dir, unix socket only, pgbench 64 clients,
# synchronous_commit=on, one event row a transaction); raw RocksDB (tests/bench/baseline_rocksdb:
# 64 synced writers, one record or batches of 100); nginx (fixed JSON, worker_processes 2) and the
# minimal Beast server (tests/bench/baseline_beast, 2 io_contexts on 2 threads) under wrk; a raw
# RocksDB scan of bench_replay's log.
# Roster: rosterd --threads 2 seeded with ROSTER_USERS users through the API (ops/loadtest/commands.lua),
# then the durable command mix, the query mix, three simple GETs, a restart timed to /readyz,
# RSS; restart at 10M events and RSS at 1M users on logs written directly by bench_restart (seeding
# that many through the API would take hours here), rosterd started on them and timed to /readyz;
# bench_replay (rebuild/verify/export of the log); bench_fanout (live fan-out).
#
# Env:
#   ROSTER_USERS (100000; quick 3000)  DURATION per wrk run (15s; quick 3s)  CONNECTIONS (64)
#   ROSTER_BENCH_LOG_EVENTS            bench_replay's log (1000000; quick 200000)
#   ROSTER_FANOUT_LOADS="N:R …"         bench_fanout runs, subscribers:events/s (1000:1000 1000:100)
#   ROSTER_RESTART_EVENTS / _USERS      the log rosterd restarts on (10000000 / 100000; quick 300000 / 10000)
#   ROSTER_MEMORY_EVENTS / _USERS       the log whose RSS per user is taken (3500000 / 1000000; quick 150000 / 40000)
#   ROSTER_BENCH_BUILD_DIR (build-release)  ROSTER_BENCH_BUILD_TYPE (Release)
#   ROSTER_BENCH_README=FILE           the file to update (README.md)
#   ROSTER_BENCH_SKIP_DEPS=1           do not run ops/deps.sh --bench first
#   ROSTER_BENCH_PERF=DIR              also `perf record --call-graph dwarf` rosterd during each Roster wrk run and
#                                      bench_replay's rebuild, into DIR/*.data (the figures then
#                                      carry perf's overhead: do not publish them)
# Not part of ctest/CI (too slow, too noisy); its programs build with the tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# free_port and the load tests' other helpers; this script's own start_rosterd and total_active,
# defined below, take precedence over theirs.
here=$root/ops/loadtest
. "$here/common.sh"
quick=${ROSTER_BENCH_QUICK:-0}
[[ "${1:-}" == --quick ]] && quick=1
build_dir=${ROSTER_BENCH_BUILD_DIR:-$root/build-release}
build_type=${ROSTER_BENCH_BUILD_TYPE:-Release}
readme=${ROSTER_BENCH_README:-$root/README.md}
perf_dir=${ROSTER_BENCH_PERF:-}
# Release code has no frame pointers: DWARF unwinding (8 KiB of stack a sample, 99 Hz) gives real stacks.
perf_graph=${ROSTER_BENCH_PERF_CALLGRAPH:-dwarf,8192}
threads=2
connections=${CONNECTIONS:-64}
if [[ "$quick" == 1 ]]; then
  users=${ROSTER_USERS:-3000} duration=${DURATION:-3s} log_events=${ROSTER_BENCH_LOG_EVENTS:-200000}
  store_seconds=2 fanout_loads=${ROSTER_FANOUT_LOADS:-100:1000} fanout_seconds=2
  restart_events=${ROSTER_RESTART_EVENTS:-300000} restart_users=${ROSTER_RESTART_USERS:-10000}
  memory_events=${ROSTER_MEMORY_EVENTS:-150000} memory_users=${ROSTER_MEMORY_USERS:-40000}
else
  users=${ROSTER_USERS:-100000} duration=${DURATION:-15s} log_events=${ROSTER_BENCH_LOG_EVENTS:-1000000}
  store_seconds=5 fanout_loads=${ROSTER_FANOUT_LOADS:-1000:1000 1000:100} fanout_seconds=5
  restart_events=${ROSTER_RESTART_EVENTS:-10000000} restart_users=${ROSTER_RESTART_USERS:-100000}
  memory_events=${ROSTER_MEMORY_EVENTS:-3500000} memory_users=${ROSTER_MEMORY_USERS:-1000000}
fi
seconds=${duration%s}

# Fail before spending minutes on benchmarks if the result has nowhere to go.
for marker in '<!-- bench:begin -->' '<!-- bench:end -->'; do
  if [[ $(grep -cxF -- "$marker" "$readme" || true) != 1 ]]; then
    echo "ops/bench.sh: $readme must contain the line '$marker' exactly once" >&2
    exit 1
  fi
done

# ROSTER_BENCH_SKIP_DEPS=1: the packages are known to be there (deps.sh also wants every test dependency).
[[ "${ROSTER_BENCH_SKIP_DEPS:-0}" == 1 ]] || "$root/ops/deps.sh" --bench
ROSTER_BUILD_DIR=$build_dir ROSTER_BUILD_TYPE=$build_type "$root/ops/build.sh" \
  rosterd bench_replay bench_fanout bench_restart baseline_rocksdb baseline_beast >&2
bench=$build_dir/tests/bench
[[ -n "$perf_dir" ]] && mkdir -p "$perf_dir"

work=$(mktemp -d)
chmod 755 "$work"
pids=()
pg_bin=/usr/lib/postgresql/15/bin
pg_dir=$work/pg
pg_running=0
# Runs a PostgreSQL tool as the unprivileged postgres user (it refuses to run as root).
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  if [[ "$pg_running" == 1 ]]; then as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true; fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
log() { echo "ops/bench.sh: $*" >&2; }
load_start=$(uptime | sed 's/.*load average: //')
started=$SECONDS

declare -A R  # every figure, by name

# `wrk` for DURATION; sets R[<name>_rps] and R[<name>_p99] (ms). With ROSTER_BENCH_PERF and a
# third argument (a pid), perf records that process for the same time.
run_wrk() {
  local name=$1 perf_pid=$2; shift 2
  local perf_job=
  if [[ -n "$perf_dir" && -n "$perf_pid" ]]; then
    perf record -F 99 --call-graph "$perf_graph" -o "$perf_dir/$name.data" -p "$perf_pid" -- sleep "$seconds" >/dev/null 2>&1 &
    perf_job=$!
  fi
  wrk -t"$threads" -c"$connections" -d"$duration" --latency "$@" >"$work/$name.wrk"
  [[ -n "$perf_job" ]] && wait "$perf_job"
  R[${name}_rps]=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$work/$name.wrk")
  R[${name}_p99]=$(awk '$1 == "99%" {v = $2; u = v; sub(/[a-z]+$/, "", v); sub(/^[0-9.]+/, "", u)
      printf "%.2f", v * (u == "us" ? 0.001 : u == "s" ? 1000 : u == "m" ? 60000 : 1)}' "$work/$name.wrk")
  R[${name}_non2xx]=$(awk '/Non-2xx/ {print $NF}' "$work/$name.wrk")
  log "$name: ${R[${name}_rps]}/s, p99 ${R[${name}_p99]} ms"
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# --- Baseline: PostgreSQL 15 events table, pgbench 64 clients, synchronous commit -------------------
log "PostgreSQL baseline"
mkdir -p "$pg_dir"
[[ $(id -u) -eq 0 ]] && chown postgres: "$pg_dir"
as_pg "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U bench >/dev/null
as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w \
  -o "-c listen_addresses='' -c unix_socket_directories=$pg_dir -c synchronous_commit=on -c fsync=on -c max_connections=100" \
  start >/dev/null
pg_running=1
as_pg "$pg_bin/psql" -h "$pg_dir" -U bench -d postgres -qc "CREATE TABLE events (
  id bigserial PRIMARY KEY, stream text NOT NULL, version integer NOT NULL, type text NOT NULL,
  payload jsonb NOT NULL, UNIQUE (stream, version))"
# One event a transaction: the first event of a new stream (what creating a user is).
cat >"$pg_dir/insert.sql" <<'SQL'
\set s random(1, 1000000000000000)
INSERT INTO events (stream, version, type, payload) VALUES ('usr-' || :client_id || '-' || :s, 1, 'user_created', '{"email":"load-user@load.example.com","name":"Load User","account":"load","invite":false,"roles":{"support":["viewer"],"learning":["learner"]}}');
SQL
(cd "$pg_dir" && as_pg "$pg_bin/pgbench" -h "$pg_dir" -U bench -n -c "$connections" -j "$threads" -T "$seconds" \
  -l --log-prefix="$pg_dir/tx" -f "$pg_dir/insert.sql" postgres) >"$work/pgbench.out" 2>&1
R[pg_tps]=$(awk '/^tps = / {printf "%.0f", $3}' "$work/pgbench.out")
R[pg_p99]=$(cat "$pg_dir"/tx.* | awk '{print $3}' | sort -n | awk '{a[NR] = $1} END {printf "%.2f", a[int(NR * 0.99)] / 1000}')
R[pg_rows]=$(as_pg "$pg_bin/psql" -h "$pg_dir" -U bench -d postgres -tAc 'SELECT count(*) FROM events')
as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast stop >/dev/null
pg_running=0
log "pgbench: ${R[pg_tps]} tps, p99 ${R[pg_p99]} ms, ${R[pg_rows]} rows"

# --- Baseline: raw RocksDB, 64 synced writers ------------------------------------------------------
log "raw RocksDB baseline"
for b in 1 100; do
  out=$("$bench/baseline_rocksdb" --writers "$connections" --batch "$b" --seconds "$store_seconds" --value-bytes 400)
  R[rocks${b}_rps]=$(sed -n 's/.*records_per_s=\([0-9]*\).*/\1/p' <<<"$out")
  R[rocks${b}_p99]=$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' <<<"$out")
  log "rocksdb batch $b: $out"
done

# --- Baselines: nginx and the minimal Beast server, fixed JSON under wrk ---------------------------
log "HTTP baselines"
nport=$(free_port)
sed -e "s|@DIR@|$work|g" -e "s|@PORT@|$nport|g" "$root/ops/loadtest/nginx.conf.template" >"$work/nginx.conf"
nginx -c "$work/nginx.conf" -p "$work"
run_wrk nginx "" "http://127.0.0.1:$nport/"
kill "$(cat "$work/nginx.pid")"
"$bench/baseline_beast" --threads "$threads" >"$work/beast.out" &
beast_pid=$!
pids+=("$beast_pid")
for _ in $(seq 1 100); do grep -q '^listening on' "$work/beast.out" && break; sleep 0.05; done
bport=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$work/beast.out")
run_wrk beast "" "http://127.0.0.1:$bport/"
kill "$beast_pid"

# --- Roster over HTTP: seed, commands, queries, simple GETs, memory, restart -----------------------
start_rosterd() {
  "$build_dir/rosterd" --listen 127.0.0.1:0 --data-dir "$work/data" \
    --threads "$threads" >"$work/rosterd.out" 2>>"$work/rosterd.log" &
  rosterd_pid=$!
  pids+=("$rosterd_pid")
}
wait_ready() {  # seconds from now until /readyz answers 200
  local t0=$EPOCHREALTIME port=
  for _ in $(seq 1 6000); do
    [[ -z "$port" ]] && port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$work/rosterd.out" 2>/dev/null)
    if [[ -n "$port" ]] && curl -sf -o /dev/null "http://127.0.0.1:$port/readyz"; then
      base="http://127.0.0.1:$port"
      awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.2f", b - a}'
      return
    fi
    kill -0 "$rosterd_pid" 2>/dev/null || break
    sleep 0.02
  done
  echo "rosterd did not become ready" >&2
  cat "$work/rosterd.log" >&2
  exit 1
}
log "Roster: seeding $users users"
start_rosterd
# The start on an empty log: the fixed part of a restart (RocksDB open, keys, listening).
R[start_empty_s]=$(wait_ready)
wait_ready >/dev/null  # again, outside a subshell, for $base
token=$(cat "$work/data/operator.token")
api() { curl -sf "$base$1" -H "Authorization: Bearer $token" "${@:2}"; }
total_active() { api '/v1/accounts/load/users?limit=1' | grep -o '"total_active":[0-9]*' | cut -d: -f2; }
head_position() { api '/v1/events?limit=1' | grep -o '"head":[0-9]*' | cut -d: -f2; }
api /v1/accounts -H 'Content-Type: application/json' -d '{"id":"load","name":"Load Test Inc","kind":"customer"}' >/dev/null
R[rss_empty]=$(rss_kib "$rosterd_pid")
export ROSTER_TOKEN=$token ROSTER_ACCOUNT=load
ROSTER_MODE=seed ROSTER_RUN=seed wrk -t"$threads" -c"$connections" -d3600s -s "$root/ops/loadtest/commands.lua" "$base" >/dev/null &
seed_pid=$!
pids+=("$seed_pid")
seed_started=$SECONDS
while (($(total_active) < users)); do
  kill -0 "$seed_pid" 2>/dev/null || { echo "seeding stopped early" >&2; exit 1; }
  ((SECONDS - seed_started < 1800)) || { echo "seeding took over 30 minutes" >&2; exit 1; }
  sleep 1
done
kill "$seed_pid"
wait "$seed_pid" 2>/dev/null || true
R[seed_s]=$((SECONDS - seed_started))
R[seeded_users]=$(total_active)
R[rss_seeded]=$(rss_kib "$rosterd_pid")

log "Roster: durable commands"
ROSTER_RUN=mix run_wrk commands "$rosterd_pid" -s "$root/ops/loadtest/commands.lua" "$base"
R[users]=$(total_active)
api '/v1/accounts/load/users?limit=500&q=load' | grep -o '"id":"usr_[0-9a-f]*"' | cut -d'"' -f4 >"$work/ids"
export ROSTER_IDS=$work/ids
log "Roster: query mix over ${R[users]} users"
run_wrk queries "$rosterd_pid" -s "$root/ops/loadtest/queries.lua" "$base"
one=$(head -1 "$work/ids")
auth=(-H "Authorization: Bearer $token")
run_wrk healthz "$rosterd_pid" "$base/healthz"
run_wrk profile "$rosterd_pid" "${auth[@]}" "$base/v1/accounts/load/users/$one"
run_wrk access "$rosterd_pid" "${auth[@]}" "$base/v1/access?user=$one&account=load&portal=support"
R[events]=$(head_position)
R[rss_loaded]=$(rss_kib "$rosterd_pid")

log "Roster: restart to ready at ${R[events]} events"
kill -TERM "$rosterd_pid"
wait "$rosterd_pid" 2>/dev/null || true
: >"$work/rosterd.out"
start_rosterd
R[restart_s]=$(wait_ready)
R[rss_restarted]=$(rss_kib "$rosterd_pid")
kill -TERM "$rosterd_pid"
wait "$rosterd_pid" 2>/dev/null || true

# --- Restart at 10M events, memory at 1M users: logs written directly ------------------------------
# bench_restart (tests/bench/restart_bench.cpp) writes the log with bench_log's generator (unsynced),
# folds it whole, writes the restart checkpoint rosterd writes and checks that a start from it equals
# the full fold; then rosterd starts on that directory, timed to /readyz, CPU and RSS at ready.
start_on() {  # start_on DIR: sets ready_s, ready_cpu_s, ready_rss (KiB)
  "$build_dir/rosterd" --listen 127.0.0.1:0 --data-dir "$1" \
    --threads "$threads" >"$work/rosterd.out" 2>>"$work/rosterd.log" &
  rosterd_pid=$!
  pids+=("$rosterd_pid")
  ready_s=$(wait_ready)
  ready_cpu_s=$(awk -v t="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / t}' "/proc/$rosterd_pid/stat")
  ready_rss=$(rss_kib "$rosterd_pid")
  kill -TERM "$rosterd_pid"
  wait "$rosterd_pid" 2>/dev/null || true
  : >"$work/rosterd.out"
}
seed_direct() {  # seed_direct DIR EVENTS USERS
  "$bench/bench_restart" "$1" "$2" "$3" >"$1.out" 2>&1 || { cat "$1.out" >&2; exit 1; }
  grep -q '^restored equals full fold: yes$' "$1.out" || { cat "$1.out" >&2; echo "bench_restart: restore != full fold" >&2; exit 1; }
  log "bench_restart $2 events, $3 users: $(grep -E '^(seeded|full fold)' "$1.out" | tr '\n' ' ')"
}
log "restart on $restart_events events ($restart_users users) written directly"
seed_direct "$work/r10m" "$restart_events" "$restart_users"
# The first start creates the operator token and signing key (and folds what that appends); the
# others start from the checkpoint the previous one left at its stop.
restart_walls=() restart_cpus=()
for _ in 1 2 3 4; do
  start_on "$work/r10m"
  restart_walls+=("$ready_s") restart_cpus+=("$ready_cpu_s")
done
R[r10m_first]=${restart_walls[0]}
R[r10m_later]="${restart_walls[1]}, ${restart_walls[2]}, ${restart_walls[3]} s (CPU ${restart_cpus[1]}, ${restart_cpus[2]}, ${restart_cpus[3]} s)"
R[r10m_median]=$(printf '%s\n' "${restart_walls[@]:1}" | sort -g | sed -n 2p)
R[r10m_rss]=$ready_rss
rm -rf "$work/r10m"
log "restart at $restart_events events: first ${R[r10m_first]} s, then ${R[r10m_later]}"
log "memory at $memory_users users written directly ($memory_events events)"
seed_direct "$work/m1m" "$memory_events" "$memory_users"
start_on "$work/m1m"
start_on "$work/m1m"
R[m1m_rss]=$ready_rss
R[m1m_ready_s]=$ready_s
rm -rf "$work/m1m"
log "memory at $memory_users users: ${R[m1m_rss]} KiB after a start from the checkpoint (${R[m1m_ready_s]} s)"

# --- Rebuild / verify / export beside a raw RocksDB scan of the same log --------------------------
log "bench_replay over $log_events events"
ROSTER_BENCH_LOG_EVENTS=$log_events "$bench/bench_replay" --benchmark_filter='^BM_(rebuild|verify|export_jsonl)/' \
  --benchmark_format=csv >"$work/replay.csv" 2>"$work/replay.err" || { cat "$work/replay.err" >&2; exit 1; }
# Counters by their header names: per_s, raw_per_s, ratio.
while IFS=' ' read -r name per raw ratio; do
  R[${name}_per_s]=$per R[${name}_raw_per_s]=$raw R[${name}_ratio]=$ratio
done < <(awk -F, '/^name,/ {for (i = 1; i <= NF; i++) {gsub(/"/, "", $i); c[$i] = i}; h = 1; next}
  h {n = $1; gsub(/"/, "", n); sub(/^BM_/, "", n); sub(/\/.*/, "", n)
     printf "%s %.0f %.0f %.3f\n", n, $c["per_s"], $c["raw_per_s"], $c["ratio"]}' "$work/replay.csv")
if [[ -n "$perf_dir" ]]; then
  ROSTER_BENCH_LOG_EVENTS=$log_events perf record -F 99 --call-graph "$perf_graph" -o "$perf_dir/rebuild.data" -- \
    "$bench/bench_replay" --benchmark_filter='^BM_rebuild/' >/dev/null 2>&1
fi

# --- Live fan-out ----------------------------------------------------------------------------------
fanout_rows=()
for load in $fanout_loads; do
  subs=${load%%:*} rate=${load##*:}
  log "bench_fanout: $subs subscribers at $rate ev/s"
  "$bench/bench_fanout" --subscribers "$subs" --rate "$rate" --seconds "$fanout_seconds" >"$work/fanout.md" 2>"$work/fanout.err" || {
    cat "$work/fanout.err" >&2; exit 1; }
  # | subscribers | appended ev/s | delivered msg/s | p50 ms | p99 ms | max ms | order errors | cut off |
  fanout_rows+=("$(awk -F'|' -v rate="$rate" '/^\| [0-9]/ {
      for (i = 2; i <= 9; i++) gsub(/^ +| +$/, "", $i)
      row[++n] = $2 " " $3 " " $4 " " $6 " " $9 }
    END {print rate, row[1], row[n]}' "$work/fanout.md")")
done
load_end=$(uptime | sed 's/.*load average: //')

# --- The table -------------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {r = b > 0 ? a / b : 0; printf(r < 0.1 ? "%.4f" : "%.2f", r)}'; }
met() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {ok = op == ">=" ? v >= t : v < t; print ok ? "yes" : "**no**"}'; }
both() { [[ "$1" == yes && "$2" == yes ]] && echo yes || echo "**no**"; }
k() { awk -v v="$1" 'BEGIN {printf(v >= 1e6 ? "%.2fM" : v >= 1e4 ? "%.1fk" : "%.0f", v >= 1e6 ? v / 1e6 : v >= 1e4 ? v / 1e3 : v)}'; }
table=$work/table.md
{
  echo "| workload | Roster | baseline (same run) | ratio | target | met? |"
  echo "| --- | --- | --- | --- | --- | --- |"
  r_pg=$(ratio "${R[commands_rps]}" "${R[pg_tps]}")
  r_rocks=$(ratio "${R[commands_rps]}" "${R[rocks1_rps]}")
  p99_ok=$(met "${R[commands_p99]}" "<" 10)
  echo "| durable commands, ops/loadtest mix (wrk -c$connections, every 2xx fsynced) | $(k "${R[commands_rps]}")/s, p99 ${R[commands_p99]} ms | PostgreSQL 15 events table, pgbench $connections clients, synchronous_commit=on: $(k "${R[pg_tps]}")/s, p99 ${R[pg_p99]} ms | ${r_pg}× | ≥ 2× and p99 < 10 ms | $(both "$(met "$r_pg" ">=" 2)" "$p99_ok") |"
  echo "| | | raw RocksDB, $connections writers, synced, one record each: $(k "${R[rocks1_rps]}")/s, p99 ${R[rocks1_p99]} ms | ${r_rocks}× | ≥ 1× | $(met "$r_rocks" ">=" 1) |"
  echo "| | | raw RocksDB, $connections writers, synced batches of 100: $(k "${R[rocks100_rps]}") records/s | $(ratio "${R[commands_rps]}" "${R[rocks100_rps]}")× | — | |"
  r_q=$(ratio "${R[queries_rps]}" "${R[nginx_rps]}")
  echo "| query mix (search, profile, access) over ${R[users]} users | $(k "${R[queries_rps]}")/s, p99 ${R[queries_p99]} ms | nginx fixed JSON, 2 workers: $(k "${R[nginx_rps]}")/s | ${r_q}× | ≥ 0.5× | $(met "$r_q" ">=" 0.5) |"
  for g in healthz:/healthz profile:'one profile GET' access:'one access decision'; do
    key=${g%%:*} what=${g#*:}
    r=$(ratio "${R[${key}_rps]}" "${R[beast_rps]}")
    echo "| $what | $(k "${R[${key}_rps]}")/s, p99 ${R[${key}_p99]} ms | minimal Beast server, $threads threads: $(k "${R[beast_rps]}")/s (nginx $(k "${R[nginx_rps]}")/s) | ${r}× | ≥ 0.9× | $(met "$r" ">=" 0.9) |"
  done
  for w in rebuild verify export_jsonl; do
    r=${R[${w}_ratio]}
    echo "| ${w%_jsonl} (bench_replay, $(k "$log_events") events) | $(k "${R[${w}_per_s]}") ev/s | raw RocksDB scan of the same log: $(k "${R[${w}_raw_per_s]}") ev/s | $(printf '%.2f' "$r")× | ≥ 0.5× | $(met "$r" ">=" 0.5) |"
  done
  echo "| restart to /readyz at $(k "$restart_events") events ($(k "$restart_users") users; log written by bench_restart) | median ${R[r10m_median]} s of three starts from the checkpoint: ${R[r10m_later]}; first start ${R[r10m_first]} s (creates the operator token and key) | — | | < 2 s at 10M events | $(met "${R[r10m_median]}" "<" 2)$([[ "$restart_events" != 10000000 ]] && echo " (at $(k "$restart_events") events, not 10M)") |"
  echo "| restart to /readyz after the HTTP runs, $(k "${R[events]}") events (${R[users]} users) | ${R[restart_s]} s (empty log: ${R[start_empty_s]} s) | — | | | |"
  per_user_1m=$(awk -v r="${R[m1m_rss]}" -v u="$memory_users" 'BEGIN {printf "%.2f", r / u}')
  echo "| memory: RSS per user at $(k "$memory_users") users (log of $(k "$memory_events") events written by bench_restart; rosterd started from its checkpoint) | $per_user_1m KiB ($(k "${R[m1m_rss]}") KiB) | — | | ≤ 1 KiB a user at 1M users | $(met "$per_user_1m" "<" 1.0001)$([[ "$memory_users" != 1000000 ]] && echo " (at $(k "$memory_users") users, not 1M)") |"
  per_user=$(awk -v r="${R[rss_seeded]}" -v u="${R[seeded_users]}" 'BEGIN {printf "%.2f", r / u}')
  marginal=$(awk -v r="${R[rss_seeded]}" -v e="${R[rss_empty]}" -v u="${R[seeded_users]}" 'BEGIN {printf "%.2f", (r - e) / u}')
  echo "| memory after the HTTP runs | $per_user KiB a user ($marginal KiB above the empty process): $(k "${R[rss_seeded]}") KiB after seeding ${R[seeded_users]} users through the API; $(k "${R[rss_loaded]}") KiB after the runs at ${R[users]}; $(k "${R[rss_restarted]}") KiB after restart | — | | | |"
  for row in "${fanout_rows[@]}"; do
    read -r rate b_subs b_app b_del b_p99 b_cut subs app del p99 cut <<<"$row"
    echo "| live fan-out: $subs subscribers at $rate ev/s (appended $(k "$app")/s) | $(k "$del") msg/s delivered, p99 $p99 ms, cut off $cut | $b_subs subscriber at the same rate: p99 $b_p99 ms | | 1M msg/s with p99 < 50 ms | $(both "$(met "$del" ">=" 1000000)" "$(met "$p99" "<" 50)") |"
  done
} >"$table"

cmdline=ops/bench.sh
[[ "$quick" == 1 ]] && cmdline+=" --quick"
{
  echo "Run $(date -u +%Y-%m-%dT%H:%MZ) by \`$cmdline\`$([[ "$quick" == 1 ]] && echo ' (QUICK smoke run: figures are not meaningful)') in $((SECONDS - started)) s; $build_type build; $(nproc) cores shared by the clients, the servers and other work (load average $load_start at the start, $load_end at the end)."
  echo "HTTP: wrk -t$threads -c$connections -d$duration on loopback; rosterd --threads $threads, seeded with ${R[seeded_users]} users in ${R[seed_s]} s; non-2xx answers in the command run: ${R[commands_non2xx]:-0}."
  echo
  cat "$table"
} >"$work/section.md"

# Replace what lies between the markers, keeping the markers themselves.
awk -v section="$work/section.md" '
  /^<!-- bench:begin -->$/ { print; while ((getline line < section) > 0) print line; skip = 1; next }
  /^<!-- bench:end -->$/ { skip = 0 }
  !skip { print }' "$readme" >"$work/README.new"
cat "$work/README.new" >"$readme"
log "wrote $(($(wc -l <"$table") - 2)) rows into $readme"
cat "$work/section.md"
