#!/usr/bin/env bash
# Issue 22, point 1: do two nodes on one database agree within a second?
#
# Usage: conformance/nodes.sh [rounds, default 20] [scimd binary]
#   The binary may also be given as SCIMD_BIN; without one, `cargo build --release` and
#   target/release/scimd. Progress goes to stderr, the report to stdout.
# Needs: a PostgreSQL server at DATABASE_URL (default
#   postgres://postgres@127.0.0.1:5432/postgres; a user allowed to create databases), psql,
#   curl and python3.
#
# What it does, on a scratch database dropped on exit, with two `scimd serve` on loopback
# ports (A and B):
#   1. `rounds` times: a new token, used once on B (so B has it cached, for the default
#      token cache TTL of a minute), revoked through A's admin API (odd rounds) or with
#      `scimd token revoke` (even rounds); B is then asked every 10 ms until it answers 401,
#      for at most 5 s. The time from the revocation's return to B's first 401 is recorded.
#   2. `rounds` times: `scimd tenant set --rate-per-second/--rate-burst` to a limit of 1/s,
#      burst 1 and back to the default, and the time until B answers 429 (after the
#      change to 1/s, with one request a second allowed, the second request within the
#      second is refused).
#   3. B's change listener cut with pg_terminate_backend: how long until B's /metrics says
#      it listens again.
# Reports min, median and max of each, and whether every one was under 1 s. Exit 0 whatever
# the figures; 1 only when the run itself failed.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
rounds="${1:-20}"
bin="${2:-${SCIMD_BIN:-}}"
port_a="${BENCH_PORT:-18441}"
port_b=$((port_a + 1))
base="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
server="${base%/*}"
db="scimd_nodes_$$"
url="$server/$db"

# say, die, need, abs_bin, and on_exit, which drops the databases in temp_dbs and $work.
# shellcheck source=conformance/bench/lib.sh
. "$repo/conformance/bench/lib.sh"
need psql curl python3
case $rounds in '' | *[!0-9]* | 0) die "rounds must be a whole number >= 1" ;; esac
[ "$rounds" -le 1000 ] || die "at most 1000 rounds"
if [ -z "$bin" ]; then
  say "building scimd (cargo build --release)"
  cargo build --release --quiet
  bin="$repo/target/release/scimd"
fi
bin=$(abs_bin "$bin") || die "no scimd binary at $bin"

work=$(mktemp -d "${TMPDIR:-/tmp}/nodes.XXXXXX")
temp_dbs+=("$db")
pids=()
# shellcheck disable=SC2317  # called by the EXIT trap
stop_nodes() {
  local p
  for p in "${pids[@]}"; do { kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; } || true; done
  on_exit
}
trap stop_nodes EXIT

export DATABASE_URL="$url" SCIMD_LOG="${SCIMD_LOG:-warn}"
"$bin" migrate >/dev/null
"$bin" tenant create acme >/dev/null
admin=$("$bin" admin-key issue --label nodes)
for port in "$port_a" "$port_b"; do
  "$bin" serve --bind "127.0.0.1:$port" --no-bootstrap --sync-workers 0 >"$work/$port.log" 2>&1 &
  pids+=("$!")
done
a="http://127.0.0.1:$port_a"
b="http://127.0.0.1:$port_b"
listening() { curl -fsS "$1/metrics" 2>/dev/null | grep -q '^scimd_change_listener_connected 1'; }
for node in "$a" "$b"; do
  for _ in $(seq 1 150); do
    listening "$node" && break
    sleep 0.1
  done
  listening "$node" || { cat "$work"/*.log >&2; die "$node does not listen for changes"; }
done

now_ms() { date +%s%3N; }
# until_status NODE TOKEN STATUS: ms until NODE answers STATUS to TOKEN (polling every
# 10 ms, at most 5 s); "timeout" when it does not.
until_status() {
  local start=$(now_ms) code
  for _ in $(seq 1 500); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $2" "$1/scim/v2/Users?count=1")
    if [ "$code" = "$3" ]; then echo $(( $(now_ms) - start )); return; fi
    sleep 0.01
  done
  echo timeout
}
revoked=()
for i in $(seq 1 "$rounds"); do
  token=$("$bin" token issue --tenant acme)
  key=$(echo "$token" | cut -d_ -f2)
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$b/scim/v2/Users?count=1")" = 200 ] \
    || die "B refused a fresh token"
  if [ $((i % 2)) = 1 ]; then
    curl -fsS -o /dev/null -X DELETE -H "Authorization: Bearer $admin" "$a/admin/v1/tenants/acme/tokens/$key"
  else
    "$bin" token revoke "$key" 2>/dev/null
  fi
  revoked+=("$(until_status "$b" "$token" 401)")
done
say "revocations: ${revoked[*]} ms"

token=$("$bin" token issue --tenant acme)
limited=()
for _ in $(seq 1 "$rounds"); do
  "$bin" tenant set acme --rate-per-second 100 --rate-burst 200 >/dev/null
  sleep 0.2
  curl -s -o /dev/null -H "Authorization: Bearer $token" "$b/scim/v2/Users?count=1"
  "$bin" tenant set acme --rate-per-second 1 --rate-burst 1 >/dev/null
  limited+=("$(until_status "$b" "$token" 429)")
done
say "rate limit changes: ${limited[*]} ms"

name=$(psql -X -At "$url" -c "SELECT application_name FROM pg_stat_activity WHERE application_name LIKE 'scimd-listener-%' ORDER BY backend_start DESC LIMIT 1")
psql -X -q -At "$url" -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '$name'" >/dev/null
start=$(now_ms)
back=timeout
for _ in $(seq 1 300); do
  sleep 0.1
  if listening "$a" && listening "$b"; then
    back=$(( $(now_ms) - start ))
    break
  fi
done
# The cut node shows a reconnect.
reconnects=$( { curl -fsS "$a/metrics"; curl -fsS "$b/metrics"; } | awk '/^scimd_change_listener_reconnects_total/ {s += $2} END {print s + 0}')

summary() { # ms values (or "timeout") -> "min median max, all < 1000 ms: yes/no"
  python3 - "$@" <<'PY'
import statistics, sys
vals = sys.argv[1:]
ms = [int(v) for v in vals if v != "timeout"]
late = sum(1 for v in vals if v == "timeout" or int(v) >= 1000)
if not ms:
    print("| - | - | - | %d of %d |" % (late, len(vals)))
else:
    print("| %d | %d | %d | %d of %d |" % (min(ms), statistics.median(ms), max(ms), late, len(vals)))
PY
}
echo "## scimd: two nodes on one database"
echo
echo "$(nproc) cores; two \`scimd serve\` on loopback, one PostgreSQL database; token cache"
echo "TTL 1 minute (the default). Time from the change's return to the other node acting on"
echo "it, polled every 10 ms ($rounds rounds each)."
echo
echo "| change | min ms | median ms | max ms | late (>= 1 s) |"
echo "|---|---:|---:|---:|---:|"
echo "| token revoked (admin API of A, or \`scimd token revoke\`), refused by B $(summary "${revoked[@]}")"
echo "| \`scimd tenant set\` rate limit, applied by B $(summary "${limited[@]}")"
echo
echo "Listener connection of one node cut (pg_terminate_backend): listening again after"
echo "$back ms (reconnects counted: $reconnects)."
