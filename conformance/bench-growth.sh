#!/usr/bin/env bash
# POST /Users as Entra ID sends them, on a tenant growing from 0 to 100,000 users through
# the server, on a fresh database whose tables are never vacuumed nor analyzed: does the
# create rate hold whatever statistics PostgreSQL has (none, here)? And an initial load of
# 10,000 users on another fresh database, with autovacuum as the server has it.
#
# Usage: conformance/bench-growth.sh BINARY
#   A run takes the creates' own time (100,000 + 10,000 users at the server's create rate:
#   about a minute at 3,000 users/s, six at 300; a binary whose creates slow down as the
#   table grows, 150 users/s at the end, takes a quarter of an hour) plus a few seconds. Progress goes to
#   stderr, the report to stdout. Measure on an otherwise idle machine, with a release
#   build.
# Needs: a PostgreSQL server at DATABASE_URL (default
#   postgres://postgres@127.0.0.1:5432/postgres; a user allowed to create databases), its
#   client psql, wrk (built with LuaJIT, as Debian's is) and curl.
# Settings: BENCH_PORT (18435), BENCH_GROWTH_USERS (100000), BENCH_BAND (10000),
#   BENCH_INITIAL (10000: the initial load; 0 skips it), BENCH_BAND_LIMIT (1800s: wrk's -d,
#   the longest a band may take), BENCH_KEEP=1 keeps the scratch databases and the work
#   folder; SCIMD_* settings pass through to the server.
#
# What it does:
#   1. Growth. A scratch database: `scimd migrate`, then every table of the schema gets
#      ALTER TABLE … SET (autovacuum_enabled = off, toast.autovacuum_enabled = off), so
#      nothing analyzes them whatever the server's autovacuum setting; nothing here runs
#      ANALYZE or VACUUM. Tenant `bench` (rate limit 100000/s) and a token, `scimd serve`.
#      Then band after band of BENCH_BAND users (wrk -t1 -c16, bench/growth.lua: Entra's
#      create body, a new userName each, stopping at the band's last create), up to
#      BENCH_GROWTH_USERS; per band the create rate, p50/p99, CPU per create of scimd and
#      of the local postgres processes (/proc), and the users counted afterwards. At the
#      end, how often PostgreSQL vacuumed or analyzed `users` (pg_stat_user_tables; must
#      be 0) and its reltuples (-1: never analyzed).
#   2. Initial load. Another scratch database, its tables as `scimd migrate` makes them
#      (autovacuum as the server has it: SHOW autovacuum is printed), a new server; one run
#      of BENCH_INITIAL creates; the time it takes, its rate, and whether autovacuum
#      analyzed `users` meanwhile.
#   3. Report: every band, and the rate of the last band over the first (issue 19's target:
#      >= 0.8). A band with an answer other than 201, or a socket error, is marked invalid.
#      Exit 0 whatever the figures; 1 only when the run itself failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export BENCH_LUA_DIR="$here/bench"
# shellcheck source=bench/lib.sh
. "$BENCH_LUA_DIR/lib.sh"
[ $# = 1 ] || die "usage: $0 BINARY"
bin=$(abs_bin "$1") || die "no executable scimd binary at $1"
cd "$here/.."
port="${BENCH_PORT:-18435}"
base="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
server="${base%/*}"
growth_db="scimd_growth_$$"
initial_db="scimd_initial_$$"
total="${BENCH_GROWTH_USERS:-100000}"
band="${BENCH_BAND:-10000}"
initial="${BENCH_INITIAL:-10000}"
limit="${BENCH_BAND_LIMIT:-1800s}"
conns=16
for v in total band initial; do
  case ${!v} in '' | *[!0-9]*) die "the sizes must be whole numbers ($v: ${!v})" ;; esac
done
[ "$band" -gt 0 ] && [ "$total" -ge "$band" ] && [ $(( total % band )) = 0 ] \
  || die "BENCH_GROWTH_USERS ($total) must be a whole number of bands of BENCH_BAND ($band)"
need wrk psql curl
t_start=$(date +%s)

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-growth.XXXXXX")
pid=""
scratch_dbs=("$growth_db" "$initial_db")
export SCIMD_LOG="${SCIMD_LOG:-warn}"

# fresh DATABASE: migrated, tenant `bench` and its token in $auth, as `url`.
fresh() {
  url="$server/$1"
  DATABASE_URL="$url" "$bin" migrate 2>"$work/migrate-$1.log" || { cat "$work/migrate-$1.log" >&2; die "migrate failed"; }
  bench_tenant "$bin"
}
# Vacuums and analyzes of a table so far, manual and automatic: "vacuums analyzes".
maintenance() {
  sql -c "SELECT vacuum_count + autovacuum_count || ' ' || analyze_count + autoanalyze_count
          FROM pg_stat_user_tables WHERE relname = '$1'"
}
# creates NAME COUNT: COUNT users created through the server (bench/growth.lua); the
# figures in R[NAME.*] (BENCH and BENCH_GROWTH lines, CPU per create).
creates() {
  local name=$1 count=$2 out="$work/$1.wrk" line kv c0 p0
  wait_idle
  c0=$(cpu_ticks_of "$pid")
  p0=$(cpu_ticks_postgres)
  wrk -t1 -c"$conns" -d"$limit" --timeout 30s --latency -H "$auth" -s "$BENCH_LUA_DIR/growth.lua" \
    "http://127.0.0.1:$port/scim/v2/Users" -- "g$$-$name" "$count" >"$out" 2>&1 \
    || { cat "$out" >&2; die "wrk failed for $name"; }
  for line in "$(grep '^BENCH ' "$out" | tail -n 1)" "$(grep '^BENCH_GROWTH ' "$out" | tail -n 1)"; do
    [ -n "$line" ] || { cat "$out" >&2; die "no BENCH lines for $name"; }
    for kv in $line; do
      case $kv in *=*) R["$name.${kv%%=*}"]=${kv#*=} ;; esac
    done
  done
  grep '^BENCH_ERROR' "$out" | sed "s/^/  $name: /" >&2 || true
  R["$name.scimd_cpu"]=$(per_request $(( $(cpu_ticks_of "$pid") - c0 )) "${R[$name.created]}")
  R["$name.pg_cpu"]=$(per_request $(( $(cpu_ticks_postgres) - p0 )) "${R[$name.created]}")
  say "$name: ${R[$name.created]} created in ${R[$name.seconds]}s, ${R[$name.rate]} users/s, \
p50 ${R[$name.p50_ms]} ms, p99 ${R[$name.p99_ms]} ms, failed ${R[$name.failed]}, socket errors ${R[$name.socket_errors]}"
}
bad_band() { [ "${R[$1.failed]}" != 0 ] || [ "${R[$1.socket_errors]}" != 0 ] || [ "${R[$1.rate]}" = 0.0 ]; }

