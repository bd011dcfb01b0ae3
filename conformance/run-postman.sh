#!/usr/bin/env bash
# Runs Microsoft's SCIM reference Postman collection (shared/conformance/, never copied here)
# with newman against a SCIM base URL, with the exceptions listed in README.md applied to a
# temporary copy. Prints newman's report and a last line `postman: N passed, N failed, N skipped`;
# exits 1 on any failure, 2 when the run cannot start.
#
# Usage: conformance/run-postman.sh BASE_URL TOKEN
#   e.g. conformance/run-postman.sh http://127.0.0.1:8080/scim/v2 "$TOKEN"
# Run it on an empty tenant: several assertions count the tenant's users.
# Needs: Node.js >= 16 and npm (newman is installed into conformance/node_modules on first use).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ $# -ne 2 ]; then
  echo "usage: $0 BASE_URL TOKEN" >&2
  exit 2
fi
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "run-postman: $tool is needed (apt-get install nodejs npm)" >&2; exit 2; }
done
if [ ! -f "$here/node_modules/newman/package.json" ]; then
  echo "run-postman: installing newman into conformance/node_modules (npm ci)" >&2
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
exec node "$here/postman/run.js" "$1" "$2"
