#!/usr/bin/env bash
# SCIM requests exactly as Microsoft Entra ID and Okta send them (no Prefer header, no
# attributes or excludedAttributes), on one seeded database of 100,000 users, with the
# PostgreSQL ceilings measured in the same run. One binary, or two (OLD and NEW) in turns.
#
# Usage: conformance/bench-idp.sh OLD_BIN [NEW_BIN] [duration, default 10s]
#   Each wrk workload runs `duration` after a BENCH_WARMUP (default 3s, 0 to skip)
#   warm-up; each pgbench ceiling runs `duration`. One server session (3 ceilings, 8
#   workloads) takes about 3 × duration + 8 × (duration + warm-up) + ~20s; a run is
#   BENCH_ROUNDS (3) sessions per binary plus ~2 min (seeding, pgbench -i): ~17 min for
#   two binaries at 10s and 3s, ~9 min for one. Progress goes to stderr, the report to
#   stdout. Measure on an otherwise idle machine, with release builds: scimd, PostgreSQL,
#   pgbench and wrk share its cores, and anything else running moves every figure.
# Needs: a PostgreSQL server at DATABASE_URL (default
#   postgres://postgres@127.0.0.1:5432/postgres; a user allowed to create databases), its
#   client tools (psql, pgbench, pg_dump), wrk (apt-get install wrk), curl and python3.
# Settings: BENCH_PORT (18434), BENCH_WARMUP (3s), BENCH_ROUNDS (3), BENCH_KEEP=1 keeps
#   the scratch databases and the work folder (wrk and pgbench outputs, server logs,
#   request files); BENCH_USERS (100000), BENCH_SPARE (1000), BENCH_SMALL (10) and
#   BENCH_DEPTH (9/10 of the users) size the seed and the deep page, smaller for a quick
#   check of the script itself; SCIMD_* settings pass through to the servers (e.g.
#   SCIMD_POOL_SIZE, default 10); BENCH_STATS=none vacuums without ANALYZE, so that no
#   table has statistics (issue 19's "whatever the statistics"; needs autovacuum off, and
#   the run stops if any table has them), where the default, fresh, analyzes.
#
# One database for both binaries. OLD migrates it, makes tenant `bench` and its token,
# and it is seeded (bench/seed.sql: 100,000 users in group "Bench Everyone", 1,000 spare
# users, group "Bench Small" of 10); then NEW migrates it, as a deployment of NEW over
# OLD's data would, and OLD's migrate must still accept it (OLD then serves NEW's schema,
# as old nodes do during a rolling upgrade). VACUUM ANALYZE; a few seeded users are read
# back through the first server.
#
# BENCH_APART=1, for an OLD from before a schema it cannot serve: OLD keeps a copy of the
# seeded database taken before NEW migrates it (CREATE DATABASE … TEMPLATE, so the same
# tenant, token, users and groups, with the same ids), and each binary is measured on
# its own copy; the report says so.
#
# In each of BENCH_ROUNDS rounds, one server session per binary, OLD first in odd rounds
# and NEW first in even ones. A session (wrk -t2 -c16 unless said, scripts in bench/, the
# database idle before each run; every ceiling right before the workloads it is compared
# with):
#   select      ceiling: pgbench -S, 16 clients (a pgbench database of scale 10)
#   lookup      GET /Users?filter=userName eq "<random seeded user>"   Entra's match lookup
#   get         GET /Users/<random seeded id>
#   insert      ceiling: pgbench -f bench/insert.sql, 16 clients (single-row INSERT)
#   create      POST /Users, Entra's body, a new userName every request; then the run's
#               users and their events are deleted and VACUUM ANALYZE runs, so every later
#               run sees the seeded rows whatever the create rate was
#   mpatch      ceiling: pgbench -M prepared -f bench/member-patch.sql, 16 clients, on the
#               group of 10: the fewest statements a -1 +1 member PATCH takes
#   patch_small PATCH /Groups/<id> removing one member and adding one (bench/patch.lua,
#               Entra's body, no Prefer), on the group of 10
#   patch_big   the same on the group of 100,000 (the two in turns: small first in odd
#               rounds); each group is reset before its run and must keep its size
#   pages       GET /Users?startIndex=<random page start>&count=100   Okta's import paging
#   deep        GET /Users?startIndex=90000&count=100
#   first       GET /Users?startIndex=1&count=100 at ONE connection (wrk -t1 -c1): latency
# then SIGTERM and wait for the server to exit.
#
# Report: the ceilings; per workload the median over the rounds of each binary (req/s;
# p50 for `first`), NEW/OLD, each binary's spread over its rounds ((max - min) / median)
# and whether NEW lost more than that noise (as bench-ab.sh); latency, CPU per request of
# scimd and of the local postgres processes (/proc) and bytes per answer; issue 19's
# targets per binary (ratios are medians of per-session ratios, each against the ceiling
# or workload of the same session); then every run. A run with any response >= 400 or
# socket error is marked invalid, and so is every figure it enters. Exit 0 whatever the
# figures (a measurement, not a test); 1 only when the run itself failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export BENCH_LUA_DIR="$here/bench"
# shellcheck source=bench/lib.sh
. "$BENCH_LUA_DIR/lib.sh"
usage="usage: $0 OLD_BIN [NEW_BIN] [duration, default 10s]"
case $# in 1 | 2 | 3) ;; *) die "$usage" ;; esac
declare -A BIN
BIN[old]=$(abs_bin "$1") || die "no executable scimd binary at $1"
bins=(old)
duration=10s
if [ $# -ge 2 ]; then
  if [ $# = 3 ] || [ -e "$2" ]; then
    BIN[new]=$(abs_bin "$2") || die "no executable scimd binary at $2 (NEW)"
    bins=(old new)
    duration=${3:-10s}
  else
    duration=$2
  fi
fi
cd "$here/.."
warmup="${BENCH_WARMUP:-3s}"
port="${BENCH_PORT:-18434}"
base="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
server="${base%/*}"
db="scimd_idp_$$"
pgdb="scimd_idp_pg_$$"
url="$server/$db"
pgurl="$server/$pgdb"
seeded_settings
# A PATCH answered with 100,000 members is megabytes, and 16 of them queue on one group.
wrk_timeout=30s
need wrk psql pgbench pg_dump curl python3
workloads=(lookup get create patch_small patch_big pages deep first)
ceilings=(select insert mpatch)
t_start=$(date +%s)

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-idp.XXXXXX")
pid=""
scratch_dbs=("$db" "$pgdb")
declare -A URL
URL[old]=$url
URL[new]=$url
apart="${BENCH_APART:-}"

export SCIMD_LOG="${SCIMD_LOG:-warn}"
# run_bin old|new ARGS…: the binary on the measured database.
run_bin() { local b=$1; shift; DATABASE_URL="$url" "${BIN[$b]}" "$@"; }
schema_of() {
  pg_dump --schema-only --no-owner --no-privileges "$url" | grep -v -e '^--' -e '^[\\]' -e '^$'
  sql -c "SELECT 'migration ' || version FROM __diesel_schema_migrations ORDER BY version"
}

# ---- 1. one database --------------------------------------------------------------------
for b in "${bins[@]}"; do say "$b: ${BIN[$b]} (sha256 $(sha256sum "${BIN[$b]}" | cut -c1-12))"; done
say "scratch database $db, migrated by OLD"
run_bin old migrate 2>"$work/migrate-old.log" || { cat "$work/migrate-old.log" >&2; die "OLD's migrate failed"; }
bench_tenant "${BIN[old]}"
seed_tenant
schema_note="one binary"
if [ "${#bins[@]}" = 2 ]; then
  schema_of >"$work/schema-old.sql"
  if [ "$apart" = 1 ]; then
    sql -c "VACUUM (ANALYZE $analyze)" >/dev/null
    say "a copy of the seeded database for OLD: ${db}_old"
    psql -X -q "$server/postgres" -c "CREATE DATABASE ${db}_old TEMPLATE $db" >/dev/null
    scratch_dbs+=("${db}_old")
    URL[old]="$server/${db}_old"
  fi
  say "NEW migrates the seeded database"
  run_bin new migrate 2>"$work/migrate-new.log" || { cat "$work/migrate-new.log" >&2; die "NEW's migrate failed on OLD's seeded database"; }
  schema_of >"$work/schema-new.sql"
  if [ "$apart" != 1 ]; then
    run_bin old migrate 2>"$work/migrate-old-again.log" \
      || { cat "$work/migrate-old-again.log" >&2; die "OLD's migrate refuses NEW's schema: OLD cannot serve it (BENCH_APART=1 measures each on its own copy)"; }
    schema_of | cmp -s - "$work/schema-new.sql" || die "OLD's migrate changed NEW's schema"
  fi
  if [ "$apart" = 1 ]; then
    diff -u "$work/schema-old.sql" "$work/schema-new.sql" >"$work/schema.diff" || true
    schema_note="apart: OLD on its own copy of the seed with its own schema, NEW on the seed migrated by NEW ($(grep -c '^[-+][^-+]' "$work/schema.diff") lines of pg_dump differ, see schema.diff)"
  elif cmp -s "$work/schema-old.sql" "$work/schema-new.sql"; then
    schema_note="one schema: NEW's migrations change nothing of OLD's"
  else
    diff -u "$work/schema-old.sql" "$work/schema-new.sql" >"$work/schema.diff" || true
    schema_note="NEW's migrations change the schema ($(grep -c '^[-+][^-+]' "$work/schema.diff") lines of pg_dump, see schema.diff); OLD serves NEW's schema"
  fi
  say "$schema_note"
fi
sql -c "VACUUM (ANALYZE $analyze)" >/dev/null
[ "$apart" != 1 ] || url=${URL[old]} sql -c "VACUUM (ANALYZE $analyze)" >/dev/null
no_statistics
seq 1 100 "$users" | sed 's|^|/scim/v2/Users?startIndex=|; s|$|\&count=100|' >"$work/pages.paths"

# The ceilings' databases: pgbench's own (scale 10) with the INSERT table, and the seeded
# group of 10 for the member PATCH.
say "pgbench database $pgdb (scale 10)"
psql -X -q "$server/postgres" -c "CREATE DATABASE $pgdb" >/dev/null
pgbench -i -q -s 10 "$pgurl" >"$work/pgbench-init.log" 2>&1 || { cat "$work/pgbench-init.log" >&2; die "pgbench -i failed"; }
psql -X -q -v ON_ERROR_STOP=1 "$pgurl" -c "CREATE TABLE bench_insert (id uuid PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now(), payload jsonb NOT NULL)" >/dev/null
tenant_id=$(sql -c "SELECT id FROM tenants WHERE slug = 'bench'")
key_id=$(sql -c "SELECT key_id FROM scim_tokens WHERE tenant_id = '$tenant_id' LIMIT 1")
# The group's members once reset_group has run (the a of each pair).
small_members="{$(sql -c "SELECT string_agg(a::text, ',' ORDER BY slot) FROM bench_patch_pairs WHERE group_name = 'small'")}"
ceiling_request=00000000-0000-4000-8000-00000000ce11

# mpatch_ceiling NAME: member-patch.sql on the group of 10, which keeps its size; its
# events are deleted afterwards, so only the group's version moves. Always on NEW's
# database: the statements are those of today's schema (BENCH_APART).
mpatch_ceiling() {
  local name=$1 n1 url=${URL[new]}
  reset_group "$small_id" small
  pgbench_ceiling "$name" "$url" -M prepared -f "$BENCH_LUA_DIR/member-patch.sql" \
    -D tenant="$tenant_id" -D group="$small_id" -D members="$small_members" -D size="$small" \
    -D actor="token:$key_id" -D request="$ceiling_request"
  n1=$(group_state "$small_id" | cut -d' ' -f2)
  [ "$n1" = "$small" ] || say "warning: $name left the group at $n1 members, not $small"
  sql -c "DELETE FROM events WHERE request_id = '$ceiling_request'" >/dev/null
  sql -c "VACUUM events, group_members, groups" >/dev/null
}

# ---- 2. sessions ----------------------------------------------------------------------------
verified=""
session() { # old|new, round: one server, every ceiling and workload; figures in R[b.name.round…]
  local b=$1 r=$2 patches="patch_small patch_big" w
  say "round $r: starting $b"
  url=${URL[$b]}
  start_server "${BIN[$b]}" "$work/server-$b-r$r.log"
  if [ -z "$verified" ]; then verify_seed; verified=1; fi
  pgbench_ceiling "$b.select.$r" "$pgurl" -S
  run_wrk "$b.lookup.$r" "/scim/v2/Users" paths.lua "$work/lookup.paths"
  run_wrk "$b.get.$r" "/scim/v2/Users" paths.lua "$work/get.paths"
  psql -X -q "$pgurl" -c "TRUNCATE bench_insert" >/dev/null
  pgbench_ceiling "$b.insert.$r" "$pgurl" -f "$BENCH_LUA_DIR/insert.sql"
  run_wrk "$b.create.$r" "/scim/v2/Users" create.lua "idp$$-$b-r$r-@PHASE@"
  after_create "idp$$-$b-r$r-"
  mpatch_ceiling "$b.mpatch.$r"
  [ $((r % 2)) = 1 ] || patches="patch_big patch_small"
  for w in $patches; do
    case $w in
      patch_small) patch_run "$b.patch_small.$r" "$small_id" small "$small" ;;
      patch_big) patch_run "$b.patch_big.$r" "$big_id" big "$users" ;;
    esac
  done
  run_wrk "$b.pages.$r" "/scim/v2/Users" paths.lua "$work/pages.paths"
  run_wrk "$b.deep.$r" "/scim/v2/Users?startIndex=$depth&count=100" static.lua
  conns=1 threads=1 run_wrk "$b.first.$r" "/scim/v2/Users?startIndex=1&count=100" static.lua
  wait_idle
  stop_server "$b"
}