# ---- 1. growth ------------------------------------------------------------------------------
say "scimd $bin (sha256 $(sha256sum "$bin" | cut -c1-12))"
say "growth: scratch database $growth_db, autovacuum off for each table, never analyzed"
fresh "$growth_db"
tables=$(sql -c "SELECT string_agg(quote_ident(tablename), ' ') FROM pg_tables WHERE schemaname = 'public'")
for t in $tables; do
  sql -c "ALTER TABLE $t SET (autovacuum_enabled = off, toast.autovacuum_enabled = off)"
done
before=$(maintenance users)
start_server "$bin" "$work/server-growth.log"
bands=$(( total / band ))
for i in $(seq 1 "$bands"); do
  creates "band$i" "$band"
  R[band$i.count]=$(sql -c "SELECT count(*) FROM users")
  [ "${R[band$i.count]}" = $(( i * band )) ] \
    || say "warning: $(( i * band )) users expected after band $i, the table has ${R[band$i.count]}"
done
wait_idle
after=$(maintenance users)
reltuples=$(sql -c "SELECT reltuples::bigint FROM pg_class WHERE relname = 'users'")
stop_server growth
autovacuum=$(sql -c "SHOW autovacuum")

# ---- 2. initial load ----------------------------------------------------------------------
if [ "$initial" -gt 0 ]; then
  say "initial load: scratch database $initial_db, tables as migrated (server autovacuum: $autovacuum)"
  fresh "$initial_db"
  start_server "$bin" "$work/server-initial.log"
  creates initial "$initial"
  wait_idle
  initial_after=$(maintenance users)
  stop_server initial
fi
say "done in $(( $(date +%s) - t_start ))s"

# ---- 3. report --------------------------------------------------------------------------------
echo
echo "scimd creates as Entra ID sends them, on a tenant growing from 0 to $total users: $(nproc) cores,"
echo "  $(psql -X -At "$server/postgres" -c 'SHOW server_version'), wrk -t1 -c$conns, POST /Users with Entra's body, a new userName each,"
echo "  SCIMD_POOL_SIZE=${SCIMD_POOL_SIZE:-10 (default)}; scimd $(basename "$bin") sha256 $(sha256sum "$bin" | cut -c1-12)."
echo "  Every table autovacuum_enabled = off (server autovacuum: $autovacuum); no ANALYZE, no VACUUM."
echo
printf '  %-19s %8s %9s %9s %8s %8s %10s %9s %9s  %s\n' band created seconds "users/s" "p50 ms" "p99 ms" \
  "scimd CPU" "pg CPU" "users" ""
for i in $(seq 1 "$bands"); do
  n="band$i" note=""
  bad_band "$n" && note="INVALID (failed ${R[$n.failed]}, socket errors ${R[$n.socket_errors]}, rate ${R[$n.rate]})"
  printf '  %-19s %8s %9s %9s %8s %8s %7s ms %6s ms %9s  %s\n' "$(( (i - 1) * band ))-$(( i * band ))" \
    "${R[$n.created]}" "${R[$n.seconds]}" "${R[$n.rate]}" "${R[$n.p50_ms]}" "${R[$n.p99_ms]}" \
    "${R[$n.scimd_cpu]}" "${R[$n.pg_cpu]}" "${R[$n.count]}" "$note"
done
ratio=$(div "${R[band$bands.rate]}" "${R[band1.rate]}")
if bad_band band1 || bad_band "band$bands"; then verdict=INVALID
elif meets "$ratio" ">=" 0.8; then verdict=met; else verdict=MISSED; fi
echo
echo "  last band / first band: $(shown "$ratio") (target >= 0.8): $verdict"
read -r v0 a0 <<<"$before"
read -r v1 a1 <<<"$after"
echo "  users: vacuumed $(( v1 - v0 )) times and analyzed $(( a1 - a0 )) times during the growth (must be 0);"
echo "  reltuples $reltuples (-1: never analyzed)"
if [ "$initial" -gt 0 ]; then
  read -r v2 a2 <<<"$initial_after"
  note=""
  bad_band initial && note=" INVALID (failed ${R[initial.failed]}, socket errors ${R[initial.socket_errors]})"
  echo
  echo "  initial load of $initial users on a fresh database (server autovacuum: $autovacuum): ${R[initial.seconds]} s,"
  echo "  ${R[initial.rate]} users/s, p50 ${R[initial.p50_ms]} ms, p99 ${R[initial.p99_ms]} ms, CPU per create scimd ${R[initial.scimd_cpu]} ms,"
  echo "  postgres ${R[initial.pg_cpu]} ms; users analyzed $a2 times, vacuumed $v2 times meanwhile$note"
fi
exit 0
