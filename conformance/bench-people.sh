#!/usr/bin/env bash
# The admin API's people list (issue 5) on a tenant of 100,000 people: latency of the counts,
# of the first and the hundredth list page (all live people and state=participating), the
# counts checked against the seeded rows, the CSV import rate, and the server's peak RSS.
#
# Usage: conformance/bench-people.sh [scimd binary]
#   The binary may also be given as SCIMD_BIN; without one, `cargo build --release` and
#   target/release/scimd. A run takes about a minute plus the three imports of 100,000 rows.
#   Progress goes to stderr, the report (markdown) to stdout. Latencies are measured one
#   request at a time over one kept-alive connection, from request sent to body read. Measure
#   on an otherwise idle machine: scimd, PostgreSQL and the client share its cores.
# Needs: a PostgreSQL server at DATABASE_URL (default
#   postgres://postgres@127.0.0.1:5432/postgres; a user allowed to create databases), its
#   client psql, curl and python3.
# Settings: BENCH_PORT (18433), BENCH_REQUESTS (50 timed requests per measurement),
#   BENCH_WARMUP_REQUESTS (5), BENCH_PAGES (100: the deep page), BENCH_PEOPLE (100000),
#   BENCH_IMPORT_ROWS (100000), BENCH_IMPORT_TIMEOUT (900 seconds per import request),
#   BENCH_KEEP=1 keeps the work folder (server log, import file and answers); SCIMD_*
#   settings pass through to the server (e.g. SCIMD_POOL_SIZE, default 10).
#
# What it does, on a scratch database dropped on exit:
#   1. scimd migrate, tenants `bench` and `bench-import` (source manual), an admin key,
#      `scimd serve --no-bootstrap`, wait for /readyz.
#   2. Seeds `bench` by SQL (bench/people/seed.sql): 100,000 people as the SCIM write path
#      stores them, 10% inactive, 5% admin-deactivated, two excluded groups of 5,000 members
#      (overlapping each other and those states), everyone in one group that is not
#      excluded; VACUUM ANALYZE. The expected counts and the person expected first on the
#      deep page come from the rows by the contract's definitions (bench/people/expected.sql).
#   3. Measures (bench/people/people.py), each after a warm-up:
#        GET /admin/v1/tenants/bench/people/counts          (answer checked against the rows)
#        GET /admin/v1/tenants/bench/people?limit=50        page 1, and page 100 reached by
#                                                           following next_cursor 99 times
#        the same with state=participating
#      then the CSV import: a file of 100,000 rows (email, given_name, family_name,
#      display_name, department, manager_email: an earlier row for three rows in four),
#      POSTed as text/csv to /admin/v1/tenants/bench-import/people/import with dry_run=true,
#      then dry_run=false, then dry_run=false again (expected: all unchanged); rows/s of
#      each, its summary and the tenant's people afterwards. Then the server's peak RSS
#      (VmHWM) after the list measurements and at the end.
#   4. Prints the report. Exit 0 whatever the figures (a measurement, not a test; wrong
#      counts or an unexpected import summary are marked in the report); 1 only when the run
#      itself failed (setup, a list or counts request answered other than 200, the server died).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
bin="${1:-${SCIMD_BIN:-}}"
port="${BENCH_PORT:-18433}"
requests="${BENCH_REQUESTS:-50}"
warmup="${BENCH_WARMUP_REQUESTS:-5}"
pages="${BENCH_PAGES:-100}"
people="${BENCH_PEOPLE:-100000}"
rows="${BENCH_IMPORT_ROWS:-100000}"
import_timeout="${BENCH_IMPORT_TIMEOUT:-900}"
base="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
server="${base%/*}"
db="scimd_bench_people_$$"
url="$server/$db"
tenant=bench
itenant=bench-import
limit=50
dir="$repo/conformance/bench/people"

say() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { say "error: $*"; exit 1; }
for tool in psql curl python3; do
  command -v "$tool" >/dev/null || die "$tool is needed"
