#!/usr/bin/env python3
"""bench-scim.sh's helpers that need a JSON parser (standard library only).

  prepare.py verify BASE_URL TOKEN SAMPLES_FILE BIG_GROUP_ID
      GETs each seeded user of SAMPLES_FILE ("id userName" lines) by id and by the Entra
      match filter, and checks what comes back; exit 1 on the first mismatch.
  prepare.py cursor BASE_URL TOKEN DEPTH
      Walks cursor pages of 1000 from the start until DEPTH users are behind it and prints
      that nextCursor (and, on stderr, the first userName after it).
"""
import json
import sys
import urllib.parse
import urllib.request


def get(base: str, token: str, path: str, query: dict | None = None) -> tuple[int, dict]:
    url = base + path + ("?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote) if query else "")
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as e:
        body = e.read().decode(errors="replace")[:500]
        raise SystemExit(f"GET {url}: {e.code} {body}")


def verify(base: str, token: str, samples: str, group: str) -> None:
    n = 0
    for line in open(samples):
        if not line.strip():
            continue
        uid, name = line.split()
        status, user = get(base, token, f"/Users/{uid}")
        email = next((e.get("value") for e in user.get("emails", []) if e.get("primary")), None)
        groups = [g.get("value") for g in user.get("groups", [])]
        if user.get("id") != uid or user.get("userName") != name or email != name \
                or user.get("active") is not True or group not in groups:
            raise SystemExit(f"GET /Users/{uid}: unexpected {json.dumps(user)[:500]}")
        status, page = get(base, token, "/Users", {"filter": f'userName eq "{name}"'})
        found = [r.get("id") for r in page.get("Resources", [])]
        if page.get("totalResults") != 1 or found != [uid]:
            raise SystemExit(f'filter userName eq "{name}": unexpected {json.dumps(page)[:500]}')
        n += 1
    status, g = get(base, token, f"/Groups/{group}", {"excludedAttributes": "members"})
    if g.get("id") != group:
        raise SystemExit(f"GET /Groups/{group}: unexpected {json.dumps(g)[:500]}")
    print(f"verified {n} seeded users (by id and by userName filter) and the group")


def cursor(base: str, token: str, depth: int) -> None:
    page_size = 1000
    cur, seen = "", 0
    while seen < depth:
        status, page = get(base, token, "/Users", {"count": str(page_size), "cursor": cur})
        seen += len(page.get("Resources", []))
        cur = page.get("nextCursor")
        if not cur:
            raise SystemExit(f"no nextCursor after {seen} users")
    status, page = get(base, token, "/Users", {"count": "1", "cursor": cur})
    first = (page.get("Resources") or [{}])[0].get("userName")
    print(f"cursor after {seen} users; next is {first}", file=sys.stderr)
    print(cur)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "verify":
        verify(args[0], args[1], args[2], args[3])
    elif cmd == "cursor":
        cursor(args[0], args[1], int(args[2]))
    else:
        raise SystemExit(__doc__)
