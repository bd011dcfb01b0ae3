#!/usr/bin/env bash
# Pull sync from Microsoft Graph, measured end to end: scimd serving on a fresh database,
# reading a Graph fake (examples/fake_graph.rs) over HTTP that serves 100,000 users and
# 1,000 groups (50 members on average) in pages of 999, as Graph does.
#
# Usage: conformance/bench-sync.sh [SCIMD_BINARY [FAKE_BINARY]]
#   Defaults: target/release/scimd and target/release/examples/fake_graph (build them with
#   `cargo build --release --bin scimd --example fake_graph`). Progress goes to stderr, the
#   report to stdout. Measure on an otherwise idle machine.
# Needs: a PostgreSQL server at DATABASE_URL (default
#   postgres://postgres@127.0.0.1:5432/postgres; a user allowed to create databases), psql,
#   curl and jq.
# Settings: BENCH_SYNC_USERS (100000), BENCH_SYNC_GROUPS (1000), BENCH_SYNC_MEMBERS (50),
#   BENCH_PORT (18436), BENCH_KEEP=1 keeps the scratch database and the work folder.
#
# What it does, each step one run started with POST /admin/v1/tenants/bench/sync and read
# back from GET …/sync-runs/{id} until it ends:
#   1. Initial sync: the first run of a new connection (a full listing). Its time (the
#      run's started_at to finished_at) and people per second.
#   2. A delta run with nothing changed.
#   3. A forced full resync with nothing changed (the fake answers the stored delta link
#      with 410 Gone): its time, and the writes it made (events added, the sum of the
#      people's versions), which must be zero.
#   4. 1% of the users change department: exactly that many updates and user.updated
#      events.
#   Then scimd's peak resident memory (VmHWM). The server's log (kept with BENCH_KEEP=1)
#   has each run's time to read and stage, to plan and to apply.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin=${1:-$root/target/release/scimd}
fake=${2:-$root/target/release/examples/fake_graph}
users=${BENCH_SYNC_USERS:-100000}
groups=${BENCH_SYNC_GROUPS:-1000}
members=${BENCH_SYNC_MEMBERS:-50}
port=${BENCH_PORT:-18436}
server_url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
server=${server_url%/*}
db=scimd_bench_sync_$$
url=$server/$db
work=$(mktemp -d)
pid=""
fake_pid=""

say() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { say "error: $*"; exit 1; }
for tool in psql curl jq; do command -v "$tool" >/dev/null || die "$tool is needed"; done
[ -x "$bin" ] || die "no scimd binary at $bin"
[ -x "$fake" ] || die "no fake Graph binary at $fake"

cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null
  if [ "${BENCH_KEEP:-}" = 1 ]; then
    say "kept $work and the database $db"
  else
    psql -q "$server/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
sql() { psql -X -q -At -v ON_ERROR_STOP=1 "$url" "$@"; }

say "fake Graph: $users users, $groups groups, $members members on average"
"$fake" --users "$users" --groups "$groups" --members "$members" >"$work/fake.out" 2>"$work/fake.log" &
fake_pid=$!
for _ in $(seq 1 100); do [ -s "$work/fake.out" ] && break; sleep 0.1; done
graph=$(head -n1 "$work/fake.out")
[ -n "$graph" ] || die "the fake did not start: $(cat "$work/fake.log")"

DATABASE_URL=$url "$bin" migrate 2>/dev/null
admin=$(DATABASE_URL=$url "$bin" admin-key issue --label bench)
key=$("$bin" secret-key generate)
DATABASE_URL=$url SCIMD_SECRET_KEY=$key SCIMD_GRAPH_LOGIN_URL=$graph SCIMD_GRAPH_API_URL=$graph \
  SCIMD_LOG=${SCIMD_LOG:-info} "$bin" serve --bind "127.0.0.1:$port" --no-bootstrap >"$work/scimd.log" 2>&1 &
pid=$!
for _ in $(seq 1 150); do curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break; sleep 0.2; done
curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" || die "scimd did not start: $(cat "$work/scimd.log")"

api() { # METHOD PATH [BODY]
  curl -fsS -X "$1" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    ${3:+--data "$3"} "http://127.0.0.1:$port/admin/v1$2"
}
api POST /tenants '{"slug":"bench"}' >/dev/null
# Guests included (the fake makes one user in forty a guest), so that every user of the
# directory is a person: 100,000 people, and a 1% change is 1,000 of them.
api PUT /tenants/bench/connection '{"provider":"graph","directory_tenant_id":"contoso.example",
  "client_id":"00000000-0000-4000-a000-00000000c11e","client_secret":"right-secret",
  "scope":{"type":"all"},"include_guests":true}' >/dev/null

# run LABEL: one sync, waited for; prints the report line and leaves the run in $run.
run() {
  local id started wall
  started=$(date +%s.%N)
  id=$(api POST /tenants/bench/sync | jq -r .run_id)
  while :; do
    run=$(api GET "/tenants/bench/sync-runs/$id")
    case $(jq -r .status <<<"$run") in queued | running) sleep 0.2 ;; *) break ;; esac
  done
  wall=$(echo "$(date +%s.%N) - $started" | bc)
  secs=$(jq -r '((.finished_at | sub("\\.[0-9]+"; "") | fromdate) - (.started_at | sub("\\.[0-9]+"; "") | fromdate))' <<<"$run")
  say "$1: $(jq -c '{status, full, counts: (.counts | with_entries(select(.value > 0))), error}' <<<"$run")"
  printf '%-28s status %-9s full %-5s %6.1f s (wall)  counts %s\n' "$1" \
    "$(jq -r .status <<<"$run")" "$(jq -r .full <<<"$run")" "$wall" \
    "$(jq -c '.counts | with_entries(select(.value > 0))' <<<"$run")"
  last_wall=$wall
  : "$secs"
}
events() { sql -c "SELECT count(*) FROM events"; }
versions() { sql -c "SELECT coalesce(sum(version), 0) FROM users"; }

echo "# pull sync from a Graph fake over HTTP: $users users, $groups groups ($members members on average)"
run "1. initial sync"
created=$(jq -r '.counts.create + .counts.adopt' <<<"$run")
echo "   people written: $created, $(echo "scale=0; $created / $last_wall" | bc) people/s end to end (target >= 5000)"
echo "   rows: $(sql -c "SELECT count(*) FROM users") users, $(sql -c "SELECT count(*) FROM groups") groups, $(sql -c "SELECT count(*) FROM group_members") memberships, $(events) events"

e0=$(events); v0=$(versions)
run "2. delta, no change"
echo "   events added: $(( $(events) - e0 )), versions moved: $(( $(versions) - v0 ))"

curl -fsS -X POST "$graph/_fake/expire-delta" >/dev/null
e0=$(events); v0=$(versions)
run "3. full resync, no change"
echo "   events added: $(( $(events) - e0 )), versions moved: $(( $(versions) - v0 )) (both must be 0)"

changed=$(curl -fsS -X POST "$graph/_fake/change?percent=1")
e0=$(events)
run "4. 1% changed"
updated=$(sql -c "SELECT count(*) FROM events WHERE type = 'user.updated' AND actor = 'sync:$(jq -r .id <<<"$run")'")
echo "   the fake changed: $changed; updates planned: $(jq -r .counts.update <<<"$run"), user.updated events: $updated, events added: $(( $(events) - e0 ))"

echo "scimd peak RSS: $(awk '/VmHWM/ {printf "%.0f MiB", $2 / 1024}' "/proc/$pid/status") (target < 256 MiB)"
