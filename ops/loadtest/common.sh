# Sourced by the load tests (loopback only): installs and builds what they need, gives them a
# throw-away work directory, and starts rosterd in it. The sourcing script sets `here` first.
# After `loadtest_init`: root, build_dir, work. After `start_rosterd [flags]`: rosterd_pid, port,
# base (http://127.0.0.1:port) and token (the operator token). A script with more to stop defines
# `loadtest_extra_cleanup` before sourcing this file.
root=$(cd "$here/../.." && pwd)

loadtest_init() {
  "$root/ops/deps.sh" --bench
  "$root/ops/build.sh" rosterd >/dev/null
  build_dir=${ROSTER_BUILD_DIR:-$root/build}
  work=$(mktemp -d)
  trap loadtest_cleanup EXIT
}

loadtest_cleanup() {
  if declare -F loadtest_extra_cleanup >/dev/null; then loadtest_extra_cleanup; fi
  jobs -p | xargs -r kill 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}

start_rosterd() {
  "$build_dir/rosterd" --listen 127.0.0.1:0 --data-dir "$work/data" "$@" >"$work/rosterd.out" 2>"$work/rosterd.log" &
  rosterd_pid=$!
  for _ in $(seq 1 100); do grep -q '^listening on' "$work/rosterd.out" 2>/dev/null && break; sleep 0.1; done
  port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$work/rosterd.out")
  [[ -n "$port" ]] || { echo "rosterd did not start" >&2; cat "$work/rosterd.log" >&2; exit 1; }
  base="http://127.0.0.1:$port"
  token=$(cat "$work/data/operator.token")
}
