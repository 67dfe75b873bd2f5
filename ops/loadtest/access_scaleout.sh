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

. "$here/common.sh"
loadtest_init
command -v wrk >/dev/null && command -v nats-server >/dev/null || { echo "run ops/deps.sh --bench" >&2; exit 1; }
# Not `rosterd --help | grep -q`: grep's early exit would SIGPIPE rosterd and fail the pipe.
grep -q -- '--follow' <<<"$("$build_dir/rosterd" --help)" || { echo "this rosterd has no --follow (read replicas)" >&2; exit 1; }

start_nats

start_rosterd --threads "$threads" --nats "nats://127.0.0.1:$nport" --nats-stream ROSTER_EVENTS
leader=$base
auth=(-H "Authorization: Bearer $token" -H 'Content-Type: application/json')
create_load_account
seed_users "$users" 900
curl -sf "$leader/v1/accounts/load/users?limit=500&q=load" -H "Authorization: Bearer $token" |
  grep -o '"id":"usr_[0-9a-f]*"' | cut -d'"' -f4 >"$work/ids"
# The deciding caller: a service token, issued on the leader, replicated with the log.
svc=$(curl -sf -X POST "$leader/v1/tokens" "${auth[@]}" -d '{"principal":{"service":"scaleout"}}' |
  grep -o '"token":"[^"]*"' | cut -d'"' -f4)
[[ -n "$svc" ]] || { echo "no service token" >&2; exit 1; }

start_replica --threads "$threads" --nats-stream ROSTER_EVENTS
# Caught up: ready (lag within bound) and at the leader's head.
head=$(metric_at "$leader" roster_store_head_position)
catch_up_started=$SECONDS
until curl -sf -o /dev/null "$replica/readyz" &&
      [[ $(metric_at "$replica" roster_replica_applied_position) == "$head" ]]; do
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
