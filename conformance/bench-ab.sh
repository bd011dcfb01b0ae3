#!/usr/bin/env bash
# Two scimd binaries, OLD and NEW, measured in turns on one seeded database of 100,000
# users, with wrk at 16 connections: did any workload lose more than the run-to-run noise?
# For refactorings: the same workloads as bench-scim.sh, without its pgbench ceilings.
#
# Usage: conformance/bench-ab.sh OLD_BIN NEW_BIN [duration, default 10s]
#   Each wrk workload runs `duration` after a BENCH_WARMUP (default 3s, 0 to skip)
#   warm-up, 7 workloads per binary per round. A run takes about
#   14 × rounds × (duration + warm-up) + ~1 min (seeding, 2 × rounds server starts and
#   stops): ~10½ min at 10s, 3s and 3 rounds. Progress goes to stderr, the report to
#   stdout. Measure on an otherwise idle machine, with release builds: scimd, PostgreSQL
#   and wrk share its cores, and anything else running moves every figure. Passing the
#   same binary twice (an A/A run) shows how large the noise is.
# Needs: a PostgreSQL server at DATABASE_URL (default
#   postgres://postgres@127.0.0.1:5432/postgres; a user allowed to create databases), its
#   client tools (psql, pg_dump), wrk (apt-get install wrk), curl and python3.
# Settings: BENCH_PORT (18432), BENCH_WARMUP (3s), BENCH_ROUNDS (3; the noise estimate
#   needs at least 3), BENCH_KEEP=1 keeps the scratch database and the work folder (wrk
#   outputs, server logs, request files); BENCH_USERS (100000), BENCH_SPARE (1000),
#   BENCH_SMALL (10) and BENCH_DEPTH (9/10 of the users) size the seed, smaller for a
#   quick check of the script itself; SCIMD_* settings pass through to both servers
#   (e.g. SCIMD_POOL_SIZE, default 10).
#
# Both binaries run on ONE schema, the one NEW's migrations build: this is for changes
# without migrations. Before anything is measured, OLD migrates a second, empty scratch
# database and the two schemas (pg_dump --schema-only) and migration lists must be equal;
# then OLD's `migrate` runs on the measured database too and must exit 0 having applied
# nothing. When the schemas or the migration lists differ (NEW adds, drops or edits a
# migration in a way that shows in either), the script stops there (exit 1).
#
# What it does, on scratch databases dropped on exit:
#   1. NEW's `scimd migrate`, the schema check above, tenant `bench` (rate limit 100000/s,
#      burst 1000000) and a token, both made by NEW; seeds once by SQL (bench/seed.sql,
#      as bench-scim.sh: 100,000 users in group "Bench Everyone", 1,000 spare users, group
#      "Bench Small" of 10); VACUUM ANALYZE; checks a few seeded users through the API of
#      the first server started.
#   2. In each of BENCH_ROUNDS rounds, one server after the other, OLD then NEW in odd
#      rounds and NEW then OLD in even ones (so neither always runs first):
#      `scimd serve --no-bootstrap`, wait for /readyz, then (wrk -t2 -c16, scripts in
#      bench/, the database idle before each):
#        lookup        GET /Users?filter=userName eq "<random seeded user>"
#        get           GET /Users/<random seeded id>
#        create        POST /Users, a new userName every request, Entra's body; then the
#                      run's users (and their events) deleted and VACUUM ANALYZE users,
#                      events, group_members, so every later run sees the same rows
#                      whatever the create rate was
#        patch_big     PATCH /Groups/<id>, remove one member + add one, return=minimal,
#                      on the 100,000-member group (reset before the run)
#        patch_small   the same on the 10-member group
#        deep          GET /Users?startIndex=90000&count=100   (latency)
#        cursor_first  GET /Users?count=100&cursor=            (latency)
#      and the server's peak RSS (VmHWM); then SIGTERM, and wait for it to exit.
#   3. Prints, per workload: the median over the rounds of OLD and of NEW (req/s; p50 for
#      the latency rows deep and cursor_first), NEW/OLD, each binary's own spread over its
#      rounds, (max - min) / median, and a verdict: "within noise" when NEW is not worse
#      than OLD by more than the larger of the two spreads, else SLOWER. Then every run's
#      figures: req/s, p50, p99, requests, non-2xx/socket errors, CPU per request of scimd
#      and of the local postgres processes (/proc), and peak RSS per binary. A run with
#      any response >= 400 or socket error is marked invalid, and so is its workload's
#      verdict (errors answered fast inflate throughput). Exit 0 whatever the figures (a
#      measurement, not a test); 1 only when the run itself failed.
set -euo pipefail
case $# in 2 | 3) ;; *) echo "usage: $0 OLD_BIN NEW_BIN [duration, default 10s]" >&2; exit 1 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
export BENCH_LUA_DIR="$here/bench"
# shellcheck source=bench/lib.sh
. "$BENCH_LUA_DIR/lib.sh"
# The binaries as given, relative to the caller's directory.
declare -A BIN
BIN[old]=$(abs_bin "$1") || die "no executable scimd binary at $1 (OLD)"
BIN[new]=$(abs_bin "$2") || die "no executable scimd binary at $2 (NEW)"
cd "$here/.."
duration="${3:-10s}"
warmup="${BENCH_WARMUP:-3s}"
port="${BENCH_PORT:-18432}"
base="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
server="${base%/*}"
db="scimd_ab_$$"
probe_db="scimd_ab_probe_$$"
url="$server/$db"
seeded_settings
workloads=(lookup get create patch_big patch_small deep cursor_first)
need wrk psql pg_dump curl python3
[ "$rounds" -ge 3 ] || say "warning: with $rounds round(s) the spread (the noise) is barely estimated; use 3 or more"
t_start=$(date +%s)

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-ab.XXXXXX")
pid=""
temp_dbs=("$probe_db")
scratch_dbs=("$db")

