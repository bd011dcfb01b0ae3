# Shell helpers of the SCIM benchmarks (the bench-*.sh beside this folder), sourced by
# them; not a script of its own.
#
# The functions read the caller's variables:
#   server, url      the PostgreSQL server (postgres://…:5432) and the measured database on it
#   work             the run's work folder (wrk outputs, request files, server logs)
#   port, auth       scimd's port and the "Authorization: Bearer …" header
#   pid              the running scimd's pid (start_server sets it, stop_server clears it)
#   conns, threads   wrk's connections and threads (a call may override them:
#                    `conns=1 threads=1 run_wrk …`)
#   duration, warmup wrk's measured run and its warm-up (0 or 0s: none)
#   wrk_timeout      optional: how long wrk waits for an answer before counting a timeout
#                    error (default 10s)
#   BENCH_LUA_DIR    this folder (the wrk scripts load common.lua from it)
# and fill the associative array R (declared here) with the figures.

declare -A R

say() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { say "error: $*"; exit 1; }
# need TOOL…: every tool on PATH, or a message saying where each comes from.
need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "$tool is needed (wrk: apt-get install wrk; psql, pg_dump, pgbench: postgresql-client or postgresql-contrib)"
  done
}
seconds() { # 15s, 15, 2m -> whole seconds (pgbench -T)
  case $1 in
    *ms) echo 1 ;;
    *s) echo "${1%s}" ;;
    *m) echo $(( ${1%m} * 60 )) ;;
    *) echo "$1" ;;
  esac
}
# The absolute path of an executable file given relative to the caller's directory; fails
# (prints nothing) when there is none.
abs_bin() { [ -f "$1" ] && [ -x "$1" ] && echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
sql() { psql -X -q -At -v ON_ERROR_STOP=1 "$url" "$@"; }

# seeded_settings: the seed's sizes (users, spare, small, depth), wrk's connections and
# threads (16, 2), the rounds, and whether the tables get statistics (analyze: true or
# false), from BENCH_USERS, BENCH_SPARE, BENCH_SMALL, BENCH_DEPTH, BENCH_ROUNDS and
# BENCH_STATS (fresh: VACUUM ANALYZE after seeding and after each create run; none: VACUUM
# only, and no_statistics checks that no table has any).
seeded_settings() {
  users="${BENCH_USERS:-100000}"
  spare="${BENCH_SPARE:-1000}"
  small="${BENCH_SMALL:-10}"
  depth="${BENCH_DEPTH:-$(( users * 9 / 10 ))}"
  conns=16
  threads=2
  rounds="${BENCH_ROUNDS:-3}"
  case $rounds in '' | *[!0-9]* | 0) die "BENCH_ROUNDS must be a whole number >= 1" ;; esac
  stats="${BENCH_STATS:-fresh}"
  case $stats in
    fresh) analyze=true ;;
    none) analyze=false ;;
    *) die "BENCH_STATS must be fresh or none" ;;
  esac
  [ "$depth" -lt "$users" ] || die "BENCH_DEPTH ($depth) must be below BENCH_USERS ($users)"
}

# on_exit: set as the EXIT trap (with INT and TERM exiting 130), it stops the server, drops
# the databases named in temp_dbs, and drops those in scratch_dbs and removes $work unless
# BENCH_KEEP=1 keeps them.
temp_dbs=()
scratch_dbs=()
# shellcheck disable=SC2317  # called by the EXIT trap
on_exit() {
  local d
  if [ -n "${pid:-}" ]; then kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; fi
  for d in "${temp_dbs[@]}"; do
    psql -q "$server/postgres" -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true
  done
  if [ "${BENCH_KEEP:-}" = 1 ]; then
    say "kept ${work:-}${scratch_dbs[*]:+ and the databases ${scratch_dbs[*]}}"
  else
    for d in "${scratch_dbs[@]}"; do
      psql -q "$server/postgres" -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true
    done
    if [ -n "${work:-}" ]; then rm -rf "$work"; fi
  fi
}
trap on_exit EXIT
trap 'exit 130' INT TERM

