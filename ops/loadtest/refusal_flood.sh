#!/usr/bin/env bash
# Refusal flood (hardening issue), loopback only: a member with no admin right floods
# POST /v1/accounts/acme/users with wrk for DURATION (10s) on CONNECTIONS (8) connections, then
# waits for the coalescing windows to close and prints what the flood cost the log: events
# appended, store bytes, and the refusals their `count`s add up to. Extra args go to rosterd.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
duration=${DURATION:-10s}
connections=${CONNECTIONS:-8}

"$root/ops/deps.sh" --bench
"$root/ops/build.sh" rosterd >/dev/null
build_dir=${ROSTER_BUILD_DIR:-$root/build}

work=$(mktemp -d)
cleanup() {
  [[ -n "${rosterd_pid:-}" ]] && kill "$rosterd_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$build_dir/rosterd" --listen 127.0.0.1:0 --data-dir "$work/data" --threads 2 "$@" >"$work/rosterd.out" 2>"$work/rosterd.log" &
rosterd_pid=$!
for _ in $(seq 1 100); do grep -q '^listening on' "$work/rosterd.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$work/rosterd.out")
[[ -n "$port" ]] || { echo "rosterd did not start" >&2; cat "$work/rosterd.log" >&2; exit 1; }
base=http://127.0.0.1:$port
op=$(cat "$work/data/operator.token")
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
call() { curl -sf -X "$1" "$base$2" -H "Authorization: Bearer $op" -H 'Content-Type: application/json' ${3:+-d "$3"}; }

call POST /v1/accounts '{"id":"acme","name":"Acme","kind":"customer"}' >/dev/null
member=$(call POST /v1/accounts/acme/users '{"email":"m@acme.com","name":"M","roles":{"support":["viewer"]}}' | json '["user"]["id"]')
export ROSTER_TOKEN
ROSTER_TOKEN=$(call POST /v1/tokens "{\"principal\":{\"user_id\":\"$member\"}}" | json '["token"]')
head_before=$(call GET '/v1/events?limit=1' | json '["head"]')
bytes_before=$(du -sb "$work/data/eventstore" | cut -f1)

cat >"$work/flood.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"email":"x@acme.com","name":"X","roles":{"support":["viewer"]}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("ROSTER_TOKEN")
LUA
wrk -t2 -c"$connections" -d"$duration" -s "$work/flood.lua" "$base/v1/accounts/acme/users" | grep -E 'requests in|Non-2xx'
# The last window closes within --refusal-window-ms (5 s by default) of the last refusal.
sleep 6
head_after=$(call GET '/v1/events?limit=1' | json '["head"]')
bytes_after=$(du -sb "$work/data/eventstore" | cut -f1)
call GET "/v1/events?type=access_denied&limit=1000&from=$((head_before + 1))" | python3 -c '
import collections, json, sys
events = json.load(sys.stdin)["events"]
print("access_denied records:", len(events), "| refusals they count:", sum(e["data"]["count"] for e in events),
      "| by status:", dict(collections.Counter(e["data"]["status"] for e in events)))'
echo "events appended: $((head_after - head_before)); store bytes: $bytes_before -> $bytes_after"
