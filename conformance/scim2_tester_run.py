"""Run every scim2-tester check against a SCIM server and print pass/fail counts.

Usage (normally through run-scim2-tester.sh, which provides the virtualenv):
    python scim2_tester_run.py BASE_URL TOKEN [--tags T,..] [--exclude-tags T,..]
                               [--resource-types User,Group] [--verbose]

scim2-tester (PyPI, by Yaal Coop) reads /ServiceProviderConfig, /ResourceTypes and /Schemas,
builds the server's resource models from what they publish, then creates, reads, lists,
searches, replaces, patches and deletes each resource type. `check_server` runs all of that;
`core_schemas_validation` is exported by the package but not called by `check_server`, so it
is run here as well, to run every check the package has.

Counting: SUCCESS, COMPLIANT and ACCEPTABLE pass; ERROR and CRITICAL fail; DEVIATION (a SHOULD
not followed) passes but is listed as a warning; SKIPPED is counted apart.
Exit status: 0 when nothing failed, 1 when a check failed, 2 when the run could not start.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

try:
    from httpx2 import Client
    from scim2_client.engines.httpx2 import SyncSCIMClient
    from scim2_tester import CheckConfig
    from scim2_tester import CheckResult
    from scim2_tester import Status
    from scim2_tester import check_server
    from scim2_tester.checkers import core_schemas_validation
    from scim2_tester.utils import CheckContext
except ImportError as exc:  # pragma: no cover - reported to the operator
    sys.stderr.write(f"scim2-tester is not installed here ({exc}); use run-scim2-tester.sh\n")
    sys.exit(2)

FAILED = {Status.ERROR, Status.CRITICAL}


def _tags(value: str | None) -> set[str] | None:
    return {t.strip() for t in value.split(",") if t.strip()} if value else None


def _short(value: Any, limit: int) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _line(result: CheckResult, verbose: bool) -> str:
    where = f"[{result.resource_type}] " if result.resource_type else ""
    reason = result.reason or ""
    out = f"{result.status.name:<10} {where}{result.title}: {_short(reason, 400)}"
    if verbose and result.status in FAILED and result.data is not None:
        out += f"\n           data: {_short(result.data, 1500)}"
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base_url")
    parser.add_argument("token")
    parser.add_argument("--tags", help="run only checks with one of these tags (comma-separated)")
    parser.add_argument("--exclude-tags", help="skip checks with one of these tags")
    parser.add_argument("--resource-types", help="only these resource types, e.g. User,Group")
    parser.add_argument("--verbose", action="store_true", help="print the data of failed checks")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # keep stdout and stderr in order

    base = args.base_url.rstrip("/")
    http = Client(
        base_url=base,
        headers={"Authorization": f"Bearer {args.token}"},
        timeout=30.0,
    )
    # Reachability and authentication first, so a wrong URL or token reads as such and not as
    # forty failed checks.
    try:
        probe = http.get("/ServiceProviderConfig")
    except Exception as exc:  # noqa: BLE001 - any transport error means the same here
        sys.stderr.write(f"run-scim2-tester: cannot reach {base}: {exc}\n")
        return 2
    if probe.status_code in (401, 403):
        sys.stderr.write(
            f"run-scim2-tester: GET {base}/ServiceProviderConfig answered "
            f"{probe.status_code}: the token was refused\n"
        )
        return 2
    print(f"preflight: GET /ServiceProviderConfig -> {probe.status_code}")

    include = _tags(args.tags)
    exclude = _tags(args.exclude_tags)
    resource_types = sorted(_tags(args.resource_types) or []) or None
    scim = SyncSCIMClient(http)
    results = check_server(
        scim,
        raise_exceptions=False,
        include_tags=include,
        exclude_tags=exclude,
        resource_types=resource_types,
    )
    context = CheckContext(
        scim,
        CheckConfig(include_tags=include, exclude_tags=exclude, resource_types=resource_types),
    )
    results.extend(core_schemas_validation(context))

    passed = failed = skipped = deviations = 0
    for result in results:
        print(_line(result, args.verbose))
        if result.status in FAILED:
            failed += 1
        elif result.status == Status.SKIPPED:
            skipped += 1
        else:
            passed += 1
            deviations += result.status == Status.DEVIATION
    if deviations:
        print(f"({deviations} of the passed checks are DEVIATION: a SHOULD not followed)")
    print(f"scim2-tester: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
