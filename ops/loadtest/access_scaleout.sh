#!/usr/bin/env bash
# Read scale-out (issue 17): access decisions per second served by the leader alone, then by the
# leader plus one read replica, loopback only.
#   one `nats-server -js` node; a leader publishing to it (--nats); a replica following it
#   (--follow); ROSTER_USERS users seeded on the leader; then GET /v1/access (access.lua, the
#   caller a service token, which is in the log and so valid on the replica too) for DURATION
#   against the leader alone, then against both at once (two wrk processes, CONNECTIONS each
#   split in half, so the offered concurrency is the same).
# Every process shares this machine's cores (wrk too): on 2 cores the honest figure may be ~1x,
# the replica's value being where it runs on hosts of its own. Prints a markdown table.
# Env: ROSTER_USERS (2000), CONNECTIONS (32), DURATION (10s), THREADS (2). Needs wrk and
# nats-server (ops/deps.sh --bench) and a rosterd with --follow.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
users=${ROSTER_USERS:-2000}
connections=${CONNECTIONS:-32}
duration=${DURATION:-10s}
threads=${THREADS:-2}

loadtest_extra_cleanup() {
  [[ -n "${replica_pid:-}" ]] && kill "$replica_pid" 2>/dev/null || true
  [[ -n "${nats_pid:-}" ]] && kill "$nats_pid" 2>/dev/null || true
}
. "$here/common.sh"
loadtest_init
command -v wrk >/dev/null && command -v nats-server >/dev/null || { echo "run ops/deps.sh --bench" >&2; exit 1; }
"$build_dir/rosterd" --help | grep -q -- '--follow' || { echo "this rosterd has no --follow (read replicas)" >&2; exit 1; }

free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "no free port" >&2; exit 1
}
nport=$(free_port)
nats-server -js -sd "$work/nats" -a 127.0.0.1 -p "$nport" >"$work/nats.log" 2>&1 &
nats_pid=$!
sleep 1

start_rosterd --threads "$threads" --nats "nats://127.0.0.1:$nport" --nats-stream ROSTER_EVENTS
leader=$base
auth=(-H "Authorization: Bearer $token" -H 'Content-Type: application/json')
curl -sf -X POST "$leader/v1/accounts" "${auth[@]}" -d '{"id":"load","name":"Load Test Inc","kind":"customer"}' >/dev/null

total_active() {
  curl -sf "$leader/v1/accounts/load/users?limit=1" -H "Authorization: Bearer $token" | grep -o '"total_active":[0-9]*' | cut -d: -f2
}
export ROSTER_TOKEN=$token ROSTER_ACCOUNT=load
ROSTER_MODE=seed ROSTER_RUN=seed wrk -t"$threads" -c"$connections" -d3600s -s "$here/commands.lua" "$leader" >/dev/null &
seed_pid=$!
seed_started=$SECONDS
while (( $(total_active) < users )); do
  kill -0 "$seed_pid" 2>/dev/null || { echo "seeding stopped early" >&2; exit 1; }
  (( SECONDS - seed_started < 900 )) || { echo "seeding took over 15 minutes" >&2; exit 1; }
  sleep 1
done
kill "$seed_pid"; wait "$seed_pid" 2>/dev/null || true
curl -sf "$leader/v1/accounts/load/users?limit=500&q=load" -H "Authorization: Bearer $token" |
  grep -o '"id":"usr_[0-9a-f]*"' | cut -d'"' -f4 >"$work/ids"
# The deciding caller: a service token, issued on the leader, replicated with the log.
svc=$(curl -sf -X POST "$leader/v1/tokens" "${auth[@]}" -d '{"principal":"service:scaleout"}' |
  grep -o '"token":"[^"]*"' | cut -d'"' -f4)
[[ -n "$svc" ]] || { echo "no service token" >&2; exit 1; }

"$build_dir/rosterd" --listen 127.0.0.1:0 --data-dir "$work/replica" --threads "$threads" \
  --follow "nats://127.0.0.1:$nport" --nats-stream ROSTER_EVENTS --leader-url "$leader" \
  >"$work/replica.out" 2>"$work/replica.log" &
