#!/usr/bin/env bash
# Live fan-out, NATS against Roster's own WebSocket stream (issue 17), loopback only: one
# bench_fanout run per transport at the same append rate, back to back, each with its own
# 1-subscriber baseline from the same minute. NATS: rosterd --nats publishing to a local
# `nats-server -js`, and core NATS subscriptions on roster.events.> over NATS_CONNECTIONS
# connections. Prints one markdown table.
# Env: RATE (1000 ev/s), WS_SUBSCRIBERS (1000), NATS_SUBSCRIBERS (10000), NATS_CONNECTIONS (100),
#      PHASE_SECONDS (5), CLIENT_THREADS (1), ROSTER_BUILD_DIR (build). Needs nats-server and libnats
#      (ops/deps.sh --bench) and a built bench_fanout (ops/build.sh bench_fanout).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rate=${RATE:-1000}
ws_subs=${WS_SUBSCRIBERS:-1000}
nats_subs=${NATS_SUBSCRIBERS:-10000}
nats_conns=${NATS_CONNECTIONS:-100}
seconds=${PHASE_SECONDS:-5}
client_threads=${CLIENT_THREADS:-1}
bench=${ROSTER_BUILD_DIR:-$root/build}/tests/bench/bench_fanout
command -v nats-server >/dev/null || { echo "run ops/deps.sh --bench (nats-server)" >&2; exit 1; }
[[ -x "$bench" ]] || { echo "build bench_fanout first: ops/build.sh bench_fanout" >&2; exit 1; }

echo "Fan-out at $rate events/s appended, ${seconds} s measured per phase, $(nproc) cores, load $(uptime | sed 's/.*load average: //')"
echo
echo "| transport | subscribers | appended ev/s | delivered msg/s | p50 ms | p99 ms | max ms | order errors | cut off / dropped | rosterd CPU | client CPU | nats-server CPU |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
"$bench" --transport ws --subscribers "$ws_subs" --rate "$rate" --seconds "$seconds" \
  --client-threads "$client_threads" --rows-only 1 | sed 's/^|/| WebSocket (rosterd) |/'
"$bench" --transport nats --subscribers "$nats_subs" --nats-connections "$nats_conns" --rate "$rate" \
  --seconds "$seconds" --client-threads "$client_threads" --rows-only 1 | sed 's/^|/| NATS core (nats-server) |/'
echo
echo "CPU: CPU-seconds per second of the phase (100% = one core). Each transport's first row is its"
echo "1-subscriber baseline in the same run; compare ratios, not absolute figures, on a shared machine."
