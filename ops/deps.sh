#!/usr/bin/env bash
# Installs every Debian package that building, testing (and, with --bench, benchmarking)
# Roster needs. A quick no-op when everything is already present.
set -euo pipefail

packages=(
  g++ cmake make pkg-config
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
  python3-jsonschema        # tests validate recorded answers against the OpenAPI schemas
  nodejs npm                # ctest lint.openapi.redocly runs the pinned @redocly/cli from npm
  chromium chromium-driver python3-selenium  # tests/browser: the console in a real headless browser
)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(wrk nginx-light)
fi

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "ops/deps.sh: installing ${missing[*]}" >&2
sudo_cmd=()
[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