export SCIMD_LOG="${SCIMD_LOG:-warn}"
# run_bin old|new ARGS…: the binary on the measured database.
run_bin() { local b=$1; shift; DATABASE_URL="$url" "${BIN[$b]}" "$@"; }

# ---- 1. one database, one schema -----------------------------------------------------
for b in old new; do say "$b: ${BIN[$b]} (sha256 $(sha256sum "${BIN[$b]}" | cut -c1-12))"; done
if cmp -s "${BIN[old]}" "${BIN[new]}"; then say "OLD and NEW are the same file: an A/A run, a measure of the noise alone"; fi
say "scratch database $db, migrated by NEW"
run_bin new migrate 2>"$work/migrate-new.log" || { cat "$work/migrate-new.log" >&2; die "NEW's migrate failed"; }
# The schema as a binary's migrations build it: pg_dump's DDL without its comments and
# psql meta-commands (which name nothing of the schema), and the applied migration versions.
schema_of() { # database url
  pg_dump --schema-only --no-owner --no-privileges "$1" | grep -v -e '^--' -e '^[\\]' -e '^$'
  psql -X -At "$1" -c "SELECT 'migration ' || version FROM __diesel_schema_migrations ORDER BY version"
}
say "checking that OLD's migrations build the same schema (on $probe_db)"
DATABASE_URL="$server/$probe_db" "${BIN[old]}" migrate 2>"$work/migrate-old-probe.log" \
  || { cat "$work/migrate-old-probe.log" >&2; die "OLD's migrate failed on an empty database"; }
schema_of "$url" >"$work/schema-new.sql"
schema_of "$server/$probe_db" >"$work/schema-old.sql"
if ! diff -u "$work/schema-old.sql" "$work/schema-new.sql" >"$work/schema.diff"; then
  head -n 40 "$work/schema.diff" >&2
  die "OLD's and NEW's migrations build different schemas (diff above, - OLD + NEW): this script compares binaries that share one schema; benchmark each with bench-scim.sh instead"
fi
psql -q "$server/postgres" -c "DROP DATABASE IF EXISTS $probe_db WITH (FORCE)" >/dev/null
# OLD serves this database: its own migrate must accept it and find nothing to do.
run_bin old migrate 2>"$work/migrate-old.log" || { cat "$work/migrate-old.log" >&2; die "OLD's migrate fails on NEW's schema"; }
schema_of "$url" | cmp -s - "$work/schema-new.sql" \
  || { cat "$work/migrate-old.log" >&2; die "OLD's migrate changed NEW's schema"; }

bench_tenant "${BIN[new]}"

seed_tenant

