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
#   outputs, server logs, request files); SCIMD_* settings pass through to both servers
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
# The binaries as given, relative to the caller's directory.
abs() { [ -f "$1" ] && echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
declare -A BIN
BIN[old]=$(abs "$1") || { echo "no scimd binary at $1 (OLD)" >&2; exit 1; }
BIN[new]=$(abs "$2") || { echo "no scimd binary at $2 (NEW)" >&2; exit 1; }
cd "$(dirname "$0")/.."
repo=$PWD
duration="${3:-10s}"
warmup="${BENCH_WARMUP:-3s}"
port="${BENCH_PORT:-18432}"
base="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
server="${base%/*}"
db="scimd_ab_$$"
probe_db="scimd_ab_probe_$$"
url="$server/$db"
users=100000
spare=1000
small=10
depth=90000
conns=16
threads=2
rounds="${BENCH_ROUNDS:-3}"
case $rounds in '' | *[!0-9]* | 0) echo "BENCH_ROUNDS must be a whole number >= 1" >&2; exit 1 ;; esac
export BENCH_LUA_DIR="$repo/conformance/bench"
workloads=(lookup get create patch_big patch_small deep cursor_first)

say() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { say "error: $*"; exit 1; }
for tool in wrk psql pg_dump curl python3; do
  command -v "$tool" >/dev/null || die "$tool is needed (wrk: apt-get install wrk; psql, pg_dump: postgresql-client)"
done
for b in old new; do [ -x "${BIN[$b]}" ] || die "no executable scimd binary at ${BIN[$b]} ($b)"; done
[ "$rounds" -ge 3 ] || say "warning: with $rounds round(s) the spread (the noise) is barely estimated; use 3 or more"
t_start=$(date +%s)

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-ab.XXXXXX")
pid=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; fi
  psql -q "$server/postgres" -c "DROP DATABASE IF EXISTS $probe_db WITH (FORCE)" >/dev/null 2>&1 || true
  if [ "${BENCH_KEEP:-}" = 1 ]; then
    say "kept $work and the database $url"
  else
    psql -q "$server/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sql() { psql -X -q -At -v ON_ERROR_STOP=1 "$url" "$@"; }
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

run_bin new tenant create bench >/dev/null
# Measuring the servers, not the tenant's rate limit (default 100/s).
run_bin new tenant set bench --rate-per-second 100000 --rate-burst 1000000 >/dev/null
token=$(run_bin new token issue --tenant bench --label bench)
auth="Authorization: Bearer $token"
scim="http://127.0.0.1:$port/scim/v2"

say "seeding $users users in one group, $spare spare users, a group of $small"
t0=$(date +%s)
psql -X -q -v ON_ERROR_STOP=1 -v tenant=bench -v users=$users -v spare=$spare -v small=$small \
  -f "$BENCH_LUA_DIR/seed.sql" "$url" >/dev/null
sql -c "VACUUM ANALYZE" >/dev/null
say "seeded in $(( $(date +%s) - t0 ))s: $(sql -c "SELECT count(*) FROM users") users, \
$(sql -c "SELECT string_agg(g.display_name || ' ' || (SELECT count(*) FROM group_members m WHERE m.group_id = g.id), ', ') FROM groups g") members"
big_id=$(sql -c "SELECT id FROM groups WHERE display_name = 'Bench Everyone'")
small_id=$(sql -c "SELECT id FROM groups WHERE display_name = 'Bench Small'")

# Request files for the wrk scripts, as bench-scim.sh writes them.
sql -c "SELECT '/scim/v2/Users?filter=userName%20eq%20%22' || replace(user_name, '@', '%40') || '%22'
        FROM users WHERE user_name LIKE 'user%'" >"$work/lookup.paths"
sql -c "SELECT '/scim/v2/Users/' || id FROM users WHERE user_name LIKE 'user%'" >"$work/get.paths"
sql -c "SELECT a || ' ' || b FROM bench_patch_pairs WHERE group_name = 'big' ORDER BY slot" >"$work/big.pairs"
sql -c "SELECT a || ' ' || b FROM bench_patch_pairs WHERE group_name = 'small' ORDER BY slot" >"$work/small.pairs"
sql -c "SELECT id || ' ' || user_name FROM users WHERE user_name LIKE 'user%' ORDER BY random() LIMIT 5" >"$work/samples"

