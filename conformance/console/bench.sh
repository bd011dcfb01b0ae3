#!/usr/bin/env bash
# The console's people page on a tenant of 100,000 people, beside the admin API's
# equivalents (issue 23, point 5): server time of the counts, of the first and the
# hundredth page of the API's list and of the console's people page (which shows the counts
# and a page), and what Chromium measures for a full load of the console's pages.
#
# Usage: conformance/console/bench.sh [scimd binary]
#   Default target/release/scimd (`cargo build --release`). The tenant is seeded by SQL as
#   bench-people.sh seeds it (conformance/bench/people/seed.sql). The report goes to stdout.
# Settings: BENCH_PORT (18481), BENCH_PEOPLE (100000), BENCH_REQUESTS (20 per measurement).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bin="${1:-target/release/scimd}"
[ -x "$bin" ] || cargo build --release --bin scimd
# The browser side's packages, pinned in conformance/package-lock.json, as run.sh installs them.
[ -d conformance/node_modules/playwright-core ] ||
  (cd conformance && npm ci --no-audit --no-fund --loglevel=error)
port="${BENCH_PORT:-18481}"
people="${BENCH_PEOPLE:-100000}"
db="scimd_bench_console_$$"
# shellcheck source=lib.sh
. conformance/console/lib.sh
export DATABASE_URL="$url" SCIMD_LOG="${SCIMD_LOG:-warn}"
"$bin" migrate >/dev/null 2>&1
"$bin" tenant create bench >/dev/null
key=$("$bin" admin-key issue --label bench)
echo "seeding $people people" >&2
psql -X -q -v ON_ERROR_STOP=1 -v tenant=bench -v people="$people" \
  -f conformance/bench/people/seed.sql "$url" >/dev/null
"$bin" serve --bind "127.0.0.1:$port" --no-bootstrap >"$work/scimd.log" 2>&1 &
pid=$!
wait_ready "$port" "$work/scimd.log"
CONSOLE_URL="http://127.0.0.1:$port" ADMIN_KEY="$key" REQUESTS="${BENCH_REQUESTS:-20}" \
  CHROMIUM="${CHROMIUM:-/usr/bin/chromium}" node conformance/console/bench.mjs
