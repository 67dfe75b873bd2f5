#!/usr/bin/env bash
# Lints the OpenAPI document rosterd serves with Redocly's CLI (pinned), failing on any error.
# Usage: ops/openapi_lint.sh ROSTERD BUILD_DIR
# The CLI is installed once from the npm registry into BUILD_DIR/redocly (skipped when present);
# needs node and npm (ops/deps.sh). Rules: ops/redocly.yaml.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rosterd=$1
build=$2
version=1.34.20
prefix="$build/redocly"
cli="$prefix/node_modules/.bin/redocly"
if [[ ! -x "$cli" ]] || ! grep -q "\"version\": \"$version\"" "$prefix/node_modules/@redocly/cli/package.json" 2>/dev/null; then
  npm install --no-audit --no-fund --silent --prefix "$prefix" "@redocly/cli@$version"
fi
mkdir -p "$build/openapi"
"$root/ops/openapi_fetch.sh" "$rosterd" "$build/openapi/openapi.json"
# Redocly exits non-zero when the document has an error; warnings are printed, not fatal.
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
  "$cli" lint --config "$root/ops/redocly.yaml" "$build/openapi/openapi.json"
