#!/usr/bin/env bash
# Refusal flood (hardening issue), loopback only: a member with no admin right floods
# POST /v1/accounts/acme/users with wrk for DURATION (10s) on CONNECTIONS (8) connections, then
# waits for the coalescing windows to close and prints what the flood cost the log: events
# appended, store bytes, and the refusals their `count`s add up to. Extra args go to rosterd.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
duration=${DURATION:-10s}
connections=${CONNECTIONS:-8}
. "$here/common.sh"

loadtest_init
start_rosterd --threads 2 "$@"
op=$token
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
