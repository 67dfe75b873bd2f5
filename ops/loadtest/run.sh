#!/usr/bin/env bash
# HTTP load test (issue 4), loopback only:
#   0. seed the account with ROSTER_USERS users through the API;
#   1. durable command mix (create user / grant-revoke role);
#   2. query mix (user list search, profile view, access decision) over those users;
#   3. baseline in the same run: nginx answering a fixed small JSON body (this machine's HTTP ceiling).
# Prints a markdown table. Env: ROSTER_USERS (100000, seeded first), CONNECTIONS (64), DURATION (15s), THREADS (2).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
users=${ROSTER_USERS:-100000}
connections=${CONNECTIONS:-64}
duration=${DURATION:-15s}
threads=${THREADS:-2}

loadtest_extra_cleanup() {
  [[ -f "$work/nginx.pid" ]] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
}
. "$here/common.sh"
loadtest_init

free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "no free port" >&2; exit 1
}

start_rosterd --threads "$threads"
curl -sf -X POST "$base/v1/accounts" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"id":"load","name":"Load Test Inc","kind":"customer"}' >/dev/null

nport=$(free_port)
sed -e "s|@DIR@|$work|g" -e "s|@PORT@|$nport|g" "$here/nginx.conf.template" >"$work/nginx.conf"
nginx -c "$work/nginx.conf" -p "$work"

run_wrk() {  # name, then wrk args; prints "name req/s p99"
  local name=$1; shift
  local out
  out=$(wrk -t"$threads" -c"$connections" --latency "$@")
  echo "$out" >"$work/$name.wrk"
  local rps p99
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  echo "$name $rps $p99"
}

total_active() {
  curl -sf "$base/v1/accounts/load/users?limit=1" -H "Authorization: Bearer $token" | grep -o '"total_active":[0-9]*' | cut -d: -f2
}
export ROSTER_TOKEN=$token ROSTER_ACCOUNT=load
# Seed: creations only, until the account holds $users users (wrk is stopped from outside).
ROSTER_MODE=seed ROSTER_RUN=seed wrk -t"$threads" -c"$connections" -d3600s -s "$here/commands.lua" "$base" >/dev/null &
seed_pid=$!
seed_started=$SECONDS
while (( $(total_active) < users )); do
  kill -0 "$seed_pid" 2>/dev/null || { echo "seeding stopped early" >&2; exit 1; }
  (( SECONDS - seed_started < 1800 )) || { echo "seeding took over 30 minutes" >&2; exit 1; }
  sleep 1
done
kill "$seed_pid"; wait "$seed_pid" 2>/dev/null || true
seed_seconds=$((SECONDS - seed_started))
cmd=$(ROSTER_RUN=mix run_wrk commands -d"$duration" -s "$here/commands.lua" "$base")
total=$(total_active)
curl -sf "$base/v1/accounts/load/users?limit=500&q=load" -H "Authorization: Bearer $token" |
  grep -o '"id":"usr_[0-9a-f]*"' | cut -d'"' -f4 >"$work/ids"
export ROSTER_IDS=$work/ids
qry=$(run_wrk queries -d"$duration" -s "$here/queries.lua" "$base")
ngx=$(run_wrk nginx -d"$duration" "http://127.0.0.1:$nport/")

read -r _ cmd_rps cmd_p99 <<<"$cmd"
read -r _ qry_rps qry_p99 <<<"$qry"
read -r _ ngx_rps ngx_p99 <<<"$ngx"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "wrk -t$threads -c$connections -d$duration; rosterd --threads $threads; seeded $users users in ${seed_seconds}s; $total users after the command run; $(nproc) cores shared by wrk, rosterd and nginx"
echo
echo "| workload | req/s | p99 latency | vs nginx |"
echo "| --- | --- | --- | --- |"
echo "| durable commands (create user / grant-revoke role) | $cmd_rps | $cmd_p99 | $(ratio "$cmd_rps" "$ngx_rps") |"
echo "| queries (search, profile, access decision) on $total users | $qry_rps | $qry_p99 | $(ratio "$qry_rps" "$ngx_rps") |"
echo "| nginx fixed JSON (baseline) | $ngx_rps | $ngx_p99 | 1.00 |"
grep -h "non-2xx" "$work/commands.wrk" || true
