#!/usr/bin/env bash
# Cold as_of fairness (hardening issue), loopback only. Seeds ROSTER_USERS (60000) users, so that
# an as_of read of a position that is not cached folds the log (no snapshot is taken:
# --snapshot-every is above the head). Then times SAMPLES (6) cold as_of reads of the operator:
#   1. alone;
#   2. while an auditor runs LOOPS (8) concurrent loops of cold as_of reads for the whole time.
# Prints the operator's median and worst latency in both cases. Extra args go to rosterd.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
users=${ROSTER_USERS:-60000}
loops=${LOOPS:-8}
samples=${SAMPLES:-6}
. "$here/common.sh"

loadtest_init
# No snapshot is taken (--snapshot-every above the head): a read of an uncached position folds.
start_rosterd --threads 2 --snapshot-every 100000000 "$@"
op=$token
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
call() { curl -sf -X "$1" "$base$2" -H "Authorization: Bearer $op" -H 'Content-Type: application/json' ${3:+-d "$3"}; }

call POST /v1/accounts '{"id":"load","name":"Load","kind":"customer"}' >/dev/null
export ROSTER_TOKEN=$op ROSTER_ACCOUNT=load ROSTER_MODE=seed ROSTER_RUN=fair
wrk -t2 -c32 -d3600s -s "$here/commands.lua" "$base" >/dev/null &
seed_pid=$!
while (( $(call GET '/v1/accounts/load/users?limit=1' | json '["total_active"]') < users )); do sleep 1; done
kill "$seed_pid"; wait "$seed_pid" 2>/dev/null || true
head=$(call GET '/v1/events?limit=1' | json '["head"]')
auditor=$(call POST /v1/tokens '{"principal":{"auditor":true}}' | json '["token"]')

# Seconds one cold as_of read of the operator takes (a fresh position each time: no cache hit).
cold_read() {
  curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $op" \
    "$base/v1/accounts/load?as_of=$(( (RANDOM * 32768 + RANDOM) % (head - 10) + 5 ))"
}
measure() {
  local out=()
  for _ in $(seq 1 "$samples"); do out+=("$(cold_read)"); done
  printf '%s\n' "${out[@]}" | sort -n | awk '{a[NR]=$1} END {printf "median %.3f s, worst %.3f s\n", a[int((NR+1)/2)], a[NR]}'
}
echo "seeded $users users, head $head; $(nproc) cores shared by rosterd and the clients"
echo "operator alone:            $(measure)"
for _ in $(seq 1 "$loops"); do
  ( while :; do
      curl -s -o /dev/null -H "Authorization: Bearer $auditor" \
        "$base/v1/accounts/load?as_of=$(( (RANDOM * 32768 + RANDOM) % (head - 10) + 5 ))"
    done ) &
done
sleep 2
echo "operator beside $loops loops: $(measure)"
