#!/usr/bin/env bash
# Soak: many tenants with mixed Entra-like traffic, minute after minute, then an audit that
# every acknowledged write is in the database.
#
# Usage: conformance/soak.sh [SCIMD_BINARY]   (default target/release/scimd; build it with
#   `cargo build --release --bin scimd`). Progress goes to stderr, the report to stdout.
#   Measure on an otherwise idle machine: scimd, PostgreSQL and wrk share its cores.
# Needs: a PostgreSQL server at DATABASE_URL (default
#   postgres://postgres@127.0.0.1:5432/postgres; a user allowed to create databases), psql,
#   wrk (apt-get install wrk) and curl.
# Settings: SOAK_MINUTES (10), SOAK_TENANTS (200, at most 999), SOAK_CONNS (32: wrk's
#   connections, 2 threads; each connection sends its next request when the last is
#   answered, so the rate is the highest the machine sustains at that concurrency), the
#   tenants' sizes: SOAK_BIG_TENANTS (4) of SOAK_BIG_SIZE (10000) users, SOAK_MID_TENANTS (16)
#   of SOAK_MID_SIZE (2000), the rest of SOAK_SMALL_SIZE (200); BENCH_PORT (18440);
#   BENCH_KEEP=1 keeps the scratch database and the work folder (wrk outputs, the server's
#   log, the acknowledged creates). SCIMD_* settings pass through to the server.
#
# What it does:
#   1. A fresh database, migrated; tenants soak001 … made by scimd's command line, each with
#      its rate limit raised out of the way (the server is measured, not the limit) and a
#      SCIM token. bench/soak-seed.sql gives each tenant its users and two groups:
#      "Everyone" (every user: up to SOAK_BIG_SIZE members) and "Team" (a tenth).
#   2. scimd serves it; wrk sends bench/soak.lua's traffic (lookups, active PATCHes,
#      creates, member PATCHes; a random tenant each request, as Entra sends each) for
#      SOAK_MINUTES runs of one minute. Per minute: requests/s, p50 and p99, 5xx and 4xx
#      answers, socket errors, and scimd's resident memory (VmRSS) after it.
#   3. The audit (bench/soak-audit.sql): every create answered 201 is a user with its
#      user.created event; each user's version moved once per request that recorded its
#      events; each group's membership agrees with its member events.
# Exit: 0 when every minute had no 5xx and no socket error and the audit found nothing; 2
# when one of those checks failed; 1 when the run itself failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
export BENCH_LUA_DIR=$here/bench
# shellcheck source=bench/lib.sh
. "$BENCH_LUA_DIR/lib.sh"

minutes=${SOAK_MINUTES:-10}
ntenants=${SOAK_TENANTS:-200}
big=${SOAK_BIG_TENANTS:-4}
big_size=${SOAK_BIG_SIZE:-10000}
mid=${SOAK_MID_TENANTS:-16}
mid_size=${SOAK_MID_SIZE:-2000}
small_size=${SOAK_SMALL_SIZE:-200}
conns=${SOAK_CONNS:-32}
threads=2
port=${BENCH_PORT:-18440}
for v in minutes ntenants big big_size mid mid_size small_size conns; do
  case ${!v} in '' | *[!0-9]*) die "$v must be a whole number" ;; esac
done
[ "$ntenants" -ge 1 ] && [ "$ntenants" -le 999 ] || die "SOAK_TENANTS must be 1 to 999"
[ "$minutes" -ge 1 ] || die "SOAK_MINUTES must be at least 1"
need wrk psql curl
bin=$(abs_bin "${1:-$root/target/release/scimd}") || die "no scimd binary at ${1:-$root/target/release/scimd}"

