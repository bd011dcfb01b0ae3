#!/usr/bin/env bash
# Pull sync from Google Workspace, measured end to end: scimd serving on a fresh database,
# reading a Google fake (examples/fake_google.rs: the token endpoint and the Directory API)
# over HTTP that serves 100,000 users and 1,000 groups (50 members each) in the API's own
# pages (500 users, 200 groups or members). Every user but the first reports to a manager.
#
# Usage: conformance/bench-sync-google.sh [SCIMD_BINARY [FAKE_BINARY]]
#   Defaults: target/release/scimd and target/release/examples/fake_google (build them with
#   `cargo build --release --bin scimd --example fake_google`). Progress goes to stderr, the
#   report to stdout. Measure on an otherwise idle machine.
# Needs: a PostgreSQL server at DATABASE_URL (default
#   postgres://postgres@127.0.0.1:5432/postgres; a user allowed to create databases), psql,
#   curl, jq and bc.
# Settings: BENCH_SYNC_USERS (100000), BENCH_SYNC_GROUPS (1000), BENCH_SYNC_MEMBERS (50),
#   BENCH_PORT (18437), BENCH_KEEP=1 keeps the scratch database and the work folder.
#
# What it does, each step one run started with POST /admin/v1/tenants/bench/sync and read
# back from GET …/sync-runs/{id} until it ends (Google has no delta: every run is a full
# listing diffed against everyone the connection manages):
#   1. Initial sync: the first run of a new connection. Its time and people per second.
#   2. A run with nothing changed: its time, and the writes it made (events added, the sum
#      of the people's versions), which must be zero.
#   3. 1% of the users change their family name and 0.5% are deleted (nobody's manager, so
#      no one else changes): exactly that many updates and deprovisions planned, and that
#      many user.updated and user.deprovisioned events.
#   Then scimd's peak resident memory (VmHWM). The server's log (kept with BENCH_KEEP=1)
#   has each run's time to read and stage, to plan and to apply.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin=${1:-$root/target/release/scimd}
fake=${2:-$root/target/release/examples/fake_google}
users=${BENCH_SYNC_USERS:-100000}
groups=${BENCH_SYNC_GROUPS:-1000}
members=${BENCH_SYNC_MEMBERS:-50}
port=${BENCH_PORT:-18437}
server_url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
server=${server_url%/*}
db=scimd_bench_google_$$
url=$server/$db
work=$(mktemp -d)
pid=""
fake_pid=""

say() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { say "error: $*"; exit 1; }
for tool in psql curl jq bc; do command -v "$tool" >/dev/null || die "$tool is needed"; done
[ -x "$bin" ] || die "no scimd binary at $bin"
[ -x "$fake" ] || die "no fake Google binary at $fake"

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

say "fake Google: $users users, $groups groups, $members members each"
"$fake" --users "$users" --groups "$groups" --members "$members" >"$work/fake.out" 2>"$work/fake.log" &
fake_pid=$!
for _ in $(seq 1 100); do [ "$(wc -l <"$work/fake.out")" -ge 2 ] && break; sleep 0.1; done
google=$(head -n1 "$work/fake.out")
key_file=$(sed -n 2p "$work/fake.out")
[ -n "$google" ] && [ -n "$key_file" ] || die "the fake did not start: $(cat "$work/fake.log")"

DATABASE_URL=$url "$bin" migrate 2>/dev/null
admin=$(DATABASE_URL=$url "$bin" admin-key issue --label bench)
key=$("$bin" secret-key generate)
DATABASE_URL=$url SCIMD_SECRET_KEY=$key SCIMD_GOOGLE_TOKEN_URL=$google/token \
  SCIMD_GOOGLE_DIRECTORY_URL=$google SCIMD_LOG=${SCIMD_LOG:-info} \
  "$bin" serve --bind "127.0.0.1:$port" --no-bootstrap >"$work/scimd.log" 2>&1 &
pid=$!
for _ in $(seq 1 150); do curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break; sleep 0.2; done
curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" || die "scimd did not start: $(cat "$work/scimd.log")"

api() { # METHOD PATH [BODY]
  curl -fsS -X "$1" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    ${3:+--data "$3"} "http://127.0.0.1:$port/admin/v1$2"
}
api POST /tenants '{"slug":"bench"}' >/dev/null
api PUT /tenants/bench/connection "$(jq -nc --argjson sa "$key_file" '{provider: "google",
  admin_email: "admin@example.com", customer: "my_customer", service_account: $sa,
  scope: {type: "all"}}')" >/dev/null
# The deletions of step 3 are 0.5%: the brake (20% by default) lets them through.

# run LABEL: one sync, waited for; prints the report line and leaves the run in $run.
run() {
  local id started
  started=$(date +%s.%N)
  id=$(api POST /tenants/bench/sync | jq -r .run_id)
  while :; do
    run=$(api GET "/tenants/bench/sync-runs/$id")
    case $(jq -r .status <<<"$run") in queued | running) sleep 0.2 ;; *) break ;; esac
  done
  last_wall=$(echo "$(date +%s.%N) - $started" | bc)
  say "$1: $(jq -c '{status, full, counts: (.counts | with_entries(select(.value > 0))), error}' <<<"$run")"
  printf '%-28s status %-9s %6.1f s (wall)  counts %s\n' "$1" \
    "$(jq -r .status <<<"$run")" "$last_wall" \
    "$(jq -c '.counts | with_entries(select(.value > 0))' <<<"$run")"
  [ "$(jq -r .status <<<"$run")" = succeeded ] || die "$1 did not succeed: $(jq -c .error <<<"$run")"
}
events() { sql -c "SELECT count(*) FROM events"; }
versions() { sql -c "SELECT coalesce(sum(version), 0) FROM users"; }
of_run() { sql -c "SELECT count(*) FROM events WHERE type = '$1' AND actor = 'sync:$(jq -r .id <<<"$run")'"; }

echo "# pull sync from a Google fake over HTTP: $users users, $groups groups ($members members each)"
run "1. initial sync"
created=$(jq -r '.counts.create + .counts.adopt' <<<"$run")
echo "   people written: $created, $(echo "scale=0; $created / $last_wall" | bc) people/s end to end (target >= 5000)"
echo "   rows: $(sql -c "SELECT count(*) FROM users") users, $(sql -c "SELECT count(*) FROM groups") groups, $(sql -c "SELECT count(*) FROM group_members") memberships, $(events) events"
echo "   people with a manager: $(sql -c "SELECT count(*) FROM users WHERE resource #> '{urn:ietf:params:scim:schemas:extension:enterprise:2.0:User,manager,value}' IS NOT NULL")"

e0=$(events); v0=$(versions)
run "2. full run, no change"
echo "   $last_wall s; events added: $(( $(events) - e0 )), versions moved: $(( $(versions) - v0 )) (both must be 0)"

changed=$(curl -fsS -X POST "$google/_fake/change?percent=1")
removed=$(curl -fsS -X POST "$google/_fake/remove?percent=0.5")
e0=$(events)
run "3. 1% changed, 0.5% removed"
echo "   the fake changed $changed and removed $removed; planned: $(jq -r .counts.update <<<"$run") updates, $(jq -r .counts.deprovision <<<"$run") deprovisions; events: $(of_run user.updated) user.updated, $(of_run user.deprovisioned) user.deprovisioned, $(( $(events) - e0 )) in all"
[ "$(jq -r .counts.update <<<"$run")" = "$changed" ] && [ "$(jq -r .counts.deprovision <<<"$run")" = "$removed" ] \
  || say "warning: the counts differ from what the fake changed"

echo "scimd peak RSS: $(awk '/VmHWM/ {printf "%.0f MiB", $2 / 1024}' "/proc/$pid/status") (target < 256 MiB)"
