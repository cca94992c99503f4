#!/usr/bin/env bash
# Runs every native Go fuzz target in the module for the given time each
# (default 3s). Crashers land in the package's testdata/fuzz and fail the run.
set -euo pipefail
export PATH="$PATH:/usr/local/go/bin"
t="${1:-3s}"
cd "$(dirname "$0")/.."
status=0
count=0
failed=0
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    count=$((count + 1))
    if ! out=$(go test -run='^$' -fuzz="^${target}\$" -fuzztime="$t" "$pkg" 2>&1); then
      echo "FAIL fuzz $pkg $target"
      echo "$out" | tail -30
      status=1
      failed=$((failed + 1))
    else
      echo "ok   fuzz $pkg $target ($t)"
    fi
  done
done
echo "each fuzz target ran for $t"
echo "fuzz: $((count - failed)) passed, $failed failed"
exit $status
