#!/usr/bin/env python3
"""Replay a full provisioning cycle exactly as Microsoft Entra ID or Okta sends it.

Usage:
    conformance/replay.py --base-url URL --token TOKEN --scenario SCENARIO [--verbose]

Scenarios:
    entra                   Entra ID provisioning (job `scim`) in its default format: PATCH ops
                            capitalised (Add/Replace/Remove), booleans as strings ("False"),
                            group members removed with a value array.
    entra-aadoptscim062020  The same cycle with the `aadOptscim062020` feature flag on the tenant
                            URL: lower-case ops, real booleans, path-less replace with dotted keys,
                            members removed with `members[value eq "…"]`.
    okta                    Okta lifecycle provisioning of an OIN integration: POST with password,
                            `groups: []` and `locale`; updates as GET then full PUT; (de)activation
                            as a path-less replace; group push, rename and membership PATCHes.

Each step sends what the IdP sends and asserts what the IdP needs back (status codes, response
shapes), prints PASS, FAIL (with the reason) or SKIP (a step it depends on failed), and the run
ends with `replay <scenario>: N passed, N failed, N skipped`. Exit status: 0 when nothing failed,
1 when a step failed, 2 when the server cannot be reached or refuses the token.

Every resource made is named with a random run id, so runs do not collide, and is deleted at the
end even when a step failed (best effort, not counted). Only the standard library is used.

Sources, cited at each request as [doc, section]:
  [ENTRA-TUT] Microsoft Learn, "Tutorial: Develop and plan provisioning for a SCIM endpoint in
              Microsoft Entra ID" (entra/identity/app-provisioning/use-scim-to-provision-users-
              and-groups).
  [ENTRA-KI]  Microsoft Learn, "Known issues and resolutions with SCIM 2.0 protocol compliance of
              the Microsoft Entra user provisioning service" (entra/identity/app-provisioning/
              application-provisioning-config-problem-scim-compatibility), section "Flags to alter
              the SCIM behavior".
  [OKTA]      Okta Developer, "Okta and SCIM Version 2.0" (docs/api/openapi/okta-scim/guides/
              scim-20).
  [OKTA-SPEC] Okta's published SCIM 2.0 spec test (Runscope), step "Test API Credentials".
  [RFC7643] / [RFC7644] where a check is the RFC's rather than an IdP's.
"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Callable

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
# [ENTRA-TUT, "Create Group"]: Entra adds this schema URI to every group it creates.
ADSCIM_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


class Fail(Exception):
    """A check failed; the message is the reason printed."""


class Unreachable(Exception):
    """The server cannot be reached or refuses the token: the run cannot go on."""


class Response:
    def __init__(self, status: int, headers: Any, body: bytes):
        self.status = status
        self.headers = headers
        self.text = body.decode("utf-8", "replace")
        try:
            self.json: Any = json.loads(self.text) if self.text.strip() else None
        except ValueError:
            self.json = None

    def brief(self) -> str:
        text = " ".join(self.text.split())
        return f"{self.status} {text[:300]}"


class Client:
    def __init__(self, base: str, token: str, user_agent: str, content_type: str,
                 plus_spaces: bool, insecure: bool, verbose: bool):
        self.base = base.rstrip("/")
        self.token = token
        self.user_agent = user_agent
        self.content_type = content_type
        self.plus_spaces = plus_spaces
        self.verbose = verbose
        self.context = ssl._create_unverified_context() if insecure else None  # noqa: SLF001

    def url(self, path: str, query: list[tuple[str, str]] | None) -> str:
        url = self.base + path
        if query:
            quote = urllib.parse.quote_plus if self.plus_spaces else urllib.parse.quote
            url += "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in query)
        return url

    def send(self, method: str, path: str, body: Any = None,
             query: list[tuple[str, str]] | None = None) -> Response:
        url = self.url(path, query)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("Accept", "application/scim+json")
        req.add_header("User-Agent", self.user_agent)
        if data is not None:
            req.add_header("Content-Type", self.content_type)
        try:
            with urllib.request.urlopen(req, timeout=30, context=self.context) as res:
                resp = Response(res.status, res.headers, res.read())
        except urllib.error.HTTPError as err:
            resp = Response(err.code, err.headers, err.read())
        except (urllib.error.URLError, OSError) as err:
            raise Unreachable(f"{method} {url}: {getattr(err, 'reason', err)}") from err
        if self.verbose:
            shown = "" if data is None else " " + data.decode()[:600]
            print(f"      > {method} {url}{shown}\n      < {resp.brief()}")
        return resp


# ---------------------------------------------------------------------------------------------
# checks


def expect_status(resp: Response, *allowed: int) -> None:
    if resp.status not in allowed:
        want = " or ".join(str(a) for a in allowed)
        raise Fail(f"expected HTTP {want}, got {resp.brief()}")


def expect_resource(resp: Response, schema: str) -> dict[str, Any]:
    body = resp.json
    if not isinstance(body, dict):
        raise Fail(f"expected a JSON resource, got {resp.brief()}")
    if not body.get("id"):
        # [ENTRA-TUT, "General"]: "id is a required property for all resources".
        raise Fail(f"resource without id: {resp.brief()}")
    if schema not in (body.get("schemas") or []):
        raise Fail(f"resource schemas lack {schema}: {body.get('schemas')}")
    return body


def expect_list(resp: Response, total: int | None = None) -> list[dict[str, Any]]:
    expect_status(resp, 200)
    body = resp.json
    if not isinstance(body, dict) or LIST not in (body.get("schemas") or []):
        raise Fail(f"expected a ListResponse, got {resp.brief()}")
    for key in ("totalResults", "startIndex", "itemsPerPage"):
        # [OKTA, "Retrieve Users"]: "exchanged as integers, not as strings".
        if key in body and not (isinstance(body[key], int) and not isinstance(body[key], bool)):
            raise Fail(f"{key} is not an integer: {body[key]!r}")
    if not isinstance(body.get("totalResults"), int):
        raise Fail(f"ListResponse without an integer totalResults: {resp.brief()}")
    resources = body.get("Resources", [])
    if not isinstance(resources, list):
        raise Fail(f"Resources is not a list: {resources!r}")
    if total is not None and (body["totalResults"] != total or len(resources) != total):
        raise Fail(f"expected {total} result(s), got totalResults={body['totalResults']} "
                   f"and {len(resources)} in Resources")
    return resources


def expect_equal(what: str, actual: Any, expected: Any) -> None:
    if actual != expected:
        raise Fail(f"{what}: expected {expected!r}, got {actual!r}")


def work_email(user: dict[str, Any]) -> Any:
    for email in user.get("emails") or []:
        if isinstance(email, dict) and email.get("type") == "work":
            return email.get("value")
    return None


def member_ids(group: dict[str, Any]) -> set[str]:
    return {m.get("value") for m in group.get("members") or [] if isinstance(m, dict)}


def patch(*ops: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(ops)}


def filt(expr: str) -> list[tuple[str, str]]:
    return [("filter", expr)]


# ---------------------------------------------------------------------------------------------
# the step runner


class Run:
    def __init__(self, client: Client, scenario: str):
        self.c = client
        self.scenario = scenario
        self.passed = self.failed = self.skipped = 0
        self.failed_steps: set[str] = set()
        self.ids: dict[str, str] = {}
        self.cleanup: list[str] = []  # resource paths to delete at the end
        self.rid = uuid.uuid4().hex[:8]

    def step(self, name: str, fn: Callable[[], str | None], needs: tuple[str, ...] = ()) -> None:
        missing = [n for n in needs if n in self.failed_steps or n not in self.ids]
        if missing:
            self.skipped += 1
            self.failed_steps.add(name)
            print(f"SKIP  {name}: needs {', '.join(missing)}")
            return
        try:
            note = fn()
        except Fail as exc:
            self.failed += 1
            self.failed_steps.add(name)
            print(f"FAIL  {name}: {exc}")
            return
        self.passed += 1
        print(f"PASS  {name}" + (f" ({note})" if note else ""))

    def created(self, key: str, path: str, body: dict[str, Any]) -> None:
        self.ids[key] = body["id"]
        self.cleanup.append(f"{path}/{body['id']}")

    def deleted(self, path: str) -> None:
        if path in self.cleanup:
            self.cleanup.remove(path)

    def tidy(self) -> None:
        for path in reversed(self.cleanup):
            try:
                self.c.send("DELETE", path)
            except Unreachable:
                return

    def summary(self) -> str:
        return (f"replay {self.scenario}: {self.passed} passed, {self.failed} failed, "
                f"{self.skipped} skipped")


# ---------------------------------------------------------------------------------------------
# shared steps


def connection_test(run: Run, label: str, path: str, query: list[tuple[str, str]],
                    check_content_type: bool) -> None:
    """The IdP's first request: an unknown value must give 200 and an empty ListResponse."""
    resp = run.c.send("GET", path, query=query)
    if resp.status in (401, 403):
        raise Unreachable(f"GET {path} answered {resp.status}: the token was refused")

    def check() -> str | None:
        expect_list(resp, total=0)
        if check_content_type:
            # [ENTRA-TUT, "General"]: "The header for all the responses should be of
            # content-Type: application/scim+json".
            ctype = (resp.headers.get("Content-Type") or "").split(";")[0].strip()
            expect_equal("Content-Type", ctype, "application/scim+json")
        return None

    run.step(label, check)
    run.ids.setdefault("connected", "yes")


