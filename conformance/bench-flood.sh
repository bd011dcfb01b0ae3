#!/usr/bin/env bash
# Credential floods cost the attacker, not the tenants (issue 22, point 3): a tenant's
# Entra-like traffic at 25 requests/s, alone and while 2,000 bad-token requests a second
# arrive from another address.
#
# Usage: conformance/bench-flood.sh [seconds per phase, default 10] [scimd binary]
#   The binary may also be given as SCIMD_BIN; without one, `cargo build --release` and
#   target/release/scimd. BENCH_ROUNDS (3) rounds of the two phases in turns;
#   BENCH_RATE (25) and BENCH_FLOOD_RATE (2000) change the paces,
#   BENCH_PORT (18436) the port. Progress goes to stderr, the report to stdout. Measure
#   on an otherwise idle machine: scimd, PostgreSQL and both clients share its cores.
# Needs: a PostgreSQL server at DATABASE_URL (default
#   postgres://postgres@127.0.0.1:5432/postgres; a user allowed to create databases),
#   psql and curl; BENCH_KEEP=1 keeps the database and the work folder. Builds the load client (examples/flood.rs) with cargo.
#
# What it does, on a scratch database dropped on exit:
#   1. Tenant `bench` with 1,000 users, the default rate limit (100/s, burst 200) and a
#      token; `scimd serve --no-bootstrap` on 127.0.0.1 with its default settings
#      (20 failed sign-ins a minute per address).
#   2. examples/flood.rs: 2 s of warm-up, then BENCH_ROUNDS rounds of: the tenant alone
#      for `seconds` from 127.0.0.1 (Entra's cycle: lookup of a seeded user, PATCH
#      active, lookup of a new userName, POST /Users; paced, not waiting for answers);
#      then the flood from 127.0.0.2 (a connection per request, a new well-formed bad
#      token each time), 2 s for it to reach its pace, and the tenant again for
#      `seconds` while it runs. A round takes 2 × seconds + 3 s.
#   3. Reports, over all rounds pooled, the tenant's p50/p99/max and errors in both
#      phases (and each round's), p99 under the flood
#      over p99 alone, what the flood got (401, 429, failed), scimd's CPU time and
#      argon2 checks over the run. Target: the ratio at most 2 and no tenant error.
#      Exit 0 when the target is met, 3 when it is not, 1 when the run itself failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export BENCH_LUA_DIR="$here/bench"
# shellcheck source=bench/lib.sh
. "$BENCH_LUA_DIR/lib.sh"
cd "$here/.."
repo=$PWD
seconds="${1:-10}"
rounds="${BENCH_ROUNDS:-3}"
bin="${2:-${SCIMD_BIN:-}}"
rate="${BENCH_RATE:-25}"
flood_rate="${BENCH_FLOOD_RATE:-2000}"
port="${BENCH_PORT:-18436}"
base="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
server="${base%/*}"
db="scimd_bench_flood_$$"
url="$server/$db"
need psql curl cargo
case $seconds in '' | *[!0-9]* | 0) die "seconds must be a whole number >= 1" ;; esac
case $rounds in '' | *[!0-9]* | 0) die "BENCH_ROUNDS must be a whole number >= 1" ;; esac
if [ -z "$bin" ]; then
  say "building scimd (cargo build --release)"
  cargo build --release --quiet --bin scimd
  bin="$repo/target/release/scimd"
fi
bin=$(abs_bin "$bin") || die "no executable scimd binary at ${2:-${SCIMD_BIN:-}}"
say "building the load client (cargo build --example flood)"
cargo build --quiet --example flood
client="$repo/target/debug/examples/flood"

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-flood.XXXXXX")
scratch_dbs=("$db")
export SCIMD_LOG="${SCIMD_LOG:-warn}"
DATABASE_URL="$url" "$bin" migrate >/dev/null
DATABASE_URL="$url" "$bin" tenant create bench >/dev/null
token=$(DATABASE_URL="$url" "$bin" token issue --tenant bench --label bench)
auth="Authorization: Bearer $token"
psql -X -q -v ON_ERROR_STOP=1 -f "$BENCH_LUA_DIR/users-1000.sql" "$url" >/dev/null
sql -c "SELECT user_name || ' ' || id FROM users ORDER BY user_name" >"$work/users.txt"

