#!/usr/bin/env python3
"""bench-people.sh's helpers that need a JSON parser or a clock (standard library only).

BASE is the server's origin (http://127.0.0.1:PORT), KEY an admin key, PATH a path with its
query string. Requests go over one kept-alive connection; a status other than 200 ends the
command with exit 1 and the start of the body on stderr.

  people.py latency BASE KEY PATH REQUESTS WARMUP
      WARMUP requests, then REQUESTS timed ones (request sent to body read); prints
      "p50 p99 mean min max n" in ms (nearest-rank percentiles).
  people.py walk BASE KEY PATH PAGES
      Follows next_cursor from the first page PAGES - 1 times, checking every page is full
      (`limit` items), that no id comes twice, and for state=participating that every item
      says participating: true. Prints "PATH_OF_PAGE_PAGES FIRST_ID_ON_IT WALK_SECONDS".
  people.py counts BASE KEY PATH EXPECTED_JSON
      GETs the counts and compares them with EXPECTED_JSON's "counts"; prints one markdown
      row per count (name, answered, expected, ok / MISMATCH), then a line "MISMATCHES n".
  people.py csv FILE ROWS
      Writes the import file: header email,given_name,family_name,display_name,department,
      manager_email; row i's manager is an earlier row for three rows in four, none for the
      rest. A few values need CSV quoting (commas, quotes) and some are not ASCII.
  people.py summary BODY_FILE
      An import answer as "created updated unchanged skipped errors dry_run" (counts, "-"
      for a missing field), then the first error or skip message (or "-") on a second line.
"""
import http.client
import json
import math
import sys
import time
import urllib.parse


class Client:
    def __init__(self, base: str, key: str):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port or 80
        self.headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
        self.conn = None

    def get(self, path: str) -> bytes:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=300)
            try:
                self.conn.request("GET", path, headers=self.headers)
                resp = self.conn.getresponse()
                body = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed a kept-alive connection: once more on a new one.
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
                continue
            if resp.status != 200:
                raise SystemExit(f"GET {path}: {resp.status} {body[:500].decode(errors='replace')}")
            if resp.getheader("connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            return body
        raise AssertionError("unreachable")

    def get_json(self, path: str):
        body = self.get(path)
        try:
            return json.loads(body)
        except ValueError:
            raise SystemExit(f"GET {path}: not JSON: {body[:300].decode(errors='replace')}")


def nearest_rank(sorted_ms: list, pct: float) -> float:
    return sorted_ms[max(0, math.ceil(pct / 100 * len(sorted_ms)) - 1)]


def latency(base: str, key: str, path: str, requests: int, warmup: int) -> None:
    c = Client(base, key)
    for _ in range(warmup):
        c.get(path)
    times = []
    for _ in range(requests):
        t0 = time.perf_counter()
        c.get(path)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    print(f"{nearest_rank(times, 50):.2f} {nearest_rank(times, 99):.2f} {sum(times) / len(times):.2f} "
          f"{times[0]:.2f} {times[-1]:.2f} {len(times)}")


def with_cursor(path: str, cursor: str) -> str:
    return path + ("&" if "?" in path else "?") + "cursor=" + urllib.parse.quote(cursor, safe="")


def walk(base: str, key: str, path: str, pages: int) -> None:
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query))
    limit = int(query.get("limit", "50"))
    participating = query.get("state") == "participating"
    c = Client(base, key)
    seen: set = set()
    current = path
    t0 = time.perf_counter()
    for n in range(1, pages):
        page = c.get_json(current)
        items = page.get("items")
        if not isinstance(items, list) or len(items) != limit:
            raise SystemExit(f"page {n} ({current}): {len(items) if isinstance(items, list) else 'no'} items, not {limit}")
        for item in items:
            pid = item.get("id")
            if pid in seen:
                raise SystemExit(f"page {n}: person {pid} already seen on an earlier page")
            seen.add(pid)
            if participating and item.get("participating") is not True:
                raise SystemExit(f"page {n} of state=participating: {json.dumps(item)[:300]}")
        cursor = page.get("next_cursor")
        if not cursor:
            raise SystemExit(f"page {n}: no next_cursor after {len(seen)} people")
        current = with_cursor(path, cursor)
    walked = time.perf_counter() - t0
    page = c.get_json(current)
    items = page.get("items") or []
    if len(items) != limit:
        raise SystemExit(f"page {pages}: {len(items)} items, not {limit}")
    if items[0].get("id") in seen:
        raise SystemExit(f"page {pages}: person {items[0].get('id')} already seen on an earlier page")
    print(f"{current} {items[0].get('id')} {walked:.2f}")


