#!/usr/bin/env bash
# Builds Release in build-release/, runs every benchmark of the project with the same-run
# baselines they contain (every bench_* in build-release/tests/bench, then ops/loadtest/run.sh),
# and writes ONE markdown table into README.md between <!-- bench:begin --> and <!-- bench:end -->.
#
# Env:
#   ROSTER_BENCH_QUICK=1        smoke run: tiny --benchmark_min_time, heavy fixed-size cases
#                               skipped, load test with 2,000 users for 3 s (figures meaningless)
#   ROSTER_BENCH_BUILD_DIR=DIR  build tree (default build-release)
#   ROSTER_BENCH_BUILD_TYPE=T   CMake build type (default Release; the table says which)
#   ROSTER_BENCH_FILTER=REGEX   passed to every bench_* as --benchmark_filter
#   ROSTER_BENCH_NO_LOADTEST=1  skip ops/loadtest/run.sh
#   ROSTER_BENCH_README=FILE    the file to update (default README.md)
#   ROSTER_FANOUT_LOADS="N:R …"  bench_fanout runs, subscribers:events/s (default 1000:5000 1000:100)
# Parsing uses Google Benchmark's CSV output and awk only (no jq/python on a Debian box).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${ROSTER_BENCH_BUILD_DIR:-$root/build-release}
readme=${ROSTER_BENCH_README:-$root/README.md}
quick=${ROSTER_BENCH_QUICK:-0}
build_type=${ROSTER_BENCH_BUILD_TYPE:-Release}

# Fail before spending minutes on benchmarks if the result has nowhere to go.
for marker in '<!-- bench:begin -->' '<!-- bench:end -->'; do
  if [[ $(grep -cxF -- "$marker" "$readme" || true) != 1 ]]; then
    echo "ops/bench.sh: $readme must contain the line '$marker' exactly once" >&2
    exit 1
  fi
done
if ! awk '/^<!-- bench:begin -->$/ {b = NR} /^<!-- bench:end -->$/ {e = NR} END {exit !(b && e && b < e)}' "$readme"; then
  echo "ops/bench.sh: '<!-- bench:begin -->' must come before '<!-- bench:end -->' in $readme" >&2
  exit 1
fi

