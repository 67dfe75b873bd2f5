#!/usr/bin/env bash
# Writes the OpenAPI document a freshly started rosterd serves (GET /v1/openapi.json) to OUT.
# Usage: ops/openapi_fetch.sh ROSTERD OUT
# The server runs on a free loopback port with a throw-away data directory and is stopped
# (by its own pid) before this returns.
set -euo pipefail
rosterd=$1
out=$2
work=$(mktemp -d)
pid=
cleanup() {
  local rc=$?
  # On any failure, show what rosterd said: the reason is otherwise lost with the directory.
  if [[ $rc -ne 0 ]]; then
    echo "openapi_fetch: failed ($rc); rosterd stdout and stderr follow" >&2
    cat "$work/stdout" "$work/stderr" >&2 2>/dev/null || true
  fi
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
"$rosterd" --listen 127.0.0.1:0 --data-dir "$work/data" >"$work/stdout" 2>"$work/stderr" &
pid=$!
port=
for _ in $(seq 1 600); do  # up to 60 s: ctest runs it beside heavy tests
  port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/stdout" | head -n1)
  [[ -n "$port" ]] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/stderr" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$port" ]] || { echo "openapi_fetch: rosterd did not start" >&2; exit 1; }
curl -fsS --max-time 20 --retry 3 --retry-connrefused "http://127.0.0.1:$port/v1/openapi.json" -o "$out"