done
[ "$pages" -ge 2 ] || die "BENCH_PAGES must be at least 2"

if [ -z "$bin" ]; then
  say "building scimd (cargo build --release)"
  cargo build --release --quiet
  bin="$repo/target/release/scimd"
fi
[ -x "$bin" ] || die "no scimd binary at $bin"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-people.XXXXXX")
log="$work/server.log"
pid=""
cleanup() {
  if [ -n "$pid" ]; then { kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; } || true; fi
  psql -q "$server/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  if [ "${BENCH_KEEP:-}" = 1 ]; then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sql() { psql -X -q -At -v ON_ERROR_STOP=1 "$url" "$@"; }
hwm_mib() { awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status"; }
alive() { kill -0 "$pid" 2>/dev/null || { tail -n 20 "$log" >&2; die "scimd died $1"; }; }

# ---- 1. server -----------------------------------------------------------------------
say "scratch database $db, scimd $bin"
export DATABASE_URL="$url" SCIMD_LOG="${SCIMD_LOG:-warn}"
"$bin" migrate >/dev/null
"$bin" tenant create "$tenant" >/dev/null
"$bin" tenant create "$itenant" >/dev/null
# A CSV import is how people come into a tenant kept by hand.
"$bin" tenant set "$itenant" --source manual >/dev/null
key=$("$bin" admin-key issue --label bench)
"$bin" serve --bind "127.0.0.1:$port" --no-bootstrap >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 150); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; die "scimd exited"; }
  sleep 0.2
done
curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" || die "scimd not ready on port $port"
origin="http://127.0.0.1:$port"
admin="/admin/v1/tenants"
auth="Authorization: Bearer $key"
curl -fsS -o /dev/null -H "$auth" "$origin$admin/$tenant" || die "the admin key is refused"

# ---- 2. seed -------------------------------------------------------------------------
say "seeding $people people in tenant $tenant"
t0=$(date +%s)
psql -X -q -v ON_ERROR_STOP=1 -v tenant="$tenant" -v people="$people" -f "$dir/seed.sql" "$url" >/dev/null
say "seeded in $(( $(date +%s) - t0 ))s: $(sql -c "SELECT count(*) FROM users") people; groups: \
$(sql -c "SELECT string_agg(g.display_name || CASE WHEN g.excluded_at IS NULL THEN '' ELSE ' (excluded)' END
                            || ' ' || (SELECT count(*) FROM group_members m WHERE m.group_id = g.id), ', '
                            ORDER BY g.display_name) FROM groups g")"
deep_offset=$(( (pages - 1) * limit ))
expected=$(psql -X -q -At -v ON_ERROR_STOP=1 -v tenant="$tenant" -v offset="$deep_offset" -f "$dir/expected.sql" "$url")
say "expected from the rows: $expected"
expected_first() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])["page_first"][sys.argv[2]])' "$expected" "$1"; }

# ---- 3. measure ----------------------------------------------------------------------
py() { python3 "$dir/people.py" "$@"; }
declare -A L
# measure NAME PATH: latency figures into L[NAME]
measure() {
  local out p50 p99 mean
  out=$(py latency "$origin" "$key" "$2" "$requests" "$warmup") || die "measuring $2 failed"
  L[$1]=$out
  read -r p50 p99 mean _ <<<"$out"
  say "$1: p50 $p50 ms, p99 $p99 ms, mean $mean ms ($2)"
}

say "checking the counts"
counts_rows=$(py counts "$origin" "$key" "$admin/$tenant/people/counts" "$expected") \
  || die "GET $admin/$tenant/people/counts failed"
counts_mismatches=$(sed -n 's/^MISMATCHES //p' <<<"$counts_rows")
counts_rows=$(grep -v '^MISMATCHES ' <<<"$counts_rows")
say "counts: $counts_mismatches mismatches"
measure counts "$admin/$tenant/people/counts"