# ---- 2. servers and workloads ---------------------------------------------------------
declare -A R
hz=$(getconf CLK_TCK)
cpu_ticks_of() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
# Every local process named postgres (0 when the server runs elsewhere).
cpu_ticks_postgres() {
  # (processes end between the glob and cat: cat fails then, which is fine)
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk '$2 == "(postgres)" { s += $14 + $15 } END { print s + 0 }'
}
per_request() { awk -v t="$1" -v n="$2" -v hz="$hz" 'BEGIN { printf "%.2f", (n > 0 ? t * 1000 / hz / n : 0) }'; }
# wrk stops counting at the deadline, but scimd still finishes the requests then in
# flight: wait until no query of the scratch database is running.
wait_idle() {
  local _
  for _ in $(seq 1 100); do
    [ "$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                   AND backend_type = 'client backend' AND state <> 'idle'
                   AND pid <> pg_backend_pid()")" = 0 ] && return
    sleep 0.1
  done
  say "warning: scimd's queries still running 10s after wrk stopped"
}

# start_server old|new ROUND: scimd serve in the background, its pid in $pid.
start_server() {
  local b=$1 r=$2 log="$work/server-$1-r$2.log" _
  if curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null; then
    die "something already answers on port $port (set BENCH_PORT)"
  fi
  say "round $r: starting $b"
  DATABASE_URL="$url" "${BIN[$b]}" serve --bind "127.0.0.1:$port" --no-bootstrap >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 150); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; pid=""; die "$b exited at start"; }
    sleep 0.2
  done
  curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" || die "$b not ready on port $port after 30s"
  curl -fsS -o /dev/null -H "$auth" "$scim/ServiceProviderConfig" || die "$b refuses the token"
}
# stop_server old|new: peak RSS into R[b.rss_kb] (max over its servers), SIGTERM, wait.
stop_server() {
  local b=$1 hwm status=0 _
  kill -0 "$pid" 2>/dev/null || die "$b died during the run"
  hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
  if [ "$hwm" -gt "${R[$b.rss_kb]:-0}" ]; then R[$b.rss_kb]=$hwm; fi
  kill -TERM "$pid"
  for _ in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    die "$b still running 60s after SIGTERM"
  fi
  wait "$pid" || status=$?
  pid=""
  [ "$status" = 0 ] || say "warning: $b exited with status $status after SIGTERM"
}

# run_wrk old|new ROUND WORKLOAD PATH SCRIPT [script args…]: a warm-up, then the measured
# run; its BENCH line goes into R[b.workload.round.key].
run_wrk() {
  local b=$1 r=$2 w=$3 path=$4 script=$5
  shift 5
  local name="$b.$w.$r" out="$work/$b-$w-r$r.wrk" line kv
  if [ "$warmup" != 0 ] && [ "$warmup" != 0s ]; then
    wrk -t$threads -c$conns -d"$warmup" --timeout 10s -H "$auth" -s "$BENCH_LUA_DIR/$script" \
      "http://127.0.0.1:$port$path" -- "${@//@PHASE@/warm}" >"$work/$b-$w-r$r.warmup" 2>&1 || true
  fi
  if [ -n "${BEFORE_RUN:-}" ]; then $BEFORE_RUN; fi
  wait_idle
  local c0 p0
  c0=$(cpu_ticks_of "$pid")
  p0=$(cpu_ticks_postgres)
  wrk -t$threads -c$conns -d"$duration" --timeout 10s --latency -H "$auth" \
    -s "$BENCH_LUA_DIR/$script" "http://127.0.0.1:$port$path" -- "${@//@PHASE@/run}" >"$out" 2>&1 \
    || { cat "$out" >&2; die "wrk failed for $name"; }
  line=$(grep '^BENCH ' "$out" | tail -n 1) || { cat "$out" >&2; die "no BENCH line for $name"; }
  for kv in $line; do
    case $kv in *=*) R["$name.${kv%%=*}"]=${kv#*=} ;; esac
  done
  grep '^BENCH_ERROR' "$out" | sed "s/^/  $name: /" >&2 || true
  R["$name.scimd_cpu"]=$(per_request $(( $(cpu_ticks_of "$pid") - c0 )) "${R[$name.requests]}")
  R["$name.pg_cpu"]=$(per_request $(( $(cpu_ticks_postgres) - p0 )) "${R[$name.requests]}")
  say "$b $w r$r: ${R[$name.rps]} req/s, p50 ${R[$name.p50_ms]} ms, p99 ${R[$name.p99_ms]} ms, \
${R[$name.requests]} requests, non-2xx ${R[$name.non2xx]}, socket errors ${R[$name.socket_errors]}"
}

