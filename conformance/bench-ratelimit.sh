#!/usr/bin/env bash
# Per-tenant rate limits (issue 5): does one tenant's flood slow another tenant?
#
# Usage: conformance/bench-ratelimit.sh [duration in seconds, default 15] [scimd binary]
#   The binary may also be given as SCIMD_BIN; without one, `cargo build --release` and
#   target/release/scimd. Progress goes to stderr, the report to stdout. Measure on an
#   otherwise idle machine: scimd, PostgreSQL, wrk and the paced client share its cores.
# Needs: a PostgreSQL server at DATABASE_URL (default
#   postgres://postgres@127.0.0.1:5432/postgres; a user allowed to create databases), psql,
#   wrk, curl and python3.
#
# What it does, on a scratch database dropped on exit:
#   1. Tenants `calm` and `flood`, each with 1,000 users and the default limit (100/s, burst
#      200), a token each, `scimd serve --no-bootstrap`.
#   2. `calm` alone: Entra's match lookup (GET /Users?filter=userName eq "…") paced at 25/s,
#      Entra's pace, for `duration` on one connection (bench/ratelimit/paced.py).
#   3. The same while wrk floods `flood` with the same lookup at 16 connections, as fast as
#      the server answers, for the whole run.
#   4. Reports, for `calm`: p50/p99/mean/max latency and its 200/429 counts, alone and during
#      the flood; for `flood`: wrk's requests/s, and how many got 200 and 429.
#      Exit 0 whatever the figures; 1 only when the run itself failed.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
duration="${1:-15}"
bin="${2:-${SCIMD_BIN:-}}"
port="${BENCH_PORT:-18434}"
base="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
server="${base%/*}"
db="scimd_bench_rl_$$"
url="$server/$db"
dir="$repo/conformance/bench/ratelimit"

say() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { say "error: $*"; exit 1; }
for tool in psql wrk curl python3; do
  command -v "$tool" >/dev/null || die "$tool is needed"
done
if [ -z "$bin" ]; then
  say "building scimd (cargo build --release)"
  cargo build --release --quiet
  bin="$repo/target/release/scimd"
fi
[ -x "$bin" ] || die "no scimd binary at $bin"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-ratelimit.XXXXXX")
log="$work/server.log"
pid=""
cleanup() {
  if [ -n "$pid" ]; then { kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; } || true; fi
  psql -q "$server/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export DATABASE_URL="$url" SCIMD_LOG="${SCIMD_LOG:-warn}"
"$bin" migrate >/dev/null
for t in calm flood; do "$bin" tenant create "$t" >/dev/null; done
calm=$("$bin" token issue --tenant calm --label bench)
flood=$("$bin" token issue --tenant flood --label bench)
psql -X -q -v ON_ERROR_STOP=1 -f "$repo/conformance/bench/users-1000.sql" "$url" >/dev/null
"$bin" serve --bind "127.0.0.1:$port" --no-bootstrap >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 150); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; die "scimd exited"; }
  sleep 0.2
done
origin="http://127.0.0.1:$port"
lookup() { printf '/scim/v2/Users?filter=userName%%20eq%%20%%22user%s@%s.example%%22' "$1" "$2"; }

say "calm alone: 25/s for ${duration}s"
alone=$(python3 "$dir/paced.py" "$origin" "$calm" "$(lookup 500 calm)" 25 "$duration") || die "paced client failed"
# The flood gets its bucket back before it starts.
sleep 3
say "calm during a flood of tenant flood (wrk -t2 -c16)"
wrk -t2 -c16 -d"$((duration + 4))s" -H "Authorization: Bearer $flood" \
  "$origin$(lookup 500 flood)" >"$work/wrk.txt" 2>&1 &
wrk_pid=$!
sleep 2
busy=$(python3 "$dir/paced.py" "$origin" "$calm" "$(lookup 500 calm)" 25 "$duration") || die "paced client failed"
wait "$wrk_pid" || die "wrk failed: $(cat "$work/wrk.txt")"
kill -0 "$pid" 2>/dev/null || die "scimd died"
flood_rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.txt")
flood_total=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
flood_non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$work/wrk.txt")
flood_non2xx=${flood_non2xx:-0}
limited=$(curl -fsS "$origin/metrics" | awk '/^scimd_rate_limited_total/ {print $2}')

read -r a50 a99 amean amax aok alim aother <<<"$alone"
read -r b50 b99 bmean bmax bok blim bother <<<"$busy"
echo "## scimd rate-limit isolation"
echo
echo "$(nproc) cores; tenants with the default limit (100/s, burst 200); ${duration}s per phase."
echo "Tenant \`calm\`: Entra's match lookup paced at 25/s on one connection."
echo "Tenant \`flood\`: the same lookup from wrk at 16 connections, as fast as answered."
echo
echo "| calm tenant | p50 ms | p99 ms | mean ms | max ms | 200 | 429 | other |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
echo "| alone | $a50 | $a99 | $amean | $amax | $aok | $alim | $aother |"
echo "| during the flood | $b50 | $b99 | $bmean | $bmax | $bok | $blim | $bother |"
echo
echo "Flood: $flood_rps requests/s answered, $flood_total requests, $flood_non2xx not 2xx"
echo "(429); scimd_rate_limited_total at the end: $limited."
