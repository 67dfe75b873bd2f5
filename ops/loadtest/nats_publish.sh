#!/usr/bin/env bash
# Publisher throughput and lag (issue 17, item 1), loopback only: the creation mix of
# commands.lua for DURATION against rosterd without --nats, then against a fresh rosterd
# publishing to a local `nats-server -js`, sampling roster_nats_lag_events every 100 ms.
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

metric() { metric_at "$base" "$1"; }

start_nats

echo "| rosterd | commands/s | events committed/s | events published/s | lag p50 | lag p99 | lag max | drained after |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for mode in plain nats; do
  rm -rf "$work/data"
  if [[ $mode == nats ]]; then start_rosterd --threads "$threads" --nats "nats://127.0.0.1:$nport"; else start_rosterd --threads "$threads"; fi
  create_load_account
  sleep 0.5
  head0=$(metric roster_store_head_position)
  pub0=$(metric roster_nats_published_position || true)
  : >"$work/lag"
  if [[ $mode == nats ]]; then
    (while true; do metric roster_nats_lag_events >>"$work/lag" || true; sleep 0.1; done) &
    sampler=$!
  fi
  t0=$(date +%s.%N)
  out=$(ROSTER_TOKEN=$token ROSTER_ACCOUNT=load ROSTER_MODE=seed ROSTER_RUN=$mode \
        wrk -t"$threads" -c"$connections" -d"$duration" -s "$here/commands.lua" "$base")
  t1=$(date +%s.%N)
  head1=$(metric roster_store_head_position)
  pub1=$(metric roster_nats_published_position || true)
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  secs=$(echo "$t1 - $t0" | bc -l)
  committed=$(echo "($head1 - $head0) / $secs" | bc -l)
  if [[ $mode == nats ]]; then
    kill "$sampler"; wait "$sampler" 2>/dev/null || true
    published=$(echo "($pub1 - $pub0) / $secs" | bc -l)
    d0=$(date +%s.%N)
    while [[ $(metric roster_nats_lag_events) != 0 ]]; do sleep 0.05; done
    drained=$(echo "$(date +%s.%N) - $d0" | bc -l)
    printf "| --nats | %s | %.0f | %.0f | %s | %s | %s | %.2f s |\n" "$rps" "$committed" "$published" \
      "$(pct "$work/lag" 50)" "$(pct "$work/lag" 99)" "$(pct "$work/lag" 100)" "$drained"
  else
    printf "| plain | %s | %.0f | — | — | — | — | — |\n" "$rps" "$committed"
  fi
  kill "$rosterd_pid"; wait "$rosterd_pid" 2>/dev/null || true
done