# ---- CPU and quiet ----------------------------------------------------------------------
hz=$(getconf CLK_TCK)
cpu_ticks_of() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
# Every local process named postgres (0 when the server runs elsewhere), with the time of
# those that have ended: a backend's time moves to the postmaster's children's time
# (cutime, cstime) when its connection closes, as pgbench's do at the end of a run.
cpu_ticks_postgres() {
  # (processes end between the glob and cat: cat fails then, which is fine)
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk '$2 == "(postgres)" { s += $14 + $15 + $16 + $17 } END { print s + 0 }'
}
per_request() { awk -v t="$1" -v n="$2" -v hz="$hz" 'BEGIN { printf "%.2f", (n > 0 ? t * 1000 / hz / n : 0) }'; }
# wrk stops counting at the deadline, but scimd still finishes the requests then in
# flight: wait until no query of the measured database is running.
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

# ---- the server -------------------------------------------------------------------------
# start_server BINARY LOG: `scimd serve` on the measured database, in the background; its
# pid in $pid, once /readyz answers and the token is accepted.
start_server() {
  local bin=$1 log=$2 _
  if curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null; then
    die "something already answers on port $port (set BENCH_PORT)"
  fi
  DATABASE_URL="$url" "$bin" serve --bind "127.0.0.1:$port" --no-bootstrap >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 150); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; pid=""; die "$bin exited at start"; }
    sleep 0.2
  done
  curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" || die "$bin not ready on port $port after 30s"
  curl -fsS -o /dev/null -H "$auth" "http://127.0.0.1:$port/scim/v2/ServiceProviderConfig" \
    || die "$bin refuses the token"
}
# stop_server NAME: the server's peak RSS into R[NAME.rss_kb] (the largest of the servers
# stopped under that name), SIGTERM, wait for it to exit.
stop_server() {
  local name=$1 hwm status=0 _
  kill -0 "$pid" 2>/dev/null || die "$name died during the run"
  hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
  if [ "$hwm" -gt "${R[$name.rss_kb]:-0}" ]; then R[$name.rss_kb]=$hwm; fi
  kill -TERM "$pid"
  for _ in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    die "$name still running 60s after SIGTERM"
  fi
  wait "$pid" || status=$?
  pid=""
  [ "$status" = 0 ] || say "warning: $name exited with status $status after SIGTERM"
}

# ---- the seeded tenant --------------------------------------------------------------------
# no_statistics: with BENCH_STATS=none, dies if any table of the measured database has
# statistics (an ANALYZE, or an autovacuum that analyzed it, would make it another run).
no_statistics() {
  [ "$analyze" = false ] || return 0
  local n
  n=$(sql -c "SELECT count(DISTINCT tablename) FROM pg_stats WHERE schemaname = current_schema()")
  [ "$n" = 0 ] || die "BENCH_STATS=none, but $n tables of $db have statistics (is autovacuum on?)"
}
# bench_tenant BINARY: tenant `bench` on the measured database, made by BINARY, its rate
# limit raised out of the way (the default is 100/s: the servers are measured, not the
# limit), and a token for it in $token and $auth.
bench_tenant() {
  DATABASE_URL="$url" "$1" tenant create bench >/dev/null
  DATABASE_URL="$url" "$1" tenant set bench --rate-per-second 100000 --rate-burst 1000000 >/dev/null
  token=$(DATABASE_URL="$url" "$1" token issue --tenant bench --label bench)
  auth="Authorization: Bearer $token"
}
# seed_tenant: bench/seed.sql into tenant `bench` ($users members of "Bench Everyone",
# $spare spare users, "Bench Small" of $small); the groups' ids in big_id and small_id, and
# the request files in $work: lookup.paths and get.paths (every seeded member, as Entra's
# match lookup and as a read by id), big.pairs and small.pairs (patch.lua's slots), and
# samples (five users for bench/prepare.py verify).
seed_tenant() {
  local t0
  say "seeding $users users in one group, $spare spare users, a group of $small"
  t0=$(date +%s)
  psql -X -q -v ON_ERROR_STOP=1 -v tenant=bench -v users="$users" -v spare="$spare" -v small="$small" \
    -v analyze="$analyze" -f "$BENCH_LUA_DIR/seed.sql" "$url" >/dev/null
  no_statistics
  say "seeded in $(( $(date +%s) - t0 ))s: $(sql -c "SELECT count(*) FROM users") users, \
$(sql -c "SELECT string_agg(g.display_name || ' ' || (SELECT count(*) FROM group_members m WHERE m.group_id = g.id), ', ') FROM groups g") members"
  big_id=$(sql -c "SELECT id FROM groups WHERE display_name = 'Bench Everyone'")
  small_id=$(sql -c "SELECT id FROM groups WHERE display_name = 'Bench Small'")
  sql -c "SELECT '/scim/v2/Users?filter=userName%20eq%20%22' || replace(user_name, '@', '%40') || '%22'
          FROM users WHERE user_name LIKE 'user%'" >"$work/lookup.paths"
  sql -c "SELECT '/scim/v2/Users/' || id FROM users WHERE user_name LIKE 'user%'" >"$work/get.paths"
  sql -c "SELECT a || ' ' || b FROM bench_patch_pairs WHERE group_name = 'big' ORDER BY slot" >"$work/big.pairs"
  sql -c "SELECT a || ' ' || b FROM bench_patch_pairs WHERE group_name = 'small' ORDER BY slot" >"$work/small.pairs"
  sql -c "SELECT id || ' ' || user_name FROM users WHERE user_name LIKE 'user%' ORDER BY random() LIMIT 5" >"$work/samples"
}
# verify_seed: the seeded users and the big group read back through the running server.
verify_seed() {
  python3 "$BENCH_LUA_DIR/prepare.py" verify "http://127.0.0.1:$port/scim/v2" "${auth#*Bearer }" \
    "$work/samples" "$big_id" >&2 || die "the seeded data does not read back as expected"
}