"$root/ops/deps.sh" --bench
bench_targets=()
for src in "$root"/tests/bench/*_bench.cpp; do
  name=$(basename "$src" _bench.cpp)
  bench_targets+=("bench_$name")
done
ROSTER_BUILD_DIR=$build_dir ROSTER_BUILD_TYPE=$build_type "$root/ops/build.sh" rosterd rosterctl "${bench_targets[@]}" >&2

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
table=$work/table.md

bench_args=(--benchmark_format=csv)
if [[ "$quick" == 1 ]]; then
  bench_args+=(--benchmark_min_time=0.01)
  # Cases with a fixed large size (1M-event scans, 100k-user setups) ignore min_time.
  bench_args+=(--benchmark_filter="${ROSTER_BENCH_FILTER:--(.*full_scan.*|.*1000000.*)}")
elif [[ -n "${ROSTER_BENCH_FILTER:-}" ]]; then
  bench_args+=(--benchmark_filter="$ROSTER_BENCH_FILTER")
fi

{
  echo "| suite | case | time or rate | same-run comparison and counters |"
  echo "| --- | --- | --- | --- |"
} >"$table"

# bench_fanout is not a Google Benchmark binary: it drives a real rosterd with WebSocket
# subscribers and prints a markdown table (a 1-subscriber baseline row, then the full row).
# Two runs: the issue's target load, and a load this 2-core machine sustains.
run_fanout() {
  local bin=$1 seconds=5 loads="1000:5000 1000:100" load subscribers rate
  [[ "$quick" == 1 ]] && { seconds=1; loads="50:500"; }
  for load in ${ROSTER_FANOUT_LOADS:-$loads}; do
    subscribers=${load%%:*} rate=${load##*:}
    "$bin" --subscribers "$subscribers" --rate "$rate" --seconds "$seconds" >"$work/fanout.md" 2>"$work/fanout.err" || {
      echo "ops/bench.sh: bench_fanout failed:" >&2; cat "$work/fanout.err" >&2; exit 1; }
    # | subscribers | appended ev/s | delivered msg/s | p50 ms | p99 ms | max ms | order errors | cut off |
    awk -F'|' -v rate="$rate" '/^\| [0-9]/ {
        for (i = 2; i <= 9; i++) gsub(/^ +| +$/, "", $i)
        printf "| fanout | %s subscriber(s) at %s ev/s | p99 %s ms, p50 %s ms | appended=%s/s, delivered=%s msg/s, order errors=%s, cut off=%s |\n",
          $2, rate, $6, $5, $3, $4, $8, $9
      }' "$work/fanout.md" >>"$table"
  done
}

for target in "${bench_targets[@]}"; do
  bin=$build_dir/tests/bench/$target
  [[ -x "$bin" ]] || { echo "ops/bench.sh: $bin was not built" >&2; exit 1; }
  if [[ "$target" == bench_fanout ]]; then
    echo "ops/bench.sh: running $target" >&2
    run_fanout "$bin"
    continue
  fi
  echo "ops/bench.sh: running $target" >&2
  # CSV on stdout (benchmark's own context lines go to stderr). Rows after the header; extra
  # columns after error_message are user counters, named in the header.
  "$bin" "${bench_args[@]}" >"$work/$target.csv" 2>"$work/$target.err" || {
    echo "ops/bench.sh: $target failed:" >&2; cat "$work/$target.err" >&2; exit 1; }
  awk -v suite="${target#bench_}" -F, '
    function unquote(s) { gsub(/^"|"$/, "", s); gsub(/""/, "\"", s); return s }
    function num(v) {
      if (v == "") return ""
      v += 0
      if (v >= 1e9) return sprintf("%.2fG", v / 1e9)
      if (v >= 1e6) return sprintf("%.2fM", v / 1e6)
      if (v >= 1e4) return sprintf("%.1fk", v / 1e3)
      if (v >= 100) return sprintf("%.0f", v)
      return sprintf("%.3g", v)
    }
    function human_time(v, unit,   s) {
      s = v * (unit == "ns" ? 1e-9 : unit == "us" ? 1e-6 : unit == "ms" ? 1e-3 : 1)
      if (s >= 1) return sprintf("%.3g s", s)
      if (s >= 1e-3) return sprintf("%.3g ms", s * 1e3)
      if (s >= 1e-6) return sprintf("%.3g µs", s * 1e6)
      return sprintf("%.3g ns", s * 1e9)
    }
    /^name,/ { for (i = 1; i <= NF; i++) col[i] = $i; ncol = NF; header = 1; next }
    !header { next }
    {
      # Benchmark names never contain commas; labels and error messages might, so only the
      # fixed leading columns and the trailing counters are trusted by position.
      name = unquote($1)
      # The label (e.g. the query of a search case) only when no comma inside it shifted the columns.
      if (NF == ncol && unquote($8) != "") name = name " (" unquote($8) ")"
      if ($9 == "true") { printf "| %s | %s | error | %s |\n", suite, name, unquote($10); next }
      t = human_time($3, $5)
      if ($7 != "") t = t ", " num($7) " items/s"
      extra = ""
      for (i = 11; i <= ncol && i <= NF; i++) {
        if ($i == "") continue
        extra = extra (extra == "" ? "" : ", ") unquote(col[i]) "=" num($i)
      }
      printf "| %s | %s | %s | %s |\n", suite, name, t, extra
    }' "$work/$target.csv" >>"$table"
done

if [[ "${ROSTER_BENCH_NO_LOADTEST:-0}" != 1 ]]; then
  echo "ops/bench.sh: running ops/loadtest/run.sh" >&2
  lt_env=(ROSTER_BUILD_DIR="$build_dir" ROSTER_BUILD_TYPE="$build_type")
  [[ "$quick" == 1 ]] && lt_env+=(ROSTER_USERS=2000 DURATION=3s)
  env "${lt_env[@]}" "$root/ops/loadtest/run.sh" >"$work/loadtest.md" 2>"$work/loadtest.err" || {
    echo "ops/bench.sh: the load test failed:" >&2; cat "$work/loadtest.err" >&2; exit 1; }
  # Its table rows: | workload | req/s | p99 latency | vs nginx |
  awk -F'|' '/^\| / && !/^\| workload/ && !/^\| ---/ {
      gsub(/^ +| +$/, "", $2); gsub(/^ +| +$/, "", $3); gsub(/^ +| +$/, "", $4); gsub(/^ +| +$/, "", $5)
      printf "| http (wrk) | %s | %s req/s, p99 %s | vs nginx=%s |\n", $2, $3, $4, $5
    }' "$work/loadtest.md" >>"$table"
  lt_note=$(grep -m1 '^wrk ' "$work/loadtest.md" || true)
fi

{
  echo "Run $(date -u +%Y-%m-%dT%H:%MZ) by \`ops/bench.sh\`$([[ "$quick" == 1 ]] && echo ' in QUICK mode (smoke run: figures are not meaningful)'); $build_type build, $(nproc) cores."
  [[ -n "${lt_note:-}" ]] && echo "HTTP: $lt_note."
  echo
  cat "$table"
} >"$work/section.md"

# Replace what lies between the markers, keeping the markers themselves.
awk -v section="$work/section.md" '
  /^<!-- bench:begin -->$/ { print; while ((getline line < section) > 0) print line; skip = 1; next }
  /^<!-- bench:end -->$/ { skip = 0 }
  !skip { print }' "$readme" >"$work/README.new"
cat "$work/README.new" >"$readme"
echo "ops/bench.sh: wrote $(($(wc -l <"$table") - 2)) rows into $readme" >&2
cat "$work/section.md"
