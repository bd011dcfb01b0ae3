# Shell helpers of the pull sync benchmarks (bench-sync.sh, bench-sync-google.sh), sourced
# by them; not a script of its own.
#
# Sourced with its settings as arguments:
#   . sync-lib.sh PROVIDER PORT DB [SCIMD_BINARY [FAKE_BINARY]]
#   PROVIDER         the directory's name in messages (Graph, Google); its fake server is
#                    the example fake_<provider in lower case> (examples/fake_*.rs)
#   PORT             scimd's port unless BENCH_PORT is set
#   DB               the scratch database's name
#   SCIMD_BINARY, FAKE_BINARY  the caller's own arguments, by default the release builds
#                    of scimd and of the example
# and gives provider, port, db, bin and fake, the settings users, groups and members
# (BENCH_SYNC_USERS, BENCH_SYNC_GROUPS, BENCH_SYNC_MEMBERS), the work folder, the helpers
# below, and an EXIT trap that stops both servers and drops the database and the folder
# unless BENCH_KEEP=1 keeps them.

provider=$1
port=${BENCH_PORT:-$2}
db=$3
shift 3
example=fake_${provider,,}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${1:-$root/target/release/scimd}
fake=${2:-$root/target/release/examples/$example}
users=${BENCH_SYNC_USERS:-100000}
groups=${BENCH_SYNC_GROUPS:-1000}
members=${BENCH_SYNC_MEMBERS:-50}
server_url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
server=${server_url%/*}
url=$server/$db
work=$(mktemp -d)
pid=""
fake_pid=""

say() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { say "error: $*"; exit 1; }
for tool in psql curl jq bc; do command -v "$tool" >/dev/null || die "$tool is needed"; done
[ -x "$bin" ] || die "no scimd binary at $bin"
[ -x "$fake" ] || die "no fake $provider binary at $fake"

# shellcheck disable=SC2317  # called by the EXIT trap
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

# start_fake LINES: the fake in the background, its pid in $fake_pid, once it has printed
# LINES lines (its base URL first) into $work/fake.out.
start_fake() {
  local _
  "$fake" --users "$users" --groups "$groups" --members "$members" >"$work/fake.out" 2>"$work/fake.log" &
  fake_pid=$!
  for _ in $(seq 1 100); do [ "$(wc -l <"$work/fake.out")" -ge "$1" ] && break; sleep 0.1; done
  [ "$(wc -l <"$work/fake.out")" -ge "$1" ] || die "the fake did not start: $(cat "$work/fake.log")"
}

# start_scimd NAME=VALUE…: a migrated database, an admin key in $admin, and `scimd serve`
# on it in the background with a fresh secret key and these settings, its pid in $pid,
# once /readyz answers.
start_scimd() {
  local key _
  DATABASE_URL=$url "$bin" migrate 2>/dev/null
  admin=$(DATABASE_URL=$url "$bin" admin-key issue --label bench)
  key=$("$bin" secret-key generate)
  env DATABASE_URL="$url" SCIMD_SECRET_KEY="$key" SCIMD_LOG="${SCIMD_LOG:-info}" "$@" \
    "$bin" serve --bind "127.0.0.1:$port" --no-bootstrap >"$work/scimd.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 150); do curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break; sleep 0.2; done
  curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" || die "scimd did not start: $(cat "$work/scimd.log")"
}

api() { # METHOD PATH [BODY]
  curl -fsS -X "$1" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    ${3:+--data "$3"} "http://127.0.0.1:$port/admin/v1$2"
}

# sync_run LABEL: one sync of tenant `bench`, waited for; the run in $run, its wall time in
# $last_wall, and a line of it on stderr.
sync_run() {
  local id started
  started=$(date +%s.%N)
  id=$(api POST /tenants/bench/sync | jq -r .run_id)
  while :; do
    run=$(api GET "/tenants/bench/sync-runs/$id")
    case $(jq -r .status <<<"$run") in queued | running) sleep 0.2 ;; *) break ;; esac
  done
  last_wall=$(echo "$(date +%s.%N) - $started" | bc)
  say "$1: $(jq -c '{status, full, counts: (.counts | with_entries(select(.value > 0))), error}' <<<"$run")"
}
# The counts of the run in $run that are not zero.
run_counts() { jq -c '.counts | with_entries(select(.value > 0))' <<<"$run"; }
events() { sql -c "SELECT count(*) FROM events"; }
versions() { sql -c "SELECT coalesce(sum(version), 0) FROM users"; }
# of_run TYPE: the events of TYPE the run in $run wrote.
of_run() { sql -c "SELECT count(*) FROM events WHERE type = '$1' AND actor = 'sync:$(jq -r .id <<<"$run")'"; }

# report_initial: the first run's people per second and the rows it left.
report_initial() {
  local created
  created=$(jq -r '.counts.create + .counts.adopt' <<<"$run")
  echo "   people written: $created, $(echo "scale=0; $created / $last_wall" | bc) people/s end to end (target >= 5000)"
  echo "   rows: $(sql -c "SELECT count(*) FROM users") users, $(sql -c "SELECT count(*) FROM groups") groups, $(sql -c "SELECT count(*) FROM group_members") memberships, $(events) events"
}
report_rss() {
  echo "scimd peak RSS: $(awk '/VmHWM/ {printf "%.0f MiB", $2 / 1024}' "/proc/$pid/status") (target < 256 MiB)"
}
