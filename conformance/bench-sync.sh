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
#   curl, jq and bc.
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
# shellcheck source=bench/sync-lib.sh
. "$(dirname "$0")/bench/sync-lib.sh" Graph 18436 "scimd_bench_sync_$$" "$@"

say "fake Graph: $users users, $groups groups, $members members on average"
start_fake 1
graph=$(head -n1 "$work/fake.out")
start_scimd SCIMD_GRAPH_LOGIN_URL="$graph" SCIMD_GRAPH_API_URL="$graph"

api POST /tenants '{"slug":"bench"}' >/dev/null
# Guests included (the fake makes one user in forty a guest), so that every user of the
# directory is a person: 100,000 people, and a 1% change is 1,000 of them.
api PUT /tenants/bench/connection '{"provider":"graph","directory_tenant_id":"contoso.example",
  "client_id":"00000000-0000-4000-a000-00000000c11e","client_secret":"right-secret",
  "scope":{"type":"all"},"include_guests":true}' >/dev/null

# run LABEL: one sync, waited for; prints the report line and leaves the run in $run.
run() {
  sync_run "$1"
  printf '%-28s status %-9s full %-5s %6.1f s (wall)  counts %s\n' "$1" \
    "$(jq -r .status <<<"$run")" "$(jq -r .full <<<"$run")" "$last_wall" "$(run_counts)"
}

echo "# pull sync from a Graph fake over HTTP: $users users, $groups groups ($members members on average)"
run "1. initial sync"
report_initial

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
updated=$(of_run user.updated)
echo "   the fake changed: $changed; updates planned: $(jq -r .counts.update <<<"$run"), user.updated events: $updated, events added: $(( $(events) - e0 ))"

report_rss