declare -A ORDER
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) = 1 ]; then ORDER[$r]="${bins[*]}"; else ORDER[$r]=$(printf '%s\n' "${bins[@]}" | tac | xargs); fi
  for b in ${ORDER[$r]}; do session "$b" "$r"; done
done
say "measured in $(( $(date +%s) - t_start ))s"

# ---- 3. report --------------------------------------------------------------------------------
two() { [ "${#bins[@]}" = 2 ]; }
# values BIN NAME [KEY]: every round's figure (KEY of a workload run; a ceiling's tx/s without).
values() {
  local r out=""
  for r in $(seq 1 "$rounds"); do
    if [ -n "${3:-}" ]; then out+="${R[$1.$2.$r.$3]} "; else out+="${R[$1.$2.$r]} "; fi
  done
  echo "$out"
}
# ratios BIN A B: every round's rate of workload A over that session's B (a workload's
# req/s, or a ceiling's tx/s).
ratios() {
  local r out="" den
  for r in $(seq 1 "$rounds"); do
    den=${R[$1.$3.$r.rps]:-${R[$1.$3.$r]}}
    out+="$(div "${R[$1.$2.$r.rps]}" "$den") "
  done
  echo "$out"
}
# invalid_any BIN WORKLOAD…: whether any of those runs had errors.
invalid_any() {
  local b=$1 w r
  shift
  for w in "$@"; do for r in $(seq 1 "$rounds"); do invalid_run "$b.$w.$r" && return 0; done; done
  return 1
}
errs_all() { # workload: non-2xx/socket errors summed over every run
  local b r n=0 k=0
  for b in "${bins[@]}"; do for r in $(seq 1 "$rounds"); do
    n=$(( n + ${R[$b.$1.$r.non2xx]:-0} )); k=$(( k + ${R[$b.$1.$r.socket_errors]:-0} ))
  done; done
  echo "$n/$k"
}
ratio3() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }
# judged VALUE OP TARGET INVALID: the value as printed (cut toward the failing side) and
# met/MISSED, or INVALID when the runs it comes from had errors.
judged() {
  local v
  case $2 in '<=') v=$(shown_up "$1") ;; *) v=$(shown "$1") ;; esac
  if [ "$4" = 1 ]; then echo "$v INVALID"; elif meets "$1" "$2" "$3"; then echo "$v met"; else echo "$v MISSED"; fi
}
inv() { if invalid_any "$@"; then echo 1; else echo 0; fi; }
name_of() {
  case $1 in
    select) echo "pgbench -S (16 clients)" ;;
    insert) echo "pgbench single-row INSERT" ;;
    mpatch) echo "pgbench member PATCH" ;;
    lookup) echo 'GET /Users?filter=userName eq' ;;
    get) echo "GET /Users/{id}" ;;
    create) echo "POST /Users" ;;
    patch_small) echo "PATCH -1 +1, group of $small" ;;
    patch_big) echo "PATCH -1 +1, group of $users" ;;
    pages) echo "GET /Users?startIndex=<random>&count=100" ;;
    deep) echo "GET /Users?startIndex=$depth&count=100" ;;
    first) echo "GET /Users?startIndex=1&count=100, 1 conn" ;;
  esac
}
row() { printf '  %-42s %12s %12s %8s %9s %9s  %-13s %s\n' "$@"; }

