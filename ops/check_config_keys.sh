#!/usr/bin/env bash
# The deployment files cannot drift from the binary: every option the example configs set (or
# show commented out) and every --flag the systemd units pass must be one `rosterd --help` lists.
# A ctest (label ops). Usage: ops/check_config_keys.sh path/to/rosterd
set -euo pipefail
rosterd=$1
ops=$(cd "$(dirname "$0")" && pwd)
known=$("$rosterd" --help | grep -o -- '--[a-z][a-z0-9-]*' | sed 's/^--//' | sort -u)
[[ -n "$known" ]] || { echo "no options in $rosterd --help" >&2; exit 1; }

files=("$ops/rosterd.conf.example" "$ops/rosterd-replica.conf.example")
# Read replicas' own options are checked only against a binary that has them (--follow).
replica_only="follow leader-url follow-max-lag leader-key"
if ! grep -qx follow <<<"$known"; then
  echo "not checked: $replica_only (this rosterd has no --follow)"
  known+=$'\n'$(tr ' ' '\n' <<<"$replica_only")
fi

bad=0
check() {  # where, option
  if ! grep -qx -- "$2" <<<"$known"; then echo "$1: '$2' is not an option of rosterd" >&2; bad=1; fi
}
for f in "${files[@]}"; do
  n=0
  # "name = value" and "#name = value" (a commented default); prose comments start with "# ".
  while IFS= read -r key; do check "$(basename "$f")" "$key"; n=$((n + 1)); done \
    < <(sed -n 's/^#\{0,1\}\([a-z][a-z0-9-]*\) *=.*/\1/p' "$f")
  (( n > 0 )) || { echo "$(basename "$f"): no options found" >&2; bad=1; }
done
for unit in "$ops"/rosterd*.service; do
  while IFS= read -r flag; do check "$(basename "$unit")" "$flag"; done \
    < <(grep '^ExecStart=' "$unit" | grep -o -- ' --[a-z][a-z0-9-]*' | sed 's/^ --//')
done
exit $bad
