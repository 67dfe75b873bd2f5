#!/usr/bin/env bash
# README command 2: install what is missing, build everything, run the whole suite via ctest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${ROSTER_BUILD_DIR:-$root/build}
"$root/ops/deps.sh"
"$root/ops/build.sh"
cd "$build_dir"
ctest --output-on-failure -j "$(nproc)" --timeout 900 "$@"
