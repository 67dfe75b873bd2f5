#!/usr/bin/env bash
# README command 2: install what is missing, build everything, run the whole suite via ctest.
# ROSTER_SANITIZE=1: the same suite built with AddressSanitizer and UndefinedBehaviorSanitizer
# (Debug, in build-asan/ unless ROSTER_BUILD_DIR says otherwise). Extra args go to ctest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ "${ROSTER_SANITIZE:-0}" == 1 ]]; then
  export ROSTER_BUILD_DIR=${ROSTER_BUILD_DIR:-$root/build-asan}
  export ROSTER_BUILD_TYPE=${ROSTER_BUILD_TYPE:-Debug}
  # The plain pass already builds the benchmarks and the (sanitized) fuzz targets and runs the
  # style and lint checks: none of them says more when rosterd is built with sanitizers.
  export ROSTER_CMAKE_ARGS="${ROSTER_CMAKE_ARGS:-} -DROSTER_SANITIZE=ON -DROSTER_BUILD_BENCH=OFF -DROSTER_BUILD_FUZZ=OFF -DROSTER_SOURCE_CHECKS=OFF"
  # Any finding fails: UBSan stops at the first report, ASan also checks for leaks at exit.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi
build_dir=${ROSTER_BUILD_DIR:-$root/build}
"$root/ops/deps.sh"
"$root/ops/build.sh"
cd "$build_dir"
ctest --output-on-failure -j "$(nproc)" --timeout 900 "$@"
