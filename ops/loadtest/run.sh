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

start_rosterd --threads "$threads"
create_load_account

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

export ROSTER_TOKEN=$token ROSTER_ACCOUNT=load
seed_users "$users" 1800
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