declare -A W
# list_pair NAME QUERY: page 1, the walk, page $pages
list_pair() {
  local name=$1 path="$admin/$tenant/people?$2" out deep first secs want
  measure "${name}_first" "$path"
  say "$name: following next_cursor $(( pages - 1 )) times"
  out=$(py walk "$origin" "$key" "$path" "$pages") || die "walking $path failed"
  read -r deep first secs <<<"$out"
  want=$(expected_first "$name")
  W[$name]="$secs"
  if [ "$first" = "$want" ]; then W[$name.order]="yes"; else W[$name.order]="no ($first, expected $want)"; fi
  say "$name: $(( pages - 1 )) pages in ${secs}s; page $pages starts with $first (position $(( deep_offset + 1 )) in (created_at, id) order: $want)"
  measure "${name}_deep" "$deep"
}
list_pair all "limit=$limit"
list_pair participating "state=participating&limit=$limit"
alive "during the list measurements"
hwm_list=$(hwm_mib)

# Import: three POSTs of one file.
csv="$work/import.csv"
say "writing $rows import rows"
py csv "$csv" "$rows"
csv_mib=$(awk -v b="$(stat -c %s "$csv")" 'BEGIN { printf "%.1f", b / 1048576 }')
declare -A I
live_in() { sql -c "SELECT count(*) FROM users u JOIN tenants t ON t.id = u.tenant_id
                    WHERE t.slug = '$1' AND u.deprovisioned_at IS NULL"; }
# import_run NAME DRY_RUN
import_run() {
  local name=$1 dry=$2 body="$work/import-$1.json" out rc=0 code secs rate after summary
  say "import $name: POST ...?dry_run=$dry ($rows rows, $csv_mib MiB)"
  out=$(curl -sS -o "$body" -w '%{http_code} %{time_total}' --max-time "$import_timeout" -X POST \
    -H "$auth" -H 'Content-Type: text/csv' -H 'Expect:' --data-binary @"$csv" \
    "$origin$admin/$itenant/people/import?dry_run=$dry") || rc=$?
  read -r code secs <<<"$out"
  alive "during import $name"
  if [ "$rc" != 0 ]; then
    code="curl exit $rc${code:+ ($code)}"
    [ "$rc" = 28 ] && code="timeout after ${import_timeout}s"
  fi
  if [ "$rc" = 0 ] && [ "$code" = 200 ]; then
    rate=$(awk -v n="$rows" -v t="$secs" 'BEGIN { printf "%.0f", (t > 0 ? n / t : 0) }')
  else
    rate="-"
  fi
  summary=$(py summary "$body")
  after=$(live_in "$itenant")
  I[$name.code]=$code
  I[$name.secs]=$([ -n "$secs" ] && printf '%.2f' "$secs" || echo -)
  I[$name.rate]=$rate
  I[$name.counts]=$(head -n 1 <<<"$summary")
  I[$name.first]=$(tail -n 1 <<<"$summary")
  I[$name.after]=$after
  say "import $name: $code in ${secs:-?}s, $rate rows/s; created updated unchanged skipped errors dry_run: \
${I[$name.counts]}; live people in $itenant: $after"
  [ "${I[$name.first]}" = "-" ] || say "  first: ${I[$name.first]}"
}
import_run dry true
import_run real false
import_run again false
hwm_end=$(hwm_mib)
alive "at the end"

# ---- 4. report -----------------------------------------------------------------------
server_errors=$(grep -ciE '\b(ERROR|WARN)\b' "$log" || true)
lat_row() { # label, L key
  local p50 p99 mean min max n
  read -r p50 p99 mean min max n <<<"${L[$2]}"
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$p50" "$p99" "$mean" "$min" "$max" "$n"
}
# import_row LABEL NAME EXPECTED_CREATED EXPECTED_UPDATED EXPECTED_UNCHANGED EXPECTED_AFTER
import_row() {
  local created updated unchanged skipped errors dry verdict
  read -r created updated unchanged skipped errors dry <<<"${I[$2.counts]}"
  if [ "${I[$2.code]}" = 200 ] && [ "$created" = "$3" ] && [ "$updated" = "$4" ] && [ "$unchanged" = "$5" ] \
     && [ "$skipped" = 0 ] && [ "$errors" = 0 ] && [ "${I[$2.after]}" = "$6" ]; then
    verdict="as expected"
  else
    verdict="UNEXPECTED"
  fi
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s / %s, %s after | %s |\n' \
    "$1" "${I[$2.code]}" "${I[$2.secs]}" "${I[$2.rate]}" "$created" "$updated" "$unchanged" "$skipped" "$errors" \
    "${I[$2.after]}" "$3" "$4" "$5" "$6" "$verdict"
}
q="$admin/$tenant/people"
p99_rank=$(( (99 * requests + 99) / 100 ))
echo
echo "## scimd people benchmark"
echo
echo "$(nproc) cores, $(psql -X -At "$server/postgres" -c 'SHOW server_version'), SCIMD_POOL_SIZE=${SCIMD_POOL_SIZE:-10 (default)}."
echo "Tenant \`$tenant\`: $people people seeded by SQL (10% inactive, 5% admin-deactivated, two excluded groups of"
echo "$(( people / 20 )) members, everyone in one group that is not excluded). Latencies in ms over $requests requests"
echo "after $warmup warm-up, one at a time on one kept-alive connection. Percentiles are nearest-rank: p99 is"
echo "request $p99_rank of $requests ordered by time$([ "$p99_rank" = "$requests" ] && echo ", i.e. the slowest")."
echo
echo "### Latency"
echo
echo "| request | p50 ms | p99 ms | mean ms | min ms | max ms | n |"
echo "|---|---:|---:|---:|---:|---:|---:|"
lat_row "GET $q/counts" counts
lat_row "GET $q?limit=$limit (page 1)" all_first
lat_row "GET $q?limit=$limit&cursor=… (page $pages)" all_deep
lat_row "GET $q?state=participating&limit=$limit (page 1)" participating_first
lat_row "GET $q?state=participating&limit=$limit&cursor=… (page $pages)" participating_deep
echo
echo "Reaching page $pages (following next_cursor $(( pages - 1 )) times, every page full, no person twice):"
echo "${W[all]}s for all live people, ${W[participating]}s for state=participating (every item participating: true)."
echo "Page $pages starts with the person at position $(( deep_offset + 1 )) in (created_at, id) order: all: ${W[all.order]};"
echo "participating: ${W[participating.order]}."
echo
echo "### Counts"
echo
echo "| count | answered | expected (from the rows) | |"
echo "|---|---:|---:|---|"
echo "$counts_rows"
echo
echo "$([ "$counts_mismatches" = 0 ] && echo "All counts match." || echo "**Counts that do not match: $counts_mismatches.**")"
echo
echo "### CSV import"
echo
echo "$rows rows, $csv_mib MiB, into tenant \`$itenant\` (empty before the first real import);"
echo "rows/s = rows / curl's time_total (request sent to answer read)."
echo
echo "| run | status | seconds | rows/s | created | updated | unchanged | skipped | errors | live people after | expected created / updated / unchanged, people after | |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
import_row "dry_run=true" dry "$rows" 0 0 0
import_row "dry_run=false" real "$rows" 0 0 "$rows"
import_row "dry_run=false again, same file" again 0 0 "$rows" "$rows"
for name in dry real again; do
  [ "${I[$name.first]}" = "-" ] || echo "- $name, first error or skip: ${I[$name.first]}"
done
echo
echo "### Memory"
echo
echo "| scimd peak RSS (VmHWM) | MiB |"
echo "|---|---:|"
echo "| after the list measurements | $hwm_list |"
echo "| at the end (after the imports) | $hwm_end |"
echo
echo "Server log: $server_errors WARN/ERROR lines$([ "$server_errors" != 0 ] && echo ", first ones:" || echo ".")"
if [ "$server_errors" != 0 ]; then
  echo
  grep -iE '\b(ERROR|WARN)\b' "$log" | head -n 5 | cut -c1-300 | sed 's/^/    /'
fi
exit 0