# ---- wrk ------------------------------------------------------------------------------------
# run_wrk NAME PATH SCRIPT [script args…]: a warm-up, then the measured run (wrk
# -t$threads -c$conns); the figures of its BENCH line into R[NAME.key], with CPU per
# request of scimd and of the local postgres processes (ms) and scimd's RSS after it (MiB).
# In the script arguments, @PHASE@ becomes `warm` or `run`. $BEFORE_RUN, when set, runs
# between the two.
run_wrk() {
  local name=$1 path=$2 script=$3
  shift 3
  local out="$work/${name//./-}.wrk" line kv c0 p0
  if [ "$warmup" != 0 ] && [ "$warmup" != 0s ]; then
    wrk -t"$threads" -c"$conns" -d"$warmup" --timeout "${wrk_timeout:-10s}" -H "$auth" -s "$BENCH_LUA_DIR/$script" \
      "http://127.0.0.1:$port$path" -- "${@//@PHASE@/warm}" >"${out%.wrk}.warmup" 2>&1 || true
  fi
  if [ -n "${BEFORE_RUN:-}" ]; then $BEFORE_RUN; fi
  wait_idle
  c0=$(cpu_ticks_of "$pid")
  p0=$(cpu_ticks_postgres)
  wrk -t"$threads" -c"$conns" -d"$duration" --timeout "${wrk_timeout:-10s}" --latency -H "$auth" \
    -s "$BENCH_LUA_DIR/$script" "http://127.0.0.1:$port$path" -- "${@//@PHASE@/run}" >"$out" 2>&1 \
    || { cat "$out" >&2; die "wrk failed for $name"; }
  line=$(grep '^BENCH ' "$out" | tail -n 1) || { cat "$out" >&2; die "no BENCH line for $name"; }
  for kv in $line; do
    case $kv in *=*) R["$name.${kv%%=*}"]=${kv#*=} ;; esac
  done
  grep '^BENCH_ERROR' "$out" | sed "s/^/  $name: /" >&2 || true
  R["$name.scimd_cpu"]=$(per_request $(( $(cpu_ticks_of "$pid") - c0 )) "${R[$name.requests]}")
  R["$name.pg_cpu"]=$(per_request $(( $(cpu_ticks_postgres) - p0 )) "${R[$name.requests]}")
  R["$name.rss"]=$(awk '/^VmRSS:/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status")
  say "$name: ${R[$name.rps]} req/s, p50 ${R[$name.p50_ms]} ms, p99 ${R[$name.p99_ms]} ms, \
${R[$name.requests]} requests, non-2xx ${R[$name.non2xx]}, socket errors ${R[$name.socket_errors]}"
}
invalid_run() { [ "${R[$1.non2xx]:-0}" != 0 ] || [ "${R[$1.socket_errors]:-0}" != 0 ]; }
# run_header WIDTH LABEL: the head of that table (LABEL: its workload column's).
run_header() {
  printf "  %-5s %-4s %-${1}s %9s %9s %9s %9s %12s %10s %8s  %s\n" round bin "$2" "req/s" "p50 ms" "p99 ms" requests \
    non2xx/sock "scimd CPU" "pg CPU" ""
}
# run_row ROUND BIN WORKLOAD WIDTH: one line of a report's "every run" table, for the run
# R[BIN.WORKLOAD.ROUND] (WIDTH: the workload column's).
run_row() {
  local n="$2.$3.$1" note=""
  case $3 in patch_*) note="${R[$n.effective]} membership changes, group size after ${R[$n.size_after]}" ;; esac
  if invalid_run "$n"; then note="INVALID $note"; fi
  printf "  %-5s %-4s %-${4}s %9s %9s %9s %9s %12s %7s ms %5s ms  %s\n" "$1" "$2" "$3" "${R[$n.rps]}" \
    "${R[$n.p50_ms]}" "${R[$n.p99_ms]}" "${R[$n.requests]}" "${R[$n.non2xx]}/${R[$n.socket_errors]}" \
    "${R[$n.scimd_cpu]}" "${R[$n.pg_cpu]}" "$note"
}
# server_problems BIN…: each binary's peak RSS (stop_server's) and the WARN/ERROR lines of
# its servers' logs ($work/server-BIN-r*.log), the first five shown.
server_problems() {
  local b lines
  for b in "$@"; do
    { grep -hiE '\b(ERROR|WARN)\b' "$work"/server-"$b"-r*.log || true; } >"$work/problems-$b"
    lines=$(wc -l <"$work/problems-$b")
    echo "$b: peak RSS (VmHWM, max over its $rounds servers) $(f2 "$(awk -v k="${R[$b.rss_kb]}" 'BEGIN { print k / 1024 }')") MiB; server logs: $lines WARN/ERROR lines"
    head -n 5 "$work/problems-$b" | cut -c1-300 | sed 's/^/    /'
  done
}