start_server "$bin" "$work/server.log"
checks() {
  curl -fsS "http://127.0.0.1:$port/metrics" |
    awk '/^scimd_credential_hash_checks_total\{kind="scim_token"\}/ {print $2}'
}
cpu0=$(cpu_ticks_of "$pid")
say "$rounds rounds: tenant alone for ${seconds}s, then under a ${flood_rate}/s flood for ${seconds}s"
load0=$(cut -d' ' -f1 /proc/loadavg)
drops0=$(awk '/^TcpExt:/ { if (!h) { split($0, n); h = 1 } else { for (i = 2; i <= NF; i++) if (n[i] == "ListenDrops") print $i } }' /proc/net/netstat)
timeout $(( rounds * (2 * seconds + 50) + 60 )) "$client" --server "127.0.0.1:$port" \
  --token "$token" --users "$work/users.txt" --rate "$rate" --flood-rate "$flood_rate" \
  --seconds "$seconds" --rounds "$rounds" >"$work/out.txt" \
  || die "the load client failed: $(cat "$work/out.txt")"
load1=$(cut -d' ' -f1 /proc/loadavg)
drops1=$(awk '/^TcpExt:/ { if (!h) { split($0, n); h = 1 } else { for (i = 2; i <= NF; i++) if (n[i] == "ListenDrops") print $i } }' /proc/net/netstat)
kill -0 "$pid" 2>/dev/null || die "scimd died"
cpu1=$(cpu_ticks_of "$pid")
argon=$(checks)

field() { sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" <<<"$1"; }
alone=$(grep '^phase=alone ' "$work/out.txt")
busy=$(grep '^phase=flood ' "$work/out.txt")
flood=$(grep '^flood ' "$work/out.txt")
a99=$(field "$alone" p99_ms)
b99=$(field "$busy" p99_ms)
ratio=$(awk -v a="$a99" -v b="$b99" 'BEGIN { printf "%.2f", b / a }')
errors=$(( $(field "$alone" errors) + $(field "$busy" errors) ))
echo "## scimd under a credential flood"
echo
echo "$(nproc) cores; scimd $(basename "$bin") with its defaults (20 failed sign-ins a minute"
echo "per address); $rounds rounds of ${seconds}s per phase, pooled in the rows alone and flood. Tenant: Entra's cycle (lookup, PATCH active, lookup,"
echo "POST /Users) at ${rate}/s from 127.0.0.1. Flood: ${flood_rate}/s bad tokens from 127.0.0.2,"
echo "a connection each."
echo
echo "| tenant | requests | p50 ms | p99 ms | max ms | errors |"
echo "|---|---:|---:|---:|---:|---:|"
while read -r line; do
  echo "| $(field "$line" phase) | $(field "$line" requests) | $(field "$line" p50_ms) | $(field "$line" p99_ms) | $(field "$line" max_ms) | $(field "$line" errors) |"
done < <(grep '^phase=' "$work/out.txt")
echo
echo "p99 under the flood / p99 alone: $ratio (target: at most 2, and no tenant error)"
echo "Flood: $(field "$flood" sent) sent ($(field "$flood" not_sent) not sent: too many in flight),"
echo "$(field "$flood" s401) answered 401, $(field "$flood" s429) answered 429, $(field "$flood" other) other,"
echo "$(field "$flood" failed) failed; $(field "$flood" rate) answered/s."
echo "Machine: load average $load0 before, $load1 after; $(( drops1 - drops0 )) SYNs to listening sockets dropped (the whole machine's)."
echo "scimd: $(awk -v c=$(( cpu1 - cpu0 )) -v t="$hz" 'BEGIN { printf "%.1f", c / t }') CPU seconds over the run; argon2 checks of SCIM tokens: $argon."
if awk -v r="$ratio" 'BEGIN { exit !(r <= 2) }' && [ "$errors" = 0 ]; then
  echo "Target met."
else
  echo "Target missed."
  exit 3
fi
