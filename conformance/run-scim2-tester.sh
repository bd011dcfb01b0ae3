#!/usr/bin/env bash
# Runs every check of scim2-tester (PyPI) against a SCIM base URL and prints pass/fail counts;
# the last line is `scim2-tester: N passed, N failed, N skipped`. Exits 1 when a check failed,
# 2 when the run cannot start.
#
# Usage: conformance/run-scim2-tester.sh BASE_URL TOKEN [--tags T,..] [--exclude-tags T,..]
#                                         [--resource-types User,Group] [--verbose]
# Installs scim2-tester (versions pinned in requirements-scim2-tester.txt) into
# conformance/.venv on first use, or when that file changes. Needs python3 with venv.
# Best on an empty tenant: the list and /.search checks look for the resource they just
# created in the first page of results.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ $# -lt 2 ]; then
  echo "usage: $0 BASE_URL TOKEN [--tags T,..] [--exclude-tags T,..] [--resource-types User,Group] [--verbose]" >&2
  exit 2
fi
venv="$here/.venv"
req="$here/requirements-scim2-tester.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "run-scim2-tester: installing scim2-tester into conformance/.venv" >&2
  python3 -m venv "$venv" >&2 || { echo "run-scim2-tester: python3 -m venv failed (apt-get install python3-venv)" >&2; exit 2; }
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
  echo "$want" >"$stamp"
fi
exec "$venv/bin/python" "$here/scim2_tester_run.py" "$@"