# The create run's users out again, and their events, then vacuumed: every later run, of
# either binary, sees the seeded rows whatever the create rate was.
after_create() { # prefix of the run's userNames
  local n
  wait_idle
  # Each table once, by a test of its own rows: a join of events to the deleted users (no
  # index on events.resource_id) ran for minutes in the second round. The foreign-key
  # triggers are off for the delete (session_replication_role): nothing refers to these
  # new users, and checking each of tens of thousands is work the benchmark does not need.
  # The delete goes around scimd, so the tenants' counts are set again from their rows
  # (where the schema keeps them).
  sql -c "DELETE FROM events WHERE resource_type = 'User' AND type = 'user.created'
          AND data->>'userName' LIKE '$1%'" >/dev/null
  n=$(sql -c "SET session_replication_role = replica;
              WITH gone AS (DELETE FROM users WHERE user_name LIKE '$1%' RETURNING id)
              SELECT count(*) FROM gone" | tail -n 1)
  sql -c "DO \$\$ BEGIN IF to_regproc('scimd_recount') IS NOT NULL THEN
            PERFORM scimd_recount(id) FROM tenants; END IF; END \$\$" >/dev/null
  sql -c "VACUUM ANALYZE users, events, group_members" >/dev/null
  say "  removed the $n users the create run made (warm-up included); vacuumed"
}

# The group back to: every a of its pairs a member, every b not (see bench/patch.lua),
# under the group's row lock as scimd's own PATCH takes it (as bench-scim.sh does).
# shellcheck disable=SC2317  # called by patch_reset_and_mark, through $BEFORE_RUN
reset_group() { # group id, pairs name
  wait_idle
  sql -c "BEGIN;
          SELECT 1 FROM groups WHERE id = '$1' FOR UPDATE;
          DELETE FROM group_members m USING bench_patch_pairs p
            WHERE p.group_name = '$2' AND m.group_id = '$1' AND m.member_id = p.b;
          INSERT INTO group_members (group_id, member_id, member_type, tenant_id)
            SELECT '$1', p.a, 'User', g.tenant_id FROM bench_patch_pairs p, groups g
            WHERE p.group_name = '$2' AND g.id = '$1'
          ON CONFLICT DO NOTHING;
          COMMIT;" >/dev/null
}
group_state() { sql -c "SELECT g.version || ' ' || (SELECT count(*) FROM group_members m WHERE m.group_id = g.id) FROM groups g WHERE g.id = '$1'"; }
# shellcheck disable=SC2317  # called by run_wrk through $BEFORE_RUN
patch_reset_and_mark() { reset_group "$1" "$2"; patch_v0=$(group_state "$1" | cut -d' ' -f1); }
patch_run() { # old|new, round, workload, group id, pairs name, expected size
  local b=$1 r=$2 w=$3 gid=$4 pairs=$5 size=$6 v1 n1
  BEFORE_RUN="patch_reset_and_mark $gid $pairs"
  run_wrk "$b" "$r" "$w" "/scim/v2/Groups/$gid" patch.lua "$work/$pairs.pairs" $threads
  BEFORE_RUN=""
  wait_idle
  read -r v1 n1 < <(group_state "$gid")
  # Every PATCH that changed the membership bumps the group's version once.
  R["$b.$w.$r.effective"]=$(( v1 - patch_v0 ))
  R["$b.$w.$r.size_after"]=$n1
  if [ "$n1" != "$size" ]; then say "warning: $b $w r$r left the group at $n1 members, not $size"; fi
}

verified=""
session() { # old|new, round: one server, every workload
  local b=$1 r=$2
  start_server "$b" "$r"
  if [ -z "$verified" ]; then
    python3 "$BENCH_LUA_DIR/prepare.py" verify "$scim" "$token" "$work/samples" "$big_id" >&2 \
      || die "the seeded data does not read back as expected"
    verified=1
  fi
  run_wrk "$b" "$r" lookup "/scim/v2/Users" paths.lua "$work/lookup.paths"
  run_wrk "$b" "$r" get "/scim/v2/Users" paths.lua "$work/get.paths"
  run_wrk "$b" "$r" create "/scim/v2/Users" create.lua "ab$$-$b-r$r-@PHASE@"
  after_create "ab$$-$b-r$r-"
  patch_run "$b" "$r" patch_big "$big_id" big $users
  patch_run "$b" "$r" patch_small "$small_id" small $small
  run_wrk "$b" "$r" deep "/scim/v2/Users?startIndex=$depth&count=100" static.lua
  run_wrk "$b" "$r" cursor_first "/scim/v2/Users?count=100&cursor=" static.lua
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
f2() { awk -v x="$1" 'BEGIN { printf "%.2f", x }'; }
median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{v[NR] = $1} END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# (max - min) / median of the values on stdin.
spread() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{v[NR] = $1} END {
  m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
  printf "%.6f", (m > 0 ? (v[NR] - v[1]) / m : 0) }'; }
pct() { awk -v x="$1" 'BEGIN { printf "%.1f%%", x * 100 }'; }
# values old|new WORKLOAD KEY: the key of every round's run.
values() { local r out=""; for r in $(seq 1 "$rounds"); do out+="${R[$1.$2.$r.$3]} "; done; echo "$out"; }
invalid_run() { [ "${R[$1.non2xx]:-0}" != 0 ] || [ "${R[$1.socket_errors]:-0}" != 0 ]; }
errs_all() { # workload: non-2xx/socket errors summed over both binaries' runs
  local b r n=0 k=0
  for b in old new; do for r in $(seq 1 "$rounds"); do
    n=$(( n + ${R[$b.$1.$r.non2xx]:-0} )); k=$(( k + ${R[$b.$1.$r.socket_errors]:-0} ))
  done; done
  echo "$n/$k"
}
# verdict WORKLOAD KEY higher|lower (which way is better)
verdict() {
  local w=$1 key=$2 better=$3 b r om nm os ns
  for b in old new; do for r in $(seq 1 "$rounds"); do
    invalid_run "$b.$w.$r" && { echo "INVALID (errors)"; return; }
  done; done
  om=$(values old "$w" "$key" | median); nm=$(values new "$w" "$key" | median)
  os=$(values old "$w" "$key" | spread); ns=$(values new "$w" "$key" | spread)
  if awk -v o="$om" -v n="$nm" -v a="$os" -v b="$ns" -v better="$better" 'BEGIN {
       noise = (a > b ? a : b)
       if (o <= 0) exit 1
       worse = (better == "higher") ? (o - n) / o : (n - o) / o
       exit !(worse <= noise) }'; then
    echo "within noise"
  else
    echo SLOWER
  fi
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
printf '  %-5s %-4s %-13s %9s %9s %9s %9s %12s %10s %8s  %s\n' round bin workload "req/s" "p50 ms" "p99 ms" requests \
  non2xx/sock "scimd CPU" "pg CPU" ""
for r in $(seq 1 "$rounds"); do
  for b in ${ORDER[$r]}; do
    for w in "${workloads[@]}"; do
      n="$b.$w.$r" note=""
      case $w in patch_*) note="${R[$n.effective]} membership changes, group size after ${R[$n.size_after]}" ;; esac
      invalid_run "$n" && note="INVALID $note"
      printf '  %-5s %-4s %-13s %9s %9s %9s %9s %12s %7s ms %5s ms  %s\n' "$r" "$b" "$w" "${R[$n.rps]}" \
        "${R[$n.p50_ms]}" "${R[$n.p99_ms]}" "${R[$n.requests]}" "${R[$n.non2xx]}/${R[$n.socket_errors]}" \
        "${R[$n.scimd_cpu]}" "${R[$n.pg_cpu]}" "$note"
    done
  done
done
echo
for b in old new; do
  { grep -hiE '\b(ERROR|WARN)\b' "$work"/server-"$b"-r*.log || true; } >"$work/problems-$b"
  lines=$(wc -l <"$work/problems-$b")
  echo "$b: peak RSS (VmHWM, max over its $rounds servers) $(f2 "$(awk -v k="${R[$b.rss_kb]}" 'BEGIN { print k / 1024 }')") MiB; server logs: $lines WARN/ERROR lines"
  head -n 5 "$work/problems-$b" | cut -c1-300 | sed 's/^/    /'
done
say "done in $(( $(date +%s) - t_start ))s"
exit 0
