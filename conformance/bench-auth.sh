#!/usr/bin/env bash
# Authenticated SCIM vs /healthz throughput, measured in one run with wrk at 16 connections.
# The authenticated endpoint should reach at least 80% of /healthz: argon2 runs once per
# token per cache TTL, not per request.
#
# Usage: conformance/bench-auth.sh [duration, default 15s]
# Needs: a PostgreSQL server at DATABASE_URL's host (default 127.0.0.1:5432) and wrk
# (apt-get install wrk). Builds scimd --release and runs it on a scratch database.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-15s}"
base="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
db="scimd_bench_auth_$$"
url="${base%/*}/$db"
port="${BENCH_PORT:-18431}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

cargo build --release --quiet
out=$(mktemp)
DATABASE_URL="$url" SCIMD_LOG=warn ./target/release/scimd serve --bind "127.0.0.1:$port" >"$out" &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  psql -q "${base%/*}/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
for _ in $(seq 1 100); do grep -q "SCIM token:" "$out" 2>/dev/null && break; sleep 0.2; done
token=$(awk '/SCIM token:/ {print $3}' "$out")
[ -n "$token" ] || { echo "scimd did not bootstrap" >&2; exit 1; }

rate() { awk '/Requests\/sec/ {print $2}'; }
# Warm up both paths (the first authenticated request runs argon2 once).
wrk -t2 -c16 -d2s "http://127.0.0.1:$port/healthz" >/dev/null
wrk -t2 -c16 -d2s -H "Authorization: Bearer $token" "http://127.0.0.1:$port/scim/v2/ServiceProviderConfig" >/dev/null
health=$(wrk -t2 -c16 -d"$duration" "http://127.0.0.1:$port/healthz" | tee /dev/stderr | rate)
scim=$(wrk -t2 -c16 -d"$duration" -H "Authorization: Bearer $token" \
  "http://127.0.0.1:$port/scim/v2/ServiceProviderConfig" | tee /dev/stderr | rate)
ratio=$(awk -v a="$scim" -v b="$health" 'BEGIN { printf "%.2f", a / b }')
echo
echo "GET /healthz                                   ${health} req/s"
echo "GET /scim/v2/ServiceProviderConfig (bearer)    ${scim} req/s"
echo "authenticated / healthz                        ${ratio}"
awk -v r="$ratio" 'BEGIN { exit !(r >= 0.8) }' || { echo "below the 0.8 target" >&2; exit 1; }