# after_create PREFIX: the users a create run made (their userNames start with PREFIX) out
# again, with their events, then vacuumed: every later run sees the seeded rows whatever
# the create rate was.
after_create() {
  local n
  wait_idle
  # Each table once, by a test of its own rows: a join of events to the deleted users (no
  # index on events.resource_id) ran for minutes. Nothing refers to a user by a foreign
  # key, so the delete checks nothing else.
  sql -c "DELETE FROM events WHERE resource_type = 'User' AND type = 'user.created'
          AND data->>'userName' LIKE '$1%'" >/dev/null
  n=$(sql -c "WITH gone AS (DELETE FROM users WHERE user_name LIKE '$1%' RETURNING id)
              SELECT count(*) FROM gone")
  # The delete goes around scimd, so the tenants' counts are set again from their rows
  # (where the schema keeps them).
  sql -c "DO \$\$ BEGIN IF to_regproc('scimd_recount') IS NOT NULL THEN
            PERFORM scimd_recount(id) FROM tenants; END IF; END \$\$" >/dev/null
  sql -c "VACUUM (ANALYZE $analyze) users, events, group_members" >/dev/null
  no_statistics
  say "  removed the $n users the create run made (warm-up included); vacuumed"
}

# ---- member PATCH runs ----------------------------------------------------------------------
# The group back to: every a of its pairs a member, every b not (see patch.lua), under the
# group's row lock as scimd's own PATCH takes it.
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
# Run by run_wrk between the warm-up and the measured run.
# shellcheck disable=SC2317  # called through $BEFORE_RUN
patch_reset_and_mark() { reset_group "$1" "$2"; patch_v0=$(group_state "$1" | cut -d' ' -f1); }
# patch_run NAME GROUP_ID PAIRS SIZE [PREFER]: patch.lua on the group (reset before the
# measured run), sending `Prefer: PREFER` when given; R[NAME.effective] counts the requests
# that changed the membership (each bumps the group's version once), R[NAME.size_after]
# the group's size after (it must still be SIZE).
patch_run() {
  local name=$1 gid=$2 pairs=$3 size=$4 prefer=${5:-} v1 n1
  BEFORE_RUN="patch_reset_and_mark $gid $pairs"
  run_wrk "$name" "/scim/v2/Groups/$gid" patch.lua "$work/$pairs.pairs" "$threads" "$prefer"
  BEFORE_RUN=""
  wait_idle
  read -r v1 n1 < <(group_state "$gid")
  R["$name.effective"]=$(( v1 - patch_v0 ))
  R["$name.size_after"]=$n1
  say "$name: ${R[$name.effective]} membership changes for ${R[$name.requests]} requests; group size after: $n1 (expected $size)"
  if [ "$n1" != "$size" ]; then say "warning: $name left the group at $n1 members, not $size"; fi
}

# ---- pgbench ceilings -----------------------------------------------------------------------
# pgbench_ceiling NAME DATABASE_URL PGBENCH_ARGS…: tx/s into R[NAME], and PostgreSQL's CPU
# per transaction (ms) into R[NAME.pg_cpu], at $conns clients for $duration; dies when
# pgbench reports none.
pgbench_ceiling() {
  local name=$1 db=$2 tps n p0
  shift 2
  wait_idle
  p0=$(cpu_ticks_postgres)
  pgbench -n "$@" -c "$conns" -j "$threads" -T "$(seconds "$duration")" "$db" >"$work/pgbench-$name.log" 2>&1 || true
  sleep 0.2 # the postmaster collects its ended backends' time
  tps=$(awk '/^tps = / {t = $3} END {print t}' "$work/pgbench-$name.log")
  n=$(awk '/^number of transactions actually processed:/ {print $NF}' "$work/pgbench-$name.log")
  [ -n "$tps" ] || { cat "$work/pgbench-$name.log" >&2; die "pgbench failed ($name)"; }
  R[$name]=$tps
  R[$name.pg_cpu]=$(per_request $(( $(cpu_ticks_postgres) - p0 )) "${n:-0}")
  say "pgbench $name: $tps tx/s, PostgreSQL CPU ${R[$name.pg_cpu]} ms per transaction"
}

# ---- figures ----------------------------------------------------------------------------------
f2() { awk -v x="$1" 'BEGIN { printf "%.2f", x }'; }
# Unrounded: verdicts compare these.
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", (b > 0 ? a / b : 0) }'; }
# As printed: 3 decimals, cut toward the target's failing side. A ">=" ratio of 0.3996
# reads 0.399 (not a met-looking 0.400); a "<=" one of 2.0004 reads 2.001.
shown() { awk -v x="$1" 'BEGIN { printf "%.3f", int(x * 1000) / 1000 }'; }
shown_up() { awk -v x="$1" 'BEGIN { y = int(x * 1000); if (y < x * 1000) y++; printf "%.3f", y / 1000 }'; }
pct() { awk -v x="$1" 'BEGIN { printf "%.1f%%", x * 100 }'; }
# Of the numbers on stdin (separated by spaces or lines):
median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{v[NR] = $1} END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# (max - min) / median.
spread() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{v[NR] = $1} END {
  m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
  printf "%.6f", (m > 0 ? (v[NR] - v[1]) / m : 0) }'; }
# meets RATIO OP TARGET: exit 0 when RATIO OP TARGET holds (OP: >=, <=, <).
meets() { awk -v r="$1" -v t="$3" -v op="$2" 'BEGIN { exit !((op == ">=") ? r >= t : (op == "<=") ? r <= t : r < t) }'; }
# noise_verdict OLD_VALUES NEW_VALUES higher|lower (which way is better): "within noise"
# when NEW's median is not worse than OLD's by more than the larger of the two spreads.
noise_verdict() {
  local om nm os ns
  om=$(median <<<"$1"); nm=$(median <<<"$2")
  os=$(spread <<<"$1"); ns=$(spread <<<"$2")
  if awk -v o="$om" -v n="$nm" -v a="$os" -v b="$ns" -v better="$3" 'BEGIN {
       noise = (a > b ? a : b)
       if (o <= 0) exit 1
       worse = (better == "higher") ? (o - n) / o : (n - o) / o
       exit !(worse <= noise) }'; then
    echo "within noise"
  else
    echo SLOWER
  fi
}
