# Sourced by the load tests (loopback only): installs and builds what they need, gives them a
# throw-away work directory, and starts rosterd in it. The sourcing script sets `here` first.
# After `loadtest_init`: root, build_dir, work. After `start_rosterd [flags]`: rosterd_pid, port,
# base (http://127.0.0.1:port) and token (the operator token). `start_nats` (nats_pid, nport),
# `start_replica` (replica_pid, replica) and the processes they start are stopped at exit; a script
# with more to stop defines `loadtest_extra_cleanup` before sourcing this file.
root=$(cd "$here/../.." && pwd)

loadtest_init() {
  "$root/ops/deps.sh" --bench
  "$root/ops/build.sh" rosterd >/dev/null
  build_dir=${ROSTER_BUILD_DIR:-$root/build}
  work=$(mktemp -d)
  trap loadtest_cleanup EXIT
}

loadtest_cleanup() {
  if declare -F loadtest_extra_cleanup >/dev/null; then loadtest_extra_cleanup; fi
  [[ -n "${replica_pid:-}" ]] && kill "$replica_pid" 2>/dev/null || true
  [[ -n "${nats_pid:-}" ]] && kill "$nats_pid" 2>/dev/null || true
  jobs -p | xargs -r kill 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}

start_rosterd() {
  "$build_dir/rosterd" --listen 127.0.0.1:0 --data-dir "$work/data" "$@" >"$work/rosterd.out" 2>"$work/rosterd.log" &
  rosterd_pid=$!
  for _ in $(seq 1 100); do grep -q '^listening on' "$work/rosterd.out" 2>/dev/null && break; sleep 0.1; done
  port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$work/rosterd.out")
  [[ -n "$port" ]] || { echo "rosterd did not start" >&2; cat "$work/rosterd.log" >&2; exit 1; }
  base="http://127.0.0.1:$port"
  token=$(cat "$work/data/operator.token")
}

free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "no free port" >&2
  exit 1
}

# One metric's value from a server's /metrics (empty when absent).
metric_at() { curl -sf "$1/metrics" | awk -v n="$2" '$1 == n {print $2}'; }
# The p-th percentile of the numbers in a file, one a line.
pct() { sort -g "$1" | awk -v p="$2" '{a[NR]=$1} END {i=int(NR*p/100); if (i<1) i=1; print a[i]}'; }

# A single JetStream node on a free loopback port, its store in $work/nats.
start_nats() {
  nport=$(free_port)
  nats-server -js -sd "$work/nats" -a 127.0.0.1 -p "$nport" >"$work/nats.log" 2>&1 &
  nats_pid=$!
  for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$nport") 2>/dev/null && return; sleep 0.1; done
  echo "nats-server did not start" >&2; cat "$work/nats.log" >&2; exit 1
}

# A read replica of the leader at $base following start_nats's server; extra args go to rosterd.
start_replica() {
  rm -rf "$work/replica"
  "$build_dir/rosterd" --listen 127.0.0.1:0 --data-dir "$work/replica" \
    --follow "nats://127.0.0.1:$nport" --leader-url "$base" "$@" >"$work/replica.out" 2>"$work/replica.log" &
  replica_pid=$!
  for _ in $(seq 1 100); do grep -q '^listening on' "$work/replica.out" 2>/dev/null && break; sleep 0.1; done
  local rport
  rport=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$work/replica.out")
  [[ -n "$rport" ]] || { echo "the replica did not start" >&2; cat "$work/replica.log" >&2; exit 1; }
  replica="http://127.0.0.1:$rport"
}

# The account "load" on the server at $base.
create_load_account() {
  curl -sf -X POST "$base/v1/accounts" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"id":"load","name":"Load Test Inc","kind":"customer"}' >/dev/null
}

total_active() {
  curl -sf "$base/v1/accounts/load/users?limit=1" -H "Authorization: Bearer $token" | grep -o '"total_active":[0-9]*' | cut -d: -f2
}

# Creations only (commands.lua's seed mode over THREADS/CONNECTIONS) until the account "load"
# holds $1 users; gives up after $2 seconds. Sets seed_seconds.
seed_users() {
  local users=$1 limit=$2 seed_pid started=$SECONDS
  ROSTER_TOKEN=$token ROSTER_ACCOUNT=load ROSTER_MODE=seed ROSTER_RUN=seed \
    wrk -t"$threads" -c"$connections" -d3600s -s "$here/commands.lua" "$base" >/dev/null &
  seed_pid=$!
  while (( $(total_active) < users )); do
    kill -0 "$seed_pid" 2>/dev/null || { echo "seeding stopped early" >&2; exit 1; }
    (( SECONDS - started < limit )) || { echo "seeding took over $limit s" >&2; exit 1; }
    sleep 1
  done
  kill "$seed_pid"; wait "$seed_pid" 2>/dev/null || true
  seed_seconds=$((SECONDS - started))
}
