#!/usr/bin/env bash
# The operator console in a real browser: starts scimd (and the Graph fake) on a scratch
# database, then flows.mjs drives the system Chromium through the console with
# playwright-core. Screenshots go to target/console-screenshots/, and axe-core checks each
# main page for serious or critical accessibility violations.
#
# Usage: conformance/console/run.sh [SCIMD_BINARY [FAKE_GRAPH_BINARY]]
#   Defaults: target/debug/scimd and target/debug/examples/fake_graph (built when missing).
#   Needs chromium (CHROMIUM, default /usr/bin/chromium) and the npm packages of
#   conformance/package.json.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bin=${1:-target/debug/scimd}
fake=${2:-target/debug/examples/fake_graph}
if [ ! -x "$bin" ] || [ ! -x "$fake" ]; then
  cargo build --quiet --bin scimd --example fake_graph
fi
[ -d conformance/node_modules/playwright-core ] && [ -d conformance/node_modules/axe-core ] ||
  (cd conformance && npm ci --no-audit --no-fund --loglevel=error)

db="scimd_console_$$"
port="${CONSOLE_PORT:-18471}"
# shellcheck source=lib.sh
. conformance/console/lib.sh

# A small directory: 60 users in 3 groups of about 12.
"$fake" --users 60 --groups 3 --members 12 >"$work/fake.out" 2>"$work/fake.log" &
fake_pid=$!
for _ in $(seq 1 100); do [ -s "$work/fake.out" ] && break; sleep 0.1; done
graph=$(head -n1 "$work/fake.out")
[ -n "$graph" ] || { echo "the Graph fake did not start: $(cat "$work/fake.log")" >&2; exit 1; }

DATABASE_URL=$url SCIMD_LOG=warn "$bin" migrate
admin=$(DATABASE_URL=$url "$bin" admin-key issue --label console)
key=$("$bin" secret-key generate)
# The fake's app registration doubles as the platform's, so that connect links can be made.
DATABASE_URL=$url SCIMD_SECRET_KEY=$key SCIMD_GRAPH_LOGIN_URL=$graph SCIMD_GRAPH_API_URL=$graph \
  SCIMD_GRAPH_CLIENT_ID=00000000-0000-4000-a000-00000000c11e SCIMD_GRAPH_CLIENT_SECRET=right-secret \
  SCIMD_PUBLIC_URL="http://127.0.0.1:$port" SCIMD_LOG=${SCIMD_LOG:-warn} \
  "$bin" serve --bind "127.0.0.1:$port" --no-bootstrap >"$work/scimd.log" 2>&1 &
pid=$!
wait_ready "$port" "$work/scimd.log"

mkdir -p target/console-screenshots
status=0
CONSOLE_URL="http://127.0.0.1:$port" ADMIN_KEY="$admin" DB_URL="$url" FAKE_GRAPH="$graph" \
  SCREENSHOTS="$root/target/console-screenshots" CHROMIUM="${CHROMIUM:-/usr/bin/chromium}" \
  node conformance/console/flows.mjs || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- scimd log ---" >&2
  tail -n 50 "$work/scimd.log" >&2
fi
exit "$status"