# ---- 2. servers and workloads ---------------------------------------------------------
verified=""
session() { # old|new, round: one server, every workload; a run's figures in R[b.workload.round.key]
  local b=$1 r=$2
  say "round $r: starting $b"
  start_server "${BIN[$b]}" "$work/server-$b-r$r.log"
  if [ -z "$verified" ]; then verify_seed; verified=1; fi
  run_wrk "$b.lookup.$r" "/scim/v2/Users" paths.lua "$work/lookup.paths"
  run_wrk "$b.get.$r" "/scim/v2/Users" paths.lua "$work/get.paths"
  run_wrk "$b.create.$r" "/scim/v2/Users" create.lua "ab$$-$b-r$r-@PHASE@"
  after_create "ab$$-$b-r$r-"
  patch_run "$b.patch_big.$r" "$big_id" big $users return=minimal
  patch_run "$b.patch_small.$r" "$small_id" small $small return=minimal
  run_wrk "$b.deep.$r" "/scim/v2/Users?startIndex=$depth&count=100" static.lua
  run_wrk "$b.cursor_first.$r" "/scim/v2/Users?count=100&cursor=" static.lua
  wait_idle
  stop_server "$b"
}

declare -A ORDER
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) = 1 ]; then ORDER[$r]="old new"; else ORDER[$r]="new old"; fi
  for b in ${ORDER[$r]}; do session "$b" "$r"; done
done
say "measured in $(( $(date +%s) - t_start ))s"

# ---- 3. report -------------------------------------------------------------------------
# values old|new WORKLOAD KEY: the key of every round's run.
values() { local r out=""; for r in $(seq 1 "$rounds"); do out+="${R[$1.$2.$r.$3]} "; done; echo "$out"; }
errs_all() { # workload: non-2xx/socket errors summed over both binaries' runs
  local b r n=0 k=0
  for b in old new; do for r in $(seq 1 "$rounds"); do
    n=$(( n + ${R[$b.$1.$r.non2xx]:-0} )); k=$(( k + ${R[$b.$1.$r.socket_errors]:-0} ))
  done; done
  echo "$n/$k"
}
# verdict WORKLOAD KEY higher|lower (which way is better)
verdict() {
  local w=$1 key=$2 better=$3 b r
  for b in old new; do for r in $(seq 1 "$rounds"); do
    invalid_run "$b.$w.$r" && { echo "INVALID (errors)"; return; }
  done; done
  noise_verdict "$(values old "$w" "$key")" "$(values new "$w" "$key")" "$better"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }

echo
echo "scimd A/B benchmark: $(nproc) cores, $(psql -X -At "$server/postgres" -c 'SHOW server_version'),"
echo "  wrk -t$threads -c$conns, ${duration} per workload after ${warmup} warm-up, $rounds rounds (OLD first in odd rounds,"
echo "  NEW first in even ones), SCIMD_POOL_SIZE=${SCIMD_POOL_SIZE:-10 (default)}; tenant: $users users in one group,"
echo "  $spare spare users, a group of $small."
echo "  OLD: $(basename "${BIN[old]}") sha256 $(sha256sum "${BIN[old]}" | cut -c1-12)    NEW: $(basename "${BIN[new]}") sha256 $(sha256sum "${BIN[new]}" | cut -c1-12)"
echo
echo "medians over the rounds; spread = (max - min) / median of a binary's own rounds; \"within noise\" when"
echo "NEW is not worse than OLD by more than the larger spread (req/s: lower is worse; p50: higher is worse):"
row() { printf '  %-13s %-9s %11s %11s %8s %9s %9s  %-16s %11s %13s\n' "$@"; }
row workload figure OLD NEW NEW/OLD "OLD spr." "NEW spr." verdict non2xx/sock "scimd ms/req"
row -------- ------ --- --- ------- -------- -------- ------- ----------- ------------
for w in "${workloads[@]}"; do
  case $w in deep | cursor_first) key=p50_ms fig="p50 ms" better=lower ;; *) key=rps fig="req/s" better=higher ;; esac
  om=$(values old "$w" "$key" | median); nm=$(values new "$w" "$key" | median)
  row "$w" "$fig" "$(f2 "$om")" "$(f2 "$nm")" "$(ratio "$nm" "$om")" \
    "$(pct "$(values old "$w" "$key" | spread)")" "$(pct "$(values new "$w" "$key" | spread)")" \
    "$(verdict "$w" "$key" "$better")" "$(errs_all "$w")" \
    "$(f2 "$(values old "$w" scimd_cpu | median)")/$(f2 "$(values new "$w" scimd_cpu | median)")"
done
echo "  (scimd ms/req: median CPU per request of the scimd process, OLD/NEW)"
echo
echo "every run (CPU per request: the scimd process, and all local postgres processes):"
run_header 13 workload
for r in $(seq 1 "$rounds"); do
  for b in ${ORDER[$r]}; do
    for w in "${workloads[@]}"; do run_row "$r" "$b" "$w" 13; done
  done
done
echo
server_problems old new
say "done in $(( $(date +%s) - t_start ))s"
exit 0
