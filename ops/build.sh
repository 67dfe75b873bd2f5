#!/usr/bin/env bash
# Configures and builds Roster into build/ (or $ROSTER_BUILD_DIR). Extra args are targets.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${ROSTER_BUILD_DIR:-$root/build}
build_type=${ROSTER_BUILD_TYPE:-RelWithDebInfo}
cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE="$build_type" ${ROSTER_CMAKE_ARGS:-} >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$build_dir" -j "$(nproc)" "${targets[@]}"
