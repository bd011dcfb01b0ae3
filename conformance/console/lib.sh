# Shell helpers of the console's scripts (run.sh, bench.sh), sourced by them; not a script
# of its own.
#
# The caller sets db (a scratch database's name) before sourcing, and gets base (the
# PostgreSQL server's URL, DATABASE_URL's), url (the scratch database's) and work (a
# scratch folder). It sets pid and fake_pid when it starts scimd and the Graph fake: the
# EXIT trap set here stops them and drops the database and the folder.

base="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
url="${base%/*}/$db"
work=$(mktemp -d)

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -n "${fake_pid:-}" ] && kill "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null
  psql -q "${base%/*}/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# wait_ready PORT LOG: returns once scimd answers /readyz on PORT (30 s at most); otherwise
# prints its LOG and exits 1.
wait_ready() {
  local _
  for _ in $(seq 1 150); do
    curl -fsS -o /dev/null "http://127.0.0.1:$1/readyz" 2>/dev/null && return
    sleep 0.2
  done
  echo "scimd did not start: $(cat "$2")" >&2
  exit 1
}