echo
echo "scimd as Entra ID and Okta call it: $(nproc) cores, $(psql -X -At "$server/postgres" -c 'SHOW server_version'),"
echo "  wrk -t$threads -c$conns, ${duration} per workload after ${warmup} warm-up, pgbench ${duration} per ceiling,"
echo "  $rounds rounds$(two && echo " (OLD first in odd rounds, NEW first in even ones)"), SCIMD_POOL_SIZE=${SCIMD_POOL_SIZE:-10 (default)};"
echo "  tenant: $users users in one group, $spare spare users, a group of $small; no Prefer header, no"
echo "  attributes or excludedAttributes on any request."
for b in "${bins[@]}"; do
  echo "  $(two && echo "${b^^}" || echo binary): ${BIN[$b]} sha256 $(sha256sum "${BIN[$b]}" | cut -c1-12)"
done
echo "  schema: $schema_note"
case $stats in
  fresh) echo "  statistics: fresh (VACUUM ANALYZE after seeding and after each create run)" ;;
  none) echo "  statistics: none (VACUUM without ANALYZE; checked: no table of the database has any)" ;;
esac
echo
if two; then
  echo "medians over the rounds (req/s; p50 ms for \"first\"); spread = (max - min) / median of a binary's own"
  echo "rounds; \"within noise\" when NEW is not worse than OLD by more than the larger spread:"