server_url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
server=${server_url%/*}
db=scimd_soak_$$
url=$server/$db
work=$(mktemp -d)
scratch_dbs+=("$db")
mkdir -p "$work/acked" "$work/tokens"

say "a fresh database, $ntenants tenants with their tokens"
DATABASE_URL=$url "$bin" migrate 2>/dev/null
export url bin work
seq -f 'soak%03g' 1 "$ntenants" | xargs -P 4 -I{} sh -c '
  DATABASE_URL=$url "$bin" tenant create {} >/dev/null &&
  DATABASE_URL=$url "$bin" tenant set {} --rate-per-second 100000 --rate-burst 1000000 >/dev/null &&
  DATABASE_URL=$url "$bin" token issue --tenant {} --label soak >"$work/tokens/{}"' \
  || die "making the tenants failed"

say "seeding: $big tenants of $big_size users, $mid of $mid_size, the rest of $small_size"
t0=$SECONDS
psql -X -q -v ON_ERROR_STOP=1 -v big="$big" -v big_size="$big_size" -v mid="$mid" \
  -v mid_size="$mid_size" -v small_size="$small_size" -f "$BENCH_LUA_DIR/soak-seed.sql" "$url" >/dev/null
say "seeded in $(( SECONDS - t0 ))s: $(sql -c "SELECT count(*) FROM users") users, \
$(sql -c "SELECT count(*) FROM group_members") memberships, largest group \
$(sql -c "SELECT max(members) FROM soak_seeded_groups")"
sql -c "SELECT t.slug, e.id, m.id FROM tenants t
        JOIN groups e ON e.tenant_id = t.id AND e.display_name = 'Everyone'
        JOIN groups m ON m.tenant_id = t.id AND m.display_name = 'Team'
        WHERE t.slug LIKE 'soak%' ORDER BY t.slug" -F ' ' |
  while read -r slug everyone team; do
    echo "$slug $(cat "$work/tokens/$slug") $everyone $team"
  done >"$work/tenants"
[ "$(wc -l <"$work/tenants")" = "$ntenants" ] || die "expected $ntenants tenants with two groups each"
sql -F ' ' -c "SELECT t.slug, u.id, u.user_name FROM users u JOIN tenants t ON t.id = u.tenant_id
               WHERE t.slug LIKE 'soak%'" >"$work/users"

auth="Authorization: Bearer $(cat "$work/tokens/soak001")"
start_server "$bin" "$work/server.log"

declare -a rows
total_req=0 total_5xx=0 total_sock=0
for m in $(seq 1 "$minutes"); do
  out=$work/minute-$m.wrk
  wrk -t"$threads" -c"$conns" -d60s --timeout 10s --latency -s "$BENCH_LUA_DIR/soak.lua" \
    "http://127.0.0.1:$port" -- "$work/tenants" "$work/users" "$work/acked" "$m" >"$out" 2>&1 \
    || { cat "$out" >&2; die "wrk failed in minute $m"; }
  kill -0 "$pid" 2>/dev/null || die "scimd died in minute $m"
  unset B S
  declare -A B S
  for kv in $(grep '^BENCH ' "$out" | tail -n 1); do case $kv in *=*) B[${kv%%=*}]=${kv#*=} ;; esac; done
  for kv in $(grep '^SOAK ' "$out" | tail -n 1); do case $kv in *=*) S[${kv%%=*}]=${kv#*=} ;; esac; done
  [ -n "${B[requests]:-}" ] && [ -n "${S[status5xx]:-}" ] || { cat "$out" >&2; die "no figures for minute $m"; }
  grep '^BENCH_ERROR' "$out" | sed "s/^/  minute $m: /" >&2 || true
  rss=$(awk '/^VmRSS:/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status")
  R[rss.$m]=$rss
  rows+=("$(printf '  %6s %9s %9s %9s %9s %7s %7s %7s %9s' "$m" "${B[rps]}" "${B[p50_ms]}" "${B[p99_ms]}" \
    "${B[requests]}" "${S[status5xx]}" "${S[status4xx]}" "${B[socket_errors]}" "$rss")")
  say "minute $m: ${B[rps]} req/s, p50 ${B[p50_ms]} ms, p99 ${B[p99_ms]} ms, 5xx ${S[status5xx]}, \
4xx ${S[status4xx]}, socket errors ${B[socket_errors]}, RSS $rss MiB"
  total_req=$(( total_req + B[requests] ))
  total_5xx=$(( total_5xx + S[status5xx] ))
  total_sock=$(( total_sock + B[socket_errors] ))
done
wait_idle

say "audit"
cat "$work"/acked/acked-* 2>/dev/null >"$work/acked.all" || true
sql -c "CREATE TABLE soak_acked (slug text, user_name text)"
sql -c "\\copy soak_acked FROM '$work/acked.all' WITH (FORMAT text, DELIMITER ' ')"
acked=$(sql -c "SELECT count(*) FROM soak_acked")
audit=$(psql -X -q -v ON_ERROR_STOP=1 -f "$BENCH_LUA_DIR/soak-audit.sql" "$url")
stop_server soak
warns=$(grep -ciE '\b(ERROR|WARN)\b' "$work/server.log" || true)

echo "# soak: $ntenants tenants, $minutes minutes, wrk -t$threads -c$conns, $(nproc) cores"
echo
printf '  %6s %9s %9s %9s %9s %7s %7s %7s %9s\n' minute "req/s" "p50 ms" "p99 ms" requests 5xx 4xx sock "RSS MiB"
printf '%s\n' "${rows[@]}"
echo
echo "requests: $total_req; 5xx: $total_5xx; socket errors: $total_sock"
mid_minute=$(( minutes >= 5 ? 5 : minutes ))
echo "RSS (MiB) after minute 1: ${R[rss.1]}, minute $mid_minute: ${R[rss.$mid_minute]}, minute $minutes: ${R[rss.$minutes]}; peak (VmHWM) $(awk -v k="${R[soak.rss_kb]}" 'BEGIN { printf "%.0f", k / 1024 }')"
echo "server log: $warns WARN/ERROR lines"
echo "creates acknowledged (201): $acked"
echo "audit (each must be 0):"
sed 's/^/  /' <<<"$audit"
failed=0
[ "$total_5xx" = 0 ] && [ "$total_sock" = 0 ] || failed=1
grep -qv '=0$' <<<"$audit" && failed=1
if [ "$failed" = 0 ]; then echo "verdict: no 5xx, no socket error, nothing acknowledged missing"; else echo "verdict: FAILED"; exit 2; fi
