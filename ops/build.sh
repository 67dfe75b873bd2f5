#!/usr/bin/env bash
# Configures and builds Roster into build/ (or $ROSTER_BUILD_DIR). Extra args are targets.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${ROSTER_BUILD_DIR:-$root/build}
build_type=${ROSTER_BUILD_TYPE:-RelWithDebInfo}
launcher=()
# ccache (ops/deps.sh installs it) makes a rebuild of an unchanged file a cache hit, also in a
# fresh clone: paths under the checkout are hashed relative to it. ROSTER_CCACHE=0 turns it off.
if [[ "${ROSTER_CCACHE:-1}" != 0 ]] && command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}
  # -g objects hash the working directory unless told not to; debug info then names the first
  # checkout that compiled an object, which only a debugger notices.
  export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE="$build_type" "${launcher[@]}" ${ROSTER_CMAKE_ARGS:-} >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$build_dir" -j "$(nproc)" "${targets[@]}"