def delete_and_gone(run: Run, label: str, path: str, needs: tuple[str, ...]) -> None:
    def go() -> str:
        resp = run.c.send("DELETE", path)
        expect_status(resp, 204)
        run.deleted(path)
        again = run.c.send("GET", path)
        expect_status(again, 404)
        return "204, then GET 404"

    run.step(label, go, needs)


# ---------------------------------------------------------------------------------------------
# Microsoft Entra ID


def entra(run: Run, flag: bool) -> None:
    c = run.c
    rid = run.rid
    # [ENTRA-TUT, "Understand the Microsoft Entra SCIM implementation > General"]: "Microsoft
    # Entra ID emits the values of op as Add, Replace, and Remove"; [ENTRA-KI] with the flag
    # they are lower case.
    add, replace, remove = ("add", "replace", "remove") if flag else ("Add", "Replace", "Remove")
    alice_name = f"alice.{rid}@replay.example"
    bob_name = f"bob.{rid}@replay.example"
    alice_ext = str(uuid.uuid4())
    group_name = f"Replay Entra Group {rid}"

    # [ENTRA-TUT, "Integrate your SCIM endpoint > Test Connection" note]: "queries the SCIM
    # endpoint for a user that doesn't exist, using a random GUID as the matching property ...
    # The expected correct response is HTTP 200 OK with an empty SCIM ListResponse message."
    connection_test(run, "test connection: GET /Users?filter=userName eq <random GUID>",
                    "/Users", filt(f'userName eq "{uuid.uuid4()}"'), check_content_type=True)
    # [ENTRA-TUT, "General"]: "makes requests to fetch a random user and group to ensure that
    # the endpoint and the credentials are valid"; groups are always read with
    # excludedAttributes=members ["Get Group by displayName"].
    run.step("test connection: GET /Groups?excludedAttributes=members&filter=displayName eq "
             "<random GUID>", lambda: expect_list(c.send(
                 "GET", "/Groups", query=[("excludedAttributes", "members")]
                 + filt(f'displayName eq "{uuid.uuid4()}"')), total=0) and None)

    # [ENTRA-TUT, "/Schemas (Schema discovery)"]: "Must return a list response."
    def schemas() -> str:
        resources = expect_list(c.send("GET", "/Schemas"))
        ids = {r.get("id") for r in resources}
        for urn in (USER, GROUP, ENTERPRISE):
            if urn not in ids:
                raise Fail(f"/Schemas lacks {urn}")
        return f"{len(resources)} schemas"

    run.step("schema discovery: GET /Schemas", schemas)

    # [ENTRA-TUT, "Get User by query" / "Zero results"]: matching before a create.
    run.step("match: GET /Users?filter=userName eq <new user> -> none",
             lambda: expect_list(c.send("GET", "/Users", query=filt(
                 f'userName eq "{alice_name}"')), total=0) and None)

    def create_user(key: str, user_name: str, external_id: str, given: str, family: str,
                    enterprise: dict[str, Any]) -> Callable[[], str]:
        # [ENTRA-TUT, "Create User > Request"]: core + enterprise schemas, externalId, userName,
        # active, emails[type eq "work"], meta.resourceType, name, roles: []. The enterprise
        # attributes follow the tutorial's mapping table ("Design your user and group schema":
        # department, employeeId -> employeeNumber).
        body = {
            "schemas": [USER, ENTERPRISE],
            "externalId": external_id,
            "userName": user_name,
            "active": True,
            "displayName": f"{given} {family}",
            "title": "Analyst",
            "emails": [{"primary": True, "type": "work", "value": user_name}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": f"{given} {family}", "familyName": family, "givenName": given},
            "roles": [],
            ENTERPRISE: enterprise,
        }

        def go() -> str:
            resp = c.send("POST", "/Users", body)
            expect_status(resp, 201)
            user = expect_resource(resp, USER)
            run.created(key, "/Users", user)
            expect_equal("userName", user.get("userName"), user_name)
            expect_equal("externalId", user.get("externalId"), external_id)
            expect_equal("active", user.get("active"), True)
            expect_equal("emails[type eq \"work\"].value", work_email(user), user_name)
            expect_equal("name.givenName", (user.get("name") or {}).get("givenName"), given)
            for k, v in enterprise.items():
                expect_equal(f"{ENTERPRISE}:{k}", (user.get(ENTERPRISE) or {}).get(k), v)
            return f"id {user['id']}"

        return go

    run.step("create manager: POST /Users (Entra body)", create_user(
        "bob", bob_name, str(uuid.uuid4()), "Bob", "Manager",
        {"department": "Security", "employeeNumber": f"E-{rid}-1"}))
    run.step("create user: POST /Users (Entra body, enterprise extension)", create_user(
        "alice", alice_name, alice_ext, "Alice", "Example",
        {"department": "Finance", "employeeNumber": f"E-{rid}-2"}))

    def get_alice() -> dict[str, Any]:
        resp = c.send("GET", f"/Users/{run.ids['alice']}")
        expect_status(resp, 200)
        return expect_resource(resp, USER)

    # [ENTRA-TUT, "Get User"]: Entra reads a known user by id.
    run.step("get user: GET /Users/{id}", lambda: expect_equal(
        "userName", get_alice().get("userName"), alice_name), ("alice",))

    # [ENTRA-TUT, "Understand the Microsoft Entra SCIM implementation"]: "users are ... queried
    # with their username and externalId"; "/Users": attributes used for uniqueness, such as
    # emails[type eq "work"], must work as filters.
    def match(expr: str) -> Callable[[], str]:
        def go() -> str:
            found = expect_list(c.send("GET", "/Users", query=filt(expr)), total=1)
            expect_equal("id", found[0].get("id"), run.ids["alice"])
            return "1 result"
        return go

    run.step("match: GET /Users?filter=userName eq ...", match(f'userName eq "{alice_name}"'),
             ("alice",))
    run.step("match: GET /Users?filter=externalId eq ...", match(f'externalId eq "{alice_ext}"'),
             ("alice",))
    run.step('match: GET /Users?filter=emails[type eq "work"].value eq ...',
             match(f'emails[type eq "work"].value eq "{alice_name}"'), ("alice",))

    # Update with several attributes at once.
    new_email = f"alice.renamed.{rid}@replay.example"
    if flag:
        # [ENTRA-KI, "Requests to replace multiple attributes", with feature flag]: the work
        # email on its own, the rest as one path-less replace whose value has dotted keys.
        ops = [
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": new_email},
            {"op": "replace", "value": {
                "displayName": "Alice Renamed",
                "name.givenName": "Alicia",
                "name.familyName": "Renamed",
                f"{ENTERPRISE}:employeeNumber": f"N-{rid}",
            }},
        ]
    else:
        # [ENTRA-KI, "Requests to replace multiple attributes", without feature flag] and
        # [ENTRA-TUT, "Update User [Multi-valued properties]"]: one Replace per attribute.
        ops = [
            {"op": "Replace", "path": "displayName", "value": "Alice Renamed"},
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": new_email},
            {"op": "Replace", "path": "name.givenName", "value": "Alicia"},
            {"op": "Replace", "path": "name.familyName", "value": "Renamed"},
            {"op": "Replace", "path": "externalId", "value": alice_ext},
            {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": f"N-{rid}"},
        ]

    def update_many() -> str:
        # [ENTRA-TUT, "Handling provisioning ... Example 3"]: Entra reads the user first.
        get_alice()
        resp = c.send("PATCH", f"/Users/{run.ids['alice']}", patch(*ops))
        # [ENTRA-TUT, "General"]: "It isn't necessary to include the entire resource in the
        # PATCH response" -> 200 with a body or 204.
        expect_status(resp, 200, 204)
        user = get_alice()
        expect_equal("displayName", user.get("displayName"), "Alice Renamed")
        expect_equal('emails[type eq "work"].value', work_email(user), new_email)
        works = [e for e in user.get("emails") or [] if e.get("type") == "work"]
        expect_equal("number of work emails", len(works), 1)
        expect_equal("name.givenName", (user.get("name") or {}).get("givenName"), "Alicia")
        expect_equal("name.familyName", (user.get("name") or {}).get("familyName"), "Renamed")
        expect_equal("employeeNumber", (user.get(ENTERPRISE) or {}).get("employeeNumber"),
                     f"N-{rid}")
        expect_equal("department (untouched)", (user.get(ENTERPRISE) or {}).get("department"),
                     "Finance")
        return f"{resp.status}"

    run.step("update: PATCH " + ("emails[...] + path-less replace with dotted keys" if flag
                                 else "Replace x6 (emails[type eq \"work\"].value, name.*, "
                                 "externalId, employeeNumber)"), update_many, ("alice",))

    # [ENTRA-TUT, "Update User [Single-valued properties]"]: rename.
    renamed = f"alice.upn.{rid}@replay.example"

    def rename() -> str:
        resp = c.send("PATCH", f"/Users/{run.ids['alice']}",
                      patch({"op": replace, "path": "userName", "value": renamed}))
        expect_status(resp, 200, 204)
        expect_equal("userName", get_alice().get("userName"), renamed)
        found = expect_list(c.send("GET", "/Users", query=filt(f'userName eq "{renamed}"')), 1)
        expect_equal("id found by the new userName", found[0].get("id"), run.ids["alice"])
        run.ids["alice_userName"] = renamed
        return f"{resp.status}"

    run.step(f"update: PATCH {replace} userName", rename, ("alice",))

    # [ENTRA-KI, "Requests to add a single-value string attribute"].
    def add_nickname() -> str:
        resp = c.send("PATCH", f"/Users/{run.ids['alice']}",
                      patch({"op": add, "path": "nickName", "value": "Babs"}))
        expect_status(resp, 200, 204)
        expect_equal("nickName", get_alice().get("nickName"), "Babs")
        return f"{resp.status}"

    run.step(f"update: PATCH {add} nickName", add_nickname, ("alice",))

    # Manager, as a plain string: [ENTRA-TUT, "Design your user and group schema"] shows the
    # enterprise manager sent as "manager": "<id>", mapped to the extension's manager
    # attribute (attribute table: manager -> urn:...:enterprise:2.0:User:manager).
    def manager_string() -> str:
        resp = c.send("PATCH", f"/Users/{run.ids['alice']}", patch(
            {"op": add, "path": f"{ENTERPRISE}:manager", "value": run.ids["bob"]}))
        expect_status(resp, 200, 204)
        manager = (get_alice().get(ENTERPRISE) or {}).get("manager")
        if not isinstance(manager, dict):
            raise Fail(f"manager should be returned as a complex value, got {manager!r}")
        expect_equal("manager.value", manager.get("value"), run.ids["bob"])
        return f"{resp.status}"

    run.step(f"manager: PATCH {add} urn:...:manager with a string id", manager_string,
             ("alice", "bob"))

    # Manager, as an object: [ENTRA-TUT, "Handling provisioning ... Example 5"]: op Add, path
    # "manager", value an array of {"$ref", "value"}.
    def manager_object() -> str:
        resp = c.send("PATCH", f"/Users/{run.ids['alice']}", patch(
            {"op": add, "path": "manager", "value": [{
                "$ref": f"{c.base}/Users/{run.ids['bob']}", "value": run.ids["bob"]}]}))
        expect_status(resp, 200, 204)
        manager = (get_alice().get(ENTERPRISE) or {}).get("manager") or {}
        expect_equal("manager.value", manager.get("value"), run.ids["bob"])
        return f"{resp.status}"

    run.step(f'manager: PATCH {add} path "manager" with [{{"$ref", "value"}}]', manager_object,
             ("alice", "bob"))

    # [ENTRA-KI, "Requests made to disable users"]: "False" (string) by default, false with
    # the flag. [ENTRA-TUT, "Understand ..."]: a soft-deleted user must still be returned.
    def set_active(value: bool) -> Callable[[], str]:
        sent: Any = value if flag else ("True" if value else "False")

        def go() -> str:
            resp = c.send("PATCH", f"/Users/{run.ids['alice']}",
                          patch({"op": replace, "path": "active", "value": sent}))
            expect_status(resp, 200, 204)
            if resp.status == 200 and isinstance(resp.json, dict) and "active" in resp.json:
                expect_equal("active in the PATCH response", resp.json["active"], value)
            user = get_alice()
            if user.get("active") is not value:
                raise Fail(f"active: expected boolean {value}, got {user.get('active')!r}")
            current = run.ids.get("alice_userName", alice_name)
            found = expect_list(c.send("GET", "/Users", query=filt(f'userName eq "{current}"')),
                                total=1)
            expect_equal("active in the filtered list", found[0].get("active"), value)
            return f"sent {json.dumps(sent)}, {resp.status}"

        return go

    run.step(f"disable: PATCH {replace} active " + ("false" if flag else '"False"'),
             set_active(False), ("alice",))
    run.step(f"re-enable: PATCH {replace} active " + ("true" if flag else '"True"'),
             set_active(True), ("alice",))

    # Groups.
    def get_group(excluded: bool = False) -> dict[str, Any]:
        query = [("excludedAttributes", "members")] if excluded else None
        resp = c.send("GET", f"/Groups/{run.ids['group']}", query=query)
        expect_status(resp, 200)
        return expect_resource(resp, GROUP)

    # [ENTRA-TUT, "Get Group by displayName"]: matching before a create.
    run.step("match group: GET /Groups?excludedAttributes=members&filter=displayName eq ... "
             "-> none", lambda: expect_list(c.send("GET", "/Groups", query=[
                 ("excludedAttributes", "members")] + filt(f'displayName eq "{group_name}"')),
                 total=0) and None)

    # [ENTRA-TUT, "Create Group"]: with the extra ADSCIM schema URI and meta.resourceType.
    group_ext = str(uuid.uuid4())

    def create_group() -> str:
        resp = c.send("POST", "/Groups", {
            "schemas": [GROUP, ADSCIM_GROUP],
            "externalId": group_ext,
            "displayName": group_name,
            "meta": {"resourceType": "Group"},
        })
        expect_status(resp, 201)
        group = expect_resource(resp, GROUP)
        run.created("group", "/Groups", group)
        expect_equal("displayName", group.get("displayName"), group_name)
        expect_equal("externalId", group.get("externalId"), group_ext)
        if group.get("members") not in (None, []):
            raise Fail(f"a new group should have no members, got {group.get('members')!r}")
        return f"id {group['id']}"

    run.step("create group: POST /Groups (core + ADSCIM schemas)", create_group)

    def group_by_name() -> str:
        found = expect_list(c.send("GET", "/Groups", query=[("excludedAttributes", "members")]
                                   + filt(f'displayName eq "{group_name}"')), total=1)
        expect_equal("id", found[0].get("id"), run.ids["group"])
        if "members" in found[0]:
            raise Fail("excludedAttributes=members ignored: members in the response")
        return "1 result, no members"

    run.step("match group: GET /Groups?excludedAttributes=members&filter=displayName eq ...",
             group_by_name, ("group",))

    # [ENTRA-TUT, "Get Group"].
    def group_excluded() -> str:
        if "members" in get_group(excluded=True):
            raise Fail("excludedAttributes=members ignored: members in the response")
        return "no members"

    run.step("get group: GET /Groups/{id}?excludedAttributes=members", group_excluded,
             ("group",))

    # [ENTRA-TUT, "Update Group [Non-member attributes]"]: 204 expected (200 accepted).
    def rename_group() -> str:
        resp = c.send("PATCH", f"/Groups/{run.ids['group']}", patch(
            {"op": replace, "path": "displayName", "value": group_name + " renamed"}))
        expect_status(resp, 204, 200)
        expect_equal("displayName", get_group(True).get("displayName"), group_name + " renamed")
        return f"{resp.status}"

    run.step(f"update group: PATCH {replace} displayName", rename_group, ("group",))

    # [ENTRA-TUT, "Update Group [Add Members]"]: {"$ref": null, "value": id}; two members in
    # one PATCH ("Gallery onboarding checklist": "Support updating multiple group memberships
    # with a single PATCH").
    def add_members() -> str:
        resp = c.send("PATCH", f"/Groups/{run.ids['group']}", patch(
            {"op": add, "path": "members", "value": [
                {"$ref": None, "value": run.ids["alice"]},
                {"$ref": None, "value": run.ids["bob"]}]}))
        expect_status(resp, 204, 200)
        expect_equal("members", member_ids(get_group()), {run.ids["alice"], run.ids["bob"]})
        return f"{resp.status}"

    run.step(f"membership: PATCH {add} members [{{\"$ref\": null, \"value\"}} x2]", add_members,
             ("group", "alice", "bob"))

    if flag:
        # [ENTRA-KI, "Requests made to remove a group member", with feature flag].
        remove_op = {"op": "remove", "path": f'members[value eq "{run.ids.get("alice")}"]'}
        label = 'membership: PATCH remove members[value eq "<id>"]'
    else:
        # [ENTRA-KI, same section, without feature flag] and [ENTRA-TUT, "Update Group
        # [Remove Members]"]: path "members" and the members to remove in "value".
        remove_op = {"op": "Remove", "path": "members",
                     "value": [{"$ref": None, "value": run.ids.get("alice")}]}
        label = 'membership: PATCH Remove members with value [{"$ref": null, "value": "<id>"}]'

    def remove_member() -> str:
        resp = c.send("PATCH", f"/Groups/{run.ids['group']}", patch(remove_op))
        expect_status(resp, 204, 200)
        expect_equal("members", member_ids(get_group()), {run.ids["bob"]})
        return f"{resp.status}, only that member removed"

    run.step(label, remove_member, ("group", "alice", "bob"))

    # [ENTRA-TUT, "Delete Group"] and ["Delete User"]: 204; then the resource is gone.
    delete_and_gone(run, "delete group: DELETE /Groups/{id}",
                    f"/Groups/{run.ids.get('group')}", ("group",))
    delete_and_gone(run, "delete user: DELETE /Users/{id}", f"/Users/{run.ids.get('alice')}",
                    ("alice",))
    run.step("deleted user no longer matches: GET /Users?filter=userName eq ...",
             lambda: expect_list(c.send("GET", "/Users", query=filt(
                 f'userName eq "{run.ids.get("alice_userName", alice_name)}"')), total=0)
             and None, ("alice",))

    # The user is assigned again: Entra matches (nothing) and creates the same person anew.
    run.step("re-provision after delete: POST /Users with the same userName", create_user(
        "alice2", renamed, alice_ext, "Alicia", "Renamed",
        {"department": "Finance", "employeeNumber": f"N-{rid}"}), ("alice",))
    delete_and_gone(run, "delete re-provisioned user: DELETE /Users/{id}",
                    f"/Users/{run.ids.get('alice2')}", ("alice2",))
    delete_and_gone(run, "delete manager: DELETE /Users/{id}", f"/Users/{run.ids.get('bob')}",
                    ("bob",))


# ---------------------------------------------------------------------------------------------
# Okta


def okta(run: Run) -> None:
    c = run.c
    rid = run.rid
    user_name = f"test.user.{rid}@okta.local"
    other_name = f"other.user.{rid}@okta.local"
    group_name = f"Replay Okta Group {rid}"

    # [OKTA-SPEC, "Test API Credentials"]: GET /Users?count=2&startIndex=1; a ListResponse
    # whose paging fields are numbers ([OKTA, "Retrieve Users"]: integers, not strings).
    resp = c.send("GET", "/Users", query=[("startIndex", "1"), ("count", "2")])
    if resp.status in (401, 403):
        raise Unreachable(f"GET /Users answered {resp.status}: the token was refused")

    def first() -> str:
        resources = expect_list(resp)
        if len(resources) > 2:
            raise Fail(f"count=2 ignored: {len(resources)} resources returned")
        return f"totalResults {resp.json['totalResults']}"

    run.step("test API credentials: GET /Users?startIndex=1&count=2", first)
    run.ids["connected"] = "yes"

    # [OKTA, "Create Users > Determine if the User already exists"]: URL-encoded eq filter
    # with startIndex=1&count=100; an empty ListResponse when nobody matches.
    def exists(name: str) -> Callable[[], None]:
        return lambda: expect_list(c.send("GET", "/Users", query=filt(
            f'userName eq "{name}"') + [("startIndex", "1"), ("count", "100")]), total=0) and None

    run.step("determine if the user exists: GET /Users?filter=userName eq ...&startIndex=1"
             "&count=100 -> none", exists(user_name))

    def user_body(name: str, given: str, external_id: str) -> dict[str, Any]:
        # [OKTA, "Create Users > Create the User"]: the request as documented, with password,
        # groups: [] and locale.
        return {
            "schemas": [USER],
            "userName": name,
            "name": {"givenName": given, "familyName": "User"},
            "emails": [{"primary": True, "value": name, "type": "work"}],
            "displayName": f"{given} User",
            "locale": "en-US",
            "externalId": external_id,
            "groups": [],
            "password": "1mz050nq",
            "active": True,
        }

    def create(key: str, name: str, given: str) -> Callable[[], str]:
        def go() -> str:
            resp = c.send("POST", "/Users", user_body(name, given, f"00u{uuid.uuid4().hex[:17]}"))
            expect_status(resp, 201)
            # [OKTA, "Create the User"]: an empty body fails the provisioning ("Create new user
            # returned empty user").
            user = expect_resource(resp, USER)
            run.created(key, "/Users", user)
            expect_equal("userName", user.get("userName"), name)
            expect_equal("active", user.get("active"), True)
            expect_equal("locale", user.get("locale"), "en-US")
            if "password" in user:
                # [RFC7643 §4.1.1]: password is "returned": "never".
                raise Fail("password returned in the response")
            return f"id {user['id']}"
        return go

    run.step("create user: POST /Users (Okta body: password, groups: [], locale)",
             create("u1", user_name, "Test"))

    # [OKTA, "Create the User"]: a user that already exists must be answered with an error
    # schema and 409 to stop the provisioning job.
    def duplicate() -> str:
        resp = c.send("POST", "/Users", user_body(user_name, "Test", "00udup"))
        expect_status(resp, 409)
        if not isinstance(resp.json, dict) or ERROR not in (resp.json.get("schemas") or []):
            raise Fail(f"409 without the SCIM error schema: {resp.brief()}")
        return "409 with an Error body"

    run.step("create existing user: POST /Users -> 409", duplicate, ("u1",))

    def get_user(key: str) -> dict[str, Any]:
        resp = c.send("GET", f"/Users/{run.ids[key]}")
        expect_status(resp, 200)
        return expect_resource(resp, USER)

    # [OKTA, "Retrieve a specific User"].
    run.step("retrieve user: GET /Users/{id}", lambda: expect_equal(
        "userName", get_user("u1").get("userName"), user_name), ("u1",))

    # [OKTA, "Update a specific User (PUT)"]: GET, change what changed, PUT the whole object
    # back (id, groups: [] and meta included, as Okta sends them); the answer is the updated
    # User object.
    def put_update() -> str:
        user = get_user("u1")
        body = {
            "schemas": [USER],
            "id": user["id"],
            "userName": user["userName"],
            "name": {"givenName": "Another", "middleName": "Excited", "familyName": "User"},
            "emails": [{"primary": True, "value": user_name, "type": "work",
                        "display": user_name}],
            "active": True,
            "groups": [],
            "meta": {"resourceType": "User"},
        }
        resp = c.send("PUT", f"/Users/{run.ids['u1']}", body)
        expect_status(resp, 200)
        updated = expect_resource(resp, USER)
        expect_equal("name.middleName", (updated.get("name") or {}).get("middleName"), "Excited")
        expect_equal("name.givenName", (updated.get("name") or {}).get("givenName"), "Another")
        expect_equal("active", updated.get("active"), True)
        expect_equal("name.middleName after GET",
                     (get_user("u1").get("name") or {}).get("middleName"), "Excited")
        return "200 with the updated user"

    run.step("update user: GET then PUT /Users/{id} (full body)", put_update, ("u1",))

    # [OKTA, "Update a specific User (PATCH)"]: deactivation (and activation) is a path-less
    # replace of {"active": ...}; the answer is the updated user, or 204.
    def set_active(value: bool) -> Callable[[], str]:
        def go() -> str:
            resp = c.send("PATCH", f"/Users/{run.ids['u1']}",
                          patch({"op": "replace", "value": {"active": value}}))
            expect_status(resp, 200, 204)
            if resp.status == 200:
                expect_equal("active in the PATCH response",
                             expect_resource(resp, USER).get("active"), value)
            expect_equal("active", get_user("u1").get("active"), value)
            return f"{resp.status}"
        return go

    run.step('deactivate: PATCH replace value {"active": false}', set_active(False), ("u1",))

    # [OKTA, "Retrieve Users"]: imports page through /Users with startIndex and count=100;
    # a deactivated user is still listed.
    def import_users() -> str:
        seen: dict[str, Any] = {}
        start = 1
        for _ in range(1000):
            page = c.send("GET", "/Users", query=[("startIndex", str(start)), ("count", "100")])
            resources = expect_list(page)
            for r in resources:
                seen[r.get("id")] = r
            total = page.json["totalResults"]
            if not resources or start + len(resources) > total:
                break
            start += len(resources)
        if run.ids["u1"] not in seen:
            raise Fail("the user is missing from the paged import")
        expect_equal("active of the imported user", seen[run.ids["u1"]].get("active"), False)
        return f"{len(seen)} users imported"

    run.step("import users: GET /Users?startIndex=N&count=100 (all pages)", import_users,
             ("u1",))
    run.step('reactivate: PATCH replace value {"active": true}', set_active(True), ("u1",))

    # Group push.
    run.step("determine if the second user exists -> none", exists(other_name))
    run.step("create second user: POST /Users (Okta body)", create("u2", other_name, "Other"))

    def get_group() -> dict[str, Any]:
        resp = c.send("GET", f"/Groups/{run.ids['group']}")
        expect_status(resp, 200)
        return expect_resource(resp, GROUP)

    # [OKTA, "Create Groups"]: {"schemas", "displayName", "members": []}; the answer is the
    # group as a GET would return it.
    def push_group() -> str:
        resp = c.send("POST", "/Groups", {"schemas": [GROUP], "displayName": group_name,
                                          "members": []})
        expect_status(resp, 201)
        group = expect_resource(resp, GROUP)
        run.created("group", "/Groups", group)
        expect_equal("displayName", group.get("displayName"), group_name)
        return f"id {group['id']}"

    run.step("push group: POST /Groups with members: []", push_group)
    # [OKTA, "Retrieve specific Groups"].
    run.step("retrieve group: GET /Groups/{id}", lambda: expect_equal(
        "displayName", get_group().get("displayName"), group_name), ("group",))

    # [OKTA, "Update a specific Group name"]: path-less replace whose value carries the id
    # (unchanged) and the new displayName.
    def rename_group() -> str:
        resp = c.send("PATCH", f"/Groups/{run.ids['group']}", patch({"op": "replace", "value": {
            "id": run.ids["group"], "displayName": group_name + " v2"}}))
        expect_status(resp, 200, 204)
        group = get_group()
        expect_equal("displayName", group.get("displayName"), group_name + " v2")
        expect_equal("id (unchanged)", group.get("id"), run.ids["group"])
        return f"{resp.status}"

    run.step('rename group: PATCH replace value {"id", "displayName"}', rename_group,
             ("group",))

    # [OKTA, "Update specific Group membership"]: add with {"value", "display"}.
    def add_member() -> str:
        resp = c.send("PATCH", f"/Groups/{run.ids['group']}", patch({
            "op": "add", "path": "members",
            "value": [{"value": run.ids["u2"], "display": other_name}]}))
        expect_status(resp, 200, 204)
        expect_equal("members", member_ids(get_group()), {run.ids["u2"]})
        return f"{resp.status}"

    run.step("membership: PATCH add members [{value, display}]", add_member, ("group", "u2"))

    # [OKTA, "Update specific Group membership"]: the documented request, a remove by value
    # filter and an add in one PATCH.
    def swap_members() -> str:
        resp = c.send("PATCH", f"/Groups/{run.ids['group']}", patch(
            {"op": "remove", "path": f'members[value eq "{run.ids["u2"]}"]'},
            {"op": "add", "path": "members",
             "value": [{"value": run.ids["u1"], "display": user_name}]}))
        expect_status(resp, 200, 204)
        expect_equal("members", member_ids(get_group()), {run.ids["u1"]})
        return f"{resp.status}"

    run.step('membership: PATCH remove members[value eq "…"] + add members', swap_members,
             ("group", "u1", "u2"))

    # [OKTA, "Update specific Group membership"]: a full push replaces all members.
    def replace_members() -> str:
        resp = c.send("PATCH", f"/Groups/{run.ids['group']}", patch({
            "op": "replace", "path": "members", "value": [
                {"value": run.ids["u1"], "display": user_name},
                {"value": run.ids["u2"], "display": other_name}]}))
        expect_status(resp, 200, 204)
        expect_equal("members", member_ids(get_group()), {run.ids["u1"], run.ids["u2"]})
        return f"{resp.status}"

    run.step("membership: PATCH replace members (full push)", replace_members,
             ("group", "u1", "u2"))

    # [OKTA, "Retrieve Groups"]: imports page through /Groups with startIndex and count=100.
    def import_groups() -> str:
        page = c.send("GET", "/Groups", query=[("startIndex", "1"), ("count", "100")])
        resources = expect_list(page)
        if run.ids["group"] not in {r.get("id") for r in resources} and \
                page.json["totalResults"] <= 100:
            raise Fail("the pushed group is missing from GET /Groups")
        return f"totalResults {page.json['totalResults']}"

    run.step("import groups: GET /Groups?startIndex=1&count=100", import_groups, ("group",))

    # [OKTA, "Delete a specific Group"]: unlink with "Delete the group in the target app".
    delete_and_gone(run, "delete group: DELETE /Groups/{id}", f"/Groups/{run.ids.get('group')}",
                    ("group",))
    # [OKTA, "Delete Users"]: Okta never DELETEs users (it deactivates them, as above); these
    # DELETEs are the replay's own clean-up, checked like any DELETE ([RFC7644 §3.6]).
    delete_and_gone(run, "clean-up (not an Okta request): DELETE /Users/{id}",
                    f"/Users/{run.ids.get('u1')}", ("u1",))
    delete_and_gone(run, "clean-up (not an Okta request): DELETE second user",
                    f"/Users/{run.ids.get('u2')}", ("u2",))


# ---------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", required=True, help="SCIM base URL, e.g. .../scim/v2")
    parser.add_argument("--token", required=True, help="bearer token")
    parser.add_argument("--scenario", required=True,
                        choices=["entra", "entra-aadoptscim062020", "okta"])
    parser.add_argument("--verbose", action="store_true", help="print every request/response")
    parser.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # keep stdout and stderr in order

    if args.scenario == "okta":
        # [OKTA]: requests carry "User-Agent: Okta SCIM Client 1.0.0"; the content type is the
        # one of Okta's spec test ([OKTA-SPEC] headers). Filters are %20-encoded ([OKTA],
        # "Determine if the User already exists").
        client = Client(args.base_url, args.token, "Okta SCIM Client 1.0.0",
                        "application/scim+json; charset=utf-8", plus_spaces=False,
                        insecure=args.insecure, verbose=args.verbose)
    else:
        # [ENTRA-TUT, "Example 2"]: Content-type: application/scim+json. The docs do not show
        # how Entra encodes the query; spaces are sent as "+" here (form encoding), the
        # other common form, so that both decodings are exercised across the scenarios.
        client = Client(args.base_url, args.token, "scimd-replay (Microsoft Entra ID shapes)",
                        "application/scim+json", plus_spaces=True, insecure=args.insecure,
                        verbose=args.verbose)
    run = Run(client, args.scenario)
    print(f"replay {args.scenario} against {client.base} (run id {run.rid})")
    try:
        if args.scenario == "okta":
            okta(run)
        else:
            entra(run, flag=args.scenario == "entra-aadoptscim062020")
    except Unreachable as exc:
        print(f"replay: cannot run: {exc}", file=sys.stderr)
        if "connected" not in run.ids:
            return 2
        run.failed += 1
        print(f"FAIL  (run aborted): {exc}")
    finally:
        run.tidy()
    print(run.summary())
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
