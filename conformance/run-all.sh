#!/usr/bin/env bash
# Runs every conformance runner against one SCIM base URL and token, then sums their counts:
#   1. run-postman.sh       Microsoft's SCIM reference Postman collection (newman)
#   2. run-scim2-tester.sh  scim2-tester's RFC 7643/7644 checks
#   3. replay.py            Entra ID (default and aadOptscim062020) and Okta provisioning cycles
# The last line is `conformance: N passed, N failed, N skipped`; exits 1 when anything failed or
# a runner could not run.
#
# Usage: conformance/run-all.sh BASE_URL TOKEN
# Use a fresh, empty tenant: the Postman collection counts the tenant's users, so it runs first;
# every runner deletes what it created.
# RUNNERS="postman scim2-tester entra entra-aadoptscim062020 okta" (the default) picks runners.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ $# -ne 2 ]; then
  echo "usage: $0 BASE_URL TOKEN" >&2
  exit 2
fi
base="$1"
token="$2"
runners="${RUNNERS:-postman scim2-tester entra entra-aadoptscim062020 okta}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

total_pass=0 total_fail=0 total_skip=0 broken=0
summary=()
for runner in $runners; do
  case "$runner" in
    postman) cmd=("$here/run-postman.sh" "$base" "$token") ;;
    scim2-tester) cmd=("$here/run-scim2-tester.sh" "$base" "$token") ;;
    entra | entra-aadoptscim062020 | okta)
      cmd=(python3 "$here/replay.py" --base-url "$base" --token "$token" --scenario "$runner") ;;
    *) echo "run-all: unknown runner $runner" >&2; exit 2 ;;
  esac
  printf '\n==== %s\n' "$runner"
  "${cmd[@]}" 2>&1 | tee "$out/$runner.log"
  rc=${PIPESTATUS[0]}
  line="$(grep -E '[0-9]+ passed, [0-9]+ failed' "$out/$runner.log" | tail -n 1)"
  if [ -z "$line" ]; then
    broken=$((broken + 1))
    summary+=("$(printf '%-24s did not run (exit %s)' "$runner" "$rc")")
    continue
  fi
  count() { grep -oE "[0-9]+ $1" <<<"$line" | grep -oE '[0-9]+' || echo 0; }
  p="$(count passed)" f="$(count failed)" s="$(count skipped)"
  total_pass=$((total_pass + p)) total_fail=$((total_fail + f)) total_skip=$((total_skip + s))
  summary+=("$(printf '%-24s %4s passed, %4s failed, %4s skipped (exit %s)' "$runner" "$p" "$f" "$s" "$rc")")
  # A runner that failed without counting a failure (it crashed half-way) still fails the run.
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then broken=$((broken + 1)); fi
done

printf '\n==== summary\n'
printf '%s\n' "${summary[@]}"
total_fail=$((total_fail + broken))
echo "conformance: $total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