else
  echo "medians over the rounds (req/s; p50 ms for \"first\"); spread = (max - min) / median of the rounds:"
fi
if two; then
  row "workload" "OLD" "NEW" "NEW/OLD" "OLD spr." "NEW spr." "verdict" "non2xx/sock"
  row "--------" "---" "---" "-------" "--------" "--------" "-------" "-----------"
else
  row "workload" "figure" "" "" "spread" "" "" "non2xx/sock"
  row "--------" "------" "" "" "------" "" "" "-----------"
fi
for c in "${ceilings[@]}"; do
  if two; then
    row "ceiling: $(name_of "$c")" "$(f2 "$(values old "$c" | median)")" "$(f2 "$(values new "$c" | median)")" \
      "$(ratio3 "$(values new "$c" | median)" "$(values old "$c" | median)")" \
      "$(pct "$(values old "$c" | spread)")" "$(pct "$(values new "$c" | spread)")" "" ""
  else
    row "ceiling: $(name_of "$c")" "$(f2 "$(values old "$c" | median)")" "" "" "$(pct "$(values old "$c" | spread)")" "" "" ""
  fi
done
for w in "${workloads[@]}"; do
  case $w in first) key=p50_ms better=lower ;; *) key=rps better=higher ;; esac
  om=$(values old "$w" "$key" | median)
  if two; then
    nm=$(values new "$w" "$key" | median)
    if invalid_any old "$w" || invalid_any new "$w"; then verdict="INVALID"; else
      verdict=$(noise_verdict "$(values old "$w" "$key")" "$(values new "$w" "$key")" "$better"); fi
    row "$(name_of "$w")" "$(f2 "$om")" "$(f2 "$nm")" "$(ratio3 "$nm" "$om")" \
      "$(pct "$(values old "$w" "$key" | spread)")" "$(pct "$(values new "$w" "$key" | spread)")" \
      "$verdict" "$(errs_all "$w")"
  else
    row "$(name_of "$w")" "$(f2 "$om")" "" "" "$(pct "$(values old "$w" "$key" | spread)")" "" \
      "$(invalid_any old "$w" && echo INVALID)" "$(errs_all "$w")"
  fi