def counts(base: str, key: str, path: str, expected_json: str) -> None:
    expected = json.loads(expected_json)["counts"]
    got = Client(base, key).get_json(path)
    mismatches = 0
    for name in ["total", "participating", "inactive", "deactivated", "excluded", "deprovisioned", "no_email"]:
        have, want = got.get(name, "missing"), expected[name]
        ok = have == want
        mismatches += not ok
        print(f"| {name} | {have} | {want} | {'ok' if ok else 'MISMATCH'} |")
    extra = sorted(set(got) - set(expected))
    if extra:
        print(f"| (other fields: {', '.join(extra)}) | | | |")
    print(f"MISMATCHES {mismatches}")


GIVEN = ["Ada", "Grace", "Alan", "Zoë", "Søren", "José", "Mary-Ann", "Chloé", "Wei", "Aoife", "Noor", "Björn"]
FAMILY = ["Lovelace", "Hopper", "O'Brien", "Müller", "Nguyen", "García", "Smith, Jr.", "Kowalski", "Okafor",
          "Dubois", "Tanaka"]
DEPARTMENTS = ["Sales", "Engineering", "Finance", "Support", "Marketing", "Legal", "Research, Development",
               'Ops "Night"']


def write_csv(path: str, rows: int) -> None:
    import csv

    def email(i: int) -> str:
        return f"import.{i:06d}@import.example"

    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["email", "given_name", "family_name", "display_name", "department", "manager_email"])
        for i in range(1, rows + 1):
            given, family = GIVEN[i % len(GIVEN)], FAMILY[(i // len(GIVEN)) % len(FAMILY)]
            manager = "" if i % 4 == 1 else email((i - 1) // 10 + 1)  # always an earlier row
            w.writerow([email(i), given, family, f"{given} {family}", DEPARTMENTS[i % len(DEPARTMENTS)], manager])


def summary(body_file: str) -> None:
    try:
        with open(body_file, encoding="utf-8", errors="replace") as f:
            body = json.load(f)
    except (OSError, ValueError):
        body = {}
    if not isinstance(body, dict):
        body = {}

    def n(name: str) -> str:
        v = body.get(name)
        return str(len(v)) if isinstance(v, list) else ("-" if v is None else json.dumps(v))

    first = "-"
    for name in ("errors", "skipped"):
        v = body.get(name)
        if isinstance(v, list) and v:
            first = f"{name[:-1] if name == 'errors' else 'skip'} row {v[0].get('row')}: {v[0].get('message')}"
            break
    if not body:
        try:
            with open(body_file, encoding="utf-8", errors="replace") as f:
                text = f.read(200)
            first = "answer: " + text if text.strip() else "no answer body"
        except OSError:
            pass
    print(f"{n('created')} {n('updated')} {n('unchanged')} {n('skipped')} {n('errors')} {n('dry_run')}")
    print(first.replace("|", "/").replace("\n", " ")[:200])


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "latency":
        latency(a[0], a[1], a[2], int(a[3]), int(a[4]))
    elif cmd == "walk":
        walk(a[0], a[1], a[2], int(a[3]))
    elif cmd == "counts":
        counts(a[0], a[1], a[2], a[3])
    elif cmd == "csv":
        write_csv(a[0], int(a[1]))
    elif cmd == "summary":
        summary(a[0])
    else:
        raise SystemExit(__doc__)