replica_pid=$!
for _ in $(seq 1 100); do grep -q '^listening on' "$work/replica.out" 2>/dev/null && break; sleep 0.1; done
rport=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$work/replica.out")
[[ -n "$rport" ]] || { echo "the replica did not start" >&2; cat "$work/replica.log" >&2; exit 1; }
replica="http://127.0.0.1:$rport"
# Caught up: ready (lag within bound) and at the leader's head.
head=$(curl -sf "$leader/metrics" | awk '$1 == "roster_store_head_position" {print $2}')
catch_up_started=$SECONDS
until curl -sf -o /dev/null "$replica/readyz" &&
      [[ $(curl -sf "$replica/metrics" | awk '$1 == "roster_replica_applied_position" {print $2}') == "$head" ]]; do
  (( SECONDS - catch_up_started < 300 )) || { echo "the replica did not catch up" >&2; tail "$work/replica.log" >&2; exit 1; }
  sleep 0.2
done
catch_up=$((SECONDS - catch_up_started))
code=$(curl -s -o /dev/null -w '%{http_code}' "$replica/v1/access?user=$(head -1 "$work/ids")&account=load&portal=support" \
  -H "Authorization: Bearer $svc")
[[ $code == 200 ]] || { echo "the replica answers $code to an access decision" >&2; exit 1; }

cat >"$work/access.lua" <<'EOF'
local token = os.getenv("ROSTER_SVC")
local ids = {}
for line in io.lines(os.getenv("ROSTER_IDS")) do table.insert(ids, line) end
local portals = {"support", "impact", "learning"}
function init(args) wrk.headers["Authorization"] = "Bearer " .. token end
function request()
  return wrk.format("GET", "/v1/access?user=" .. ids[math.random(#ids)] .. "&account=load&portal=" ..
                           portals[math.random(#portals)])
end
EOF
export ROSTER_SVC=$svc ROSTER_IDS=$work/ids

# name, then wrk args; leaves the output in $work/name.wrk
run_wrk() { local name=$1; shift; wrk --latency "$@" -s "$work/access.lua" >"$work/$name.wrk"; }
rps() { awk '/^Requests\/sec:/ {print $2}' "$work/$1.wrk"; }
p99() { awk '$1 == "99%" {print $2}' "$work/$1.wrk"; }
non2xx() { awk '/Non-2xx/ {print $NF}' "$work/$1.wrk"; }

half=$((connections / 2)); (( half >= threads )) || half=$threads
run_wrk alone -t"$threads" -c"$connections" -d"$duration" "$leader"
run_wrk split_leader -t1 -c"$half" -d"$duration" "$leader" &
w1=$!
run_wrk split_replica -t1 -c"$half" -d"$duration" "$replica" &
w2=$!
wait "$w1" "$w2"
# The same minute: the leader alone again, so drift on the shared machine shows.
run_wrk alone_again -t"$threads" -c"$connections" -d"$duration" "$leader"

both=$(awk -v a="$(rps split_leader)" -v b="$(rps split_replica)" 'BEGIN { printf "%.2f", a + b }')
base_rps=$(awk -v a="$(rps alone)" -v b="$(rps alone_again)" 'BEGIN { printf "%.2f", (a + b) / 2 }')
echo
echo "wrk --latency -c$connections -d$duration (split: two wrk -t1 -c$half at once); rosterd --threads $threads each;" \
  "$(total_active) users; replica caught up in ${catch_up}s; $(nproc) cores shared by wrk, nats-server, leader and replica"
echo
echo "| served by | decisions/s | p99 latency | vs leader alone |"
echo "| --- | --- | --- | --- |"
echo "| leader alone | $(rps alone) | $(p99 alone) | 1.00 |"
echo "| leader (split) | $(rps split_leader) | $(p99 split_leader) | |"
echo "| replica (split) | $(rps split_replica) | $(p99 split_replica) | |"
echo "| leader + replica | $both | | $(awk -v a="$both" -v b="$base_rps" 'BEGIN { printf "%.2f", a / b }') |"
echo "| leader alone, again | $(rps alone_again) | $(p99 alone_again) | |"
for r in alone split_leader split_replica alone_again; do
  n=$(non2xx "$r"); [[ -z "$n" ]] || echo "$r: $n non-2xx answers"
done
