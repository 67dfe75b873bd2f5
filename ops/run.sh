#!/usr/bin/env bash
# README command 1: install what is missing, build, and start rosterd on the embedded
# default (127.0.0.1:8080, data in ./data). Extra arguments go to rosterd.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/ops/deps.sh"
"$root/ops/build.sh" rosterd rosterctl
exec "${ROSTER_BUILD_DIR:-$root/build}/rosterd" "$@"
