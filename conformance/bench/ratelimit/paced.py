"""Paced SCIM reads for bench-ratelimit.sh: GET `path` at `rate` requests per second for
`seconds` over one kept-alive connection, as an IdP's provisioning cycle does. Prints
`p50 p99 mean max ok limited other` (milliseconds, then counts). Standard library only."""
import http.client
import sys
import time
import urllib.parse


def main():
    origin, token, path, rate, seconds = sys.argv[1:6]
    rate, seconds = float(rate), float(seconds)
    u = urllib.parse.urlsplit(origin)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"}
    times, counts = [], {"ok": 0, "limited": 0, "other": 0}
    start = time.monotonic()
    n = 0
    while True:
        due = start + n / rate
        now = time.monotonic()
        if due - start >= seconds:
            break
        if due > now:
            time.sleep(due - now)
        t = time.perf_counter()
        conn.request("GET", path, headers=headers)
        res = conn.getresponse()
        res.read()
        times.append((time.perf_counter() - t) * 1000)
        key = "ok" if res.status == 200 else "limited" if res.status == 429 else "other"
        counts[key] += 1
        n += 1
    times.sort()
    pick = lambda q: times[min(len(times) - 1, max(0, int(round(q * len(times))) - 1))]
    print(f"{pick(0.5):.2f} {pick(0.99):.2f} {sum(times) / len(times):.2f} {times[-1]:.2f} "
          f"{counts['ok']} {counts['limited']} {counts['other']}")


if __name__ == "__main__":
    main()
