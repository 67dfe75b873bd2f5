#!/usr/bin/env bash
# Read-replica lag (issue 17, item 2), loopback only: the creation mix of commands.lua for
# DURATION against a leader without NATS (the baseline of the same run), then against a leader
# publishing to a local `nats-server -js` with a replica (`rosterd --follow`) on another data
# directory, sampling every 50 ms the replica's roster_replica_lag_seconds (age of the oldest
# event it received and has not applied) and leader head - replica applied position.
# Prints a markdown table. Env: CONNECTIONS (32), DURATION (15s), THREADS (2). Needs wrk and
# nats-server (ops/deps.sh --bench) and a built rosterd.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
connections=${CONNECTIONS:-32}
duration=${DURATION:-15s}
threads=${THREADS:-2}

. "$here/common.sh"
command -v wrk >/dev/null && command -v nats-server >/dev/null || { echo "run ops/deps.sh --bench" >&2; exit 1; }
build_dir=${ROSTER_BUILD_DIR:-$root/build}
work=$(mktemp -d)
trap loadtest_cleanup EXIT

ms() { awk -v s="$1" 'BEGIN {printf "%.1f", s * 1000}'; }

start_nats

echo "| run | commands/s | lag p50 | lag p99 | lag max | events behind p50 / p99 | caught up after |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for mode in plain replica; do
  rm -rf "$work/data" "$work/replica"
  if [[ $mode == replica ]]; then
    start_rosterd --threads "$threads" --nats "nats://127.0.0.1:$nport"
    start_replica --threads "$threads"
    rbase=$replica
  else
    start_rosterd --threads "$threads"
  fi
  create_load_account
  sleep 0.5
  : >"$work/lag_s"; : >"$work/lag_n"
  if [[ $mode == replica ]]; then
    (while true; do
       s=$(metric_at "$rbase" roster_replica_lag_seconds || true)
       h=$(metric_at "$base" roster_store_head_position || true)
       a=$(metric_at "$rbase" roster_replica_applied_position || true)
       [[ -n "$s" ]] && echo "$s" >>"$work/lag_s"
       if [[ -n "$h" && -n "$a" ]]; then d=$((${h%.*} - ${a%.*})); echo $((d < 0 ? 0 : d)) >>"$work/lag_n"; fi
       sleep 0.05
     done) &
    sampler=$!
  fi
  out=$(ROSTER_TOKEN=$token ROSTER_ACCOUNT=load ROSTER_MODE=seed ROSTER_RUN=$mode \
        wrk -t"$threads" -c"$connections" -d"$duration" -s "$here/commands.lua" "$base")
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  if [[ $mode == replica ]]; then
    kill "$sampler"; wait "$sampler" 2>/dev/null || true
    d0=$(date +%s.%N)
    while [[ $(metric_at "$rbase" roster_replica_applied_position) != $(metric_at "$base" roster_store_head_position) ]]; do
      sleep 0.02
    done
    caught=$(echo "$(date +%s.%N) - $d0" | bc -l)
    printf "| leader --nats + replica | %s | %s ms | %s ms | %s ms | %s / %s | %.2f s |\n" "$rps" \
      "$(ms "$(pct "$work/lag_s" 50)")" "$(ms "$(pct "$work/lag_s" 99)")" "$(ms "$(pct "$work/lag_s" 100)")" \
      "$(pct "$work/lag_n" 50)" "$(pct "$work/lag_n" 99)" "$caught"
    kill "$replica_pid"; wait "$replica_pid" 2>/dev/null || true
    replica_pid=
  else
    printf "| leader alone | %s | — | — | — | — | — |\n" "$rps"
  fi
  kill "$rosterd_pid"; wait "$rosterd_pid" 2>/dev/null || true
done
