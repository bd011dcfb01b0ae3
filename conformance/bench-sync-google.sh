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
# shellcheck source=bench/sync-lib.sh
. "$(dirname "$0")/bench/sync-lib.sh" Google 18437 "scimd_bench_google_$$" "$@"

say "fake Google: $users users, $groups groups, $members members each"
start_fake 2
google=$(head -n1 "$work/fake.out")
key_file=$(sed -n 2p "$work/fake.out")
start_scimd SCIMD_GOOGLE_TOKEN_URL="$google/token" SCIMD_GOOGLE_DIRECTORY_URL="$google"

api POST /tenants '{"slug":"bench"}' >/dev/null
api PUT /tenants/bench/connection "$(jq -nc --argjson sa "$key_file" '{provider: "google",
  admin_email: "admin@example.com", customer: "my_customer", service_account: $sa,
  scope: {type: "all"}}')" >/dev/null
# The deletions of step 3 are 0.5%: the brake (20% by default) lets them through.

# run LABEL: one sync, waited for; prints the report line and leaves the run in $run.
run() {
  sync_run "$1"
  printf '%-28s status %-9s %6.1f s (wall)  counts %s\n' "$1" \
    "$(jq -r .status <<<"$run")" "$last_wall" "$(run_counts)"
  [ "$(jq -r .status <<<"$run")" = succeeded ] || die "$1 did not succeed: $(jq -c .error <<<"$run")"
}

echo "# pull sync from a Google fake over HTTP: $users users, $groups groups ($members members each)"
run "1. initial sync"
report_initial
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

report_rss
