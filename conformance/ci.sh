#!/usr/bin/env bash
# Runs the conformance suites against a live scimd, as .ci/run does: a scratch database, a
# server on a free port, a tenant and token made with the command line, then run-all.sh.
#
# Usage: conformance/ci.sh [path to the scimd binary, default target/debug/scimd]
# RUNNERS picks suites (see run-all.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-target/debug/scimd}"
base="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
db="scimd_conformance_$$"
url="${base%/*}/$db"
port="${CONFORMANCE_PORT:-18461}"
[ -x "$bin" ] || cargo build --quiet
log=$(mktemp)
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  psql -q "${base%/*}/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
export DATABASE_URL="$url" SCIMD_LOG=warn
"$bin" migrate
"$bin" tenant create conformance >/dev/null
# The suites fire requests back to back, faster than a real IdP's 100 per second.
"$bin" tenant set conformance --rate-per-second 100000 --rate-burst 1000000 >/dev/null
token=$("$bin" token issue --tenant conformance --label conformance)
"$bin" serve --bind "127.0.0.1:$port" --no-bootstrap 2>"$log" &
pid=$!
for _ in $(seq 1 100); do
  python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=2)" "http://127.0.0.1:$port/readyz" 2>/dev/null && break
  sleep 0.2
done
conformance/run-all.sh "http://127.0.0.1:$port/scim/v2" "$token"