done
echo
echo "latency, CPU per request (the scimd process, and all local postgres processes; for a ceiling,"
echo "per transaction) and bytes read per answer, medians over the rounds:"
printf '  %-42s %-4s %9s %9s %10s %9s %11s\n' "" bin "p50 ms" "p99 ms" "scimd CPU" "pg CPU" "bytes/answer"
for c in "${ceilings[@]}"; do
  for b in "${bins[@]}"; do
    printf '  %-42s %-4s %9s %9s %10s %6s ms %11s\n' "ceiling: $(name_of "$c")" "$b" "" "" "" \
      "$(f2 "$(values "$b" "$c" pg_cpu | median)")" ""
  done
done
for w in "${workloads[@]}"; do
  for b in "${bins[@]}"; do
    bpa=""
    for r in $(seq 1 "$rounds"); do bpa+="$(div "${R[$b.$w.$r.bytes]}" "${R[$b.$w.$r.requests]}") "; done
    printf '  %-42s %-4s %9s %9s %7s ms %6s ms %11s\n' "$(name_of "$w")" "$b" \
      "$(f2 "$(values "$b" "$w" p50_ms | median)")" "$(f2 "$(values "$b" "$w" p99_ms | median)")" \
      "$(f2 "$(values "$b" "$w" scimd_cpu | median)")" "$(f2 "$(values "$b" "$w" pg_cpu | median)")" \
      "$(awk -v x="$(median <<<"$bpa")" 'BEGIN { printf "%.0f", x }')"
  done
