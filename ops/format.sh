#!/usr/bin/env bash
# Formats every C++ source git tracks with the project's .clang-format (clang-format 14, Debian's).
# `ops/format.sh --check` changes nothing and fails, naming the files, when one is not formatted:
# ctest runs it as `style.clang_format`, so CI refuses unformatted code.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
clang_format=${CLANG_FORMAT:-clang-format}
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -- '*.cpp' '*.hpp' '*.h')
else  # an exported tree without .git
  mapfile -t files < <(find domain eventstore projections replay api tests -name '*.cpp' -o -name '*.hpp' -o -name '*.h' | sort)
fi
if [[ "${1:-}" == "--check" ]]; then
  bad=()
  for f in "${files[@]}"; do
    "$clang_format" --style=file --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
  done
  if [[ ${#bad[@]} -gt 0 ]]; then
    echo "not formatted (run ops/format.sh): ${bad[*]}" >&2
    exit 1
  fi
  exit 0
fi
"$clang_format" --style=file -i "${files[@]}"
