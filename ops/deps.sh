#!/usr/bin/env bash
# Installs every Debian package that building, testing (and, with --bench, benchmarking)
# Roster needs. A quick no-op when everything is already present.
set -euo pipefail

packages=(
  g++ cmake make pkg-config
  ccache                    # ops/build.sh compiles through it when present
  clang libclang-rt-14-dev  # libFuzzer targets (tests/fuzz)
  clang-format              # ops/format.sh; ctest checks the formatting (style.clang_format)
  librocksdb-dev
  capnproto libcapnp-dev
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-program-options1.81-dev
  libssl-dev
  libarchive-dev            # evidence packs (tar), written and read with libarchive
  python3 openssl           # tests run the packs' verify_pack.py, which calls the openssl CLI
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  curl
  nats-server libnats-dev   # rosterd --nats publishes to JetStream (libnats); its tests start nats-server
  python3-jsonschema        # tests validate recorded answers against the OpenAPI schemas
  nodejs                    # ctest lint.openapi.redocly runs the pinned @redocly/cli from npm
  chromium chromium-driver python3-selenium  # tests/browser: the console in a real headless browser
)
if [[ "${1:-}" == "--bench" ]]; then
  # ops/bench.sh: wrk and nginx, PostgreSQL 15 (initdb, pg_ctl, pgbench for its baseline) and perf.
  packages+=(wrk nginx-light postgresql linux-perf)
fi

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$pkg")
done
# Debian's nodejs needs Debian's npm beside it; a nodejs from elsewhere (NodeSource's package is
# also called nodejs) ships npm itself and conflicts with Debian's, so npm is asked for only when
# no npm command is there.
command -v npm >/dev/null 2>&1 || missing+=(npm)
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "ops/deps.sh: installing ${missing[*]}" >&2
sudo_cmd=()
[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