done
echo
echo "issue 19's targets (each ratio the median of its per-session ratios; NEW/OLD of the medians above):"
trow() { printf '  %-52s %-10s %-16s %s\n' "$@"; }
if two; then trow "figure" "target" "OLD" "NEW"; else trow "figure" "target" "value" ""; fi
trow "------" "------" "---" "$(two && echo ---)"
# per_bin LABEL OP TARGET A B: A over B per session, judged for each binary (OP
# `reported`: the ratio only).
per_bin() {
  local label=$1 op=$2 target=$3 a=$4 b=$5 x ratio cells=()
  for x in "${bins[@]}"; do
    ratio=$(ratios "$x" "$a" "$b" | median)
    if [ "$op" = reported ]; then cells+=("$(shown "$ratio")"); else
      cells+=("$(judged "$ratio" "$op" "$target" "$(inv "$x" "$a" "$b")")"); fi
  done
  trow "$label" "$op $target" "${cells[@]}"
}
per_bin "GET /Users/{id} / userName lookup" ">=" 1 get lookup
per_bin "GET /Users/{id} / pgbench -S" ">=" 0.5 get select
per_bin "PATCH group of $users / group of $small" ">=" 0.8 patch_big patch_small
per_bin "PATCH group of $small / member-PATCH ceiling" ">=" 0.5 patch_small mpatch
cells=()
for x in "${bins[@]}"; do
  cells+=("$(judged "$(values "$x" first p50_ms | median)" "<=" 10 "$(inv "$x" first)")")
done
trow "first page p50 at one connection (ms)" "<= 10" "${cells[@]}"
per_bin "userName lookup / pgbench -S" reported "" lookup select
per_bin "POST /Users / single-row INSERT" reported "" create insert
if two; then
  newold() { # workload key: NEW's median over OLD's, judged
    local w=$1 target=$2 i=0
    if invalid_any old "$w" || invalid_any new "$w"; then i=1; fi
    judged "$(div "$(values new "$w" rps | median)" "$(values old "$w" rps | median)")" ">=" "$target" "$i"
  }
  trow "PATCH group of $small, NEW/OLD" ">= 3" "" "$(newold patch_small 3)"
  trow "GET /Users?startIndex=$depth&count=100, NEW/OLD" ">= 2" "" "$(newold deep 2)"
  if invalid_any old create || invalid_any new create; then noise=INVALID; else
    noise=$(noise_verdict "$(values old create rps)" "$(values new create rps)" higher); fi
  trow "POST /Users, NEW/OLD" "not lower" "" \
    "$(shown "$(div "$(values new create rps | median)" "$(values old create rps | median)")") $noise"
fi
echo
echo "every run (CPU per request: the scimd process, and all local postgres processes; ceilings in tx/s):"
run_header 12 run
for r in $(seq 1 "$rounds"); do
  for b in ${ORDER[$r]}; do
    for c in "${ceilings[@]}"; do
      printf '  %-5s %-4s %-12s %9s %9s %9s %9s %12s %10s %5s ms\n' "$r" "$b" "$c" "$(f2 "${R[$b.$c.$r]}")" "" "" "" "" "" \
        "${R[$b.$c.$r.pg_cpu]}"
    done
    for w in "${workloads[@]}"; do run_row "$r" "$b" "$w" 12; done
  done
done
echo
server_problems "${bins[@]}"
say "done in $(( $(date +%s) - t_start ))s"
exit 0
