#!/usr/bin/env python3
"""Crashes lose nothing that was acknowledged (issue 22, point 2).

Starts a PostgreSQL cluster of its own (initdb into a temporary folder, a free port on
127.0.0.1) and a scimd on it, drives the node with several clients (creates, PATCHes of
`active`, member PATCHes of two shared groups, reads by id), and meanwhile:

  1. `kill -9`s scimd mid-load and starts it again (--kills times), measuring how long
     until it serves again;
  2. restarts PostgreSQL with `pg_ctl restart -m fast` under load (--restarts times),
     checking every answer during the outage (503 with Retry-After and a SCIM error body
     within the pool timeout, never a 500; /readyz a plain 503) and measuring, per kind of
     request, how long after PostgreSQL accepted connections it succeeds again;
  3. stops the load and audits the database in SQL: every acknowledged (2xx) write is
     there with its event; nothing is half-applied (each group's members agree with its
     member events, each user's and group's version with its events); each user's `active`
     and each membership are what the last acknowledged write left, unless a later write
     had no answer.

Usage: conformance/crash.py [--bin target/release/scimd] [--clients 8] [--kills 2]
       [--restarts 4] [--window 12] [--json report.json]
  Without --bin (or SCIMD_BIN), builds target/release/scimd with cargo.
Needs: PostgreSQL's server binaries (initdb, pg_ctl: `pg_config --bindir`, or
  /usr/lib/postgresql/<version>/bin), psql, python3. As root, the cluster runs as the
  `postgres` user (PostgreSQL refuses to run as root).
Traffic goes only to the servers it starts, on 127.0.0.1. Every loop is bounded in count
and time; the whole run takes about 20 s + kills × 10 s + restarts × window.
Exit 0 when every check passed, 1 when one failed or the run itself did.
"""

import argparse
import glob
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
# The kinds of request the clients send, and /readyz, which a poller of its own asks.
KINDS = ("create", "active", "member", "read", "readyz")


def say(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_root():
    return os.geteuid() == 0


def server_bindir():
    """Where initdb and pg_ctl are: pg_config's bindir, Debian's per-version folders
    (newest first), the source install's default, then PATH."""
    candidates = []
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        candidates.append(out.stdout.strip())

    def version(path):
        try:
            return int(path.split("/")[-2])
        except ValueError:
            return 0

    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    candidates += ["/usr/local/pgsql/bin"]
    which = shutil.which("initdb")
    if which:
        candidates.append(os.path.dirname(which))
    for c in candidates:
        if c and os.path.exists(os.path.join(c, "initdb")) and os.path.exists(
            os.path.join(c, "pg_ctl")
        ):
            return c
    sys.exit("no PostgreSQL server binaries (initdb, pg_ctl) found: install PostgreSQL "
             "(apt-get install postgresql, dnf install postgresql-server, brew install postgresql)")


class Postgres:
    """A cluster of the run's own, removed at the end."""

    def __init__(self, work):
        self.bindir = server_bindir()
        self.dir = os.path.join(work, "pg")
        os.makedirs(self.dir)
        if is_root():
            subprocess.run(["chown", "-R", "postgres:postgres", work], check=True)
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "log")
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/scimd"
        self.run("initdb", "-A", "trust", "-U", "postgres", "-D", self.data)
        self.opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 "
                     f"-c unix_socket_directories={self.dir} -c max_connections=100")

    def cmd(self, program, *args):
        path = os.path.join(self.bindir, program)
        prefix = ["runuser", "-u", "postgres", "--"] if is_root() else []
        return prefix + [path, *args]

    def run(self, program, *args, timeout=120):
        out = subprocess.run(self.cmd(program, *args), capture_output=True, text=True,
                             timeout=timeout)
        if out.returncode != 0:
            raise RuntimeError(f"{program} {' '.join(args)} failed: {out.stdout}{out.stderr}")

    def pg_ctl(self, *args):
        # -w: returns once the server accepts connections (or has stopped).
        self.run("pg_ctl", "-w", "-t", "60", "-D", self.data, "-l", self.log, "-o", self.opts,
                 *args)

    def start(self):
        self.pg_ctl("start")

    def restart(self):
        self.pg_ctl("-m", "fast", "restart")

    def stop(self):
        try:
            self.run("pg_ctl", "-D", self.data, "-m", "immediate", "stop", timeout=30)
        except Exception as e:  # already stopped, or never started
            say(f"pg_ctl stop: {e}")

    def sql(self, query):
        out = subprocess.run(["psql", "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                              self.url, "-c", query],
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"psql failed: {out.stderr}")
        return [line.split("\t") for line in out.stdout.splitlines() if line]


class Scimd:
    def __init__(self, binary, url, work, pool_timeout):
        self.bin = binary
        self.port = free_port()
        self.env = dict(os.environ, DATABASE_URL=url, SCIMD_LOG="info,scimd=info",
                        SCIMD_POOL_TIMEOUT=f"{pool_timeout}s", SCIMD_SYNC_WORKERS="0")
        self.log = open(os.path.join(work, "scimd.log"), "ab")
        self.proc = None

    def cli(self, *args):
        out = subprocess.run([self.bin, *args], env=self.env, capture_output=True, text=True,
                             timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"scimd {' '.join(args)} failed: {out.stderr}")
        return out.stdout.strip()

    def start(self):
        self.proc = subprocess.Popen(
            [self.bin, "serve", "--no-bootstrap", "--bind", f"127.0.0.1:{self.port}"],
            env=self.env, stdout=self.log, stderr=self.log)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def request(conn_box, port, method, path, token, body=None, timeout=15.0):
    """One request on the caller's connection; (status, headers, json body) or the error.

    `sent`: whether the request may have reached the server (a refused connection did not).
    """
    headers = {"Authorization": f"Bearer {token}"}
    data = None
    if body is not None:
        data = json.dumps(body)
        headers["Content-Type"] = "application/scim+json"
    started = time.monotonic()
    sent = False
    try:
        if conn_box[0] is None:
            conn_box[0] = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
            conn_box[0].connect()
        sent = True
        conn_box[0].request(method, path, body=data, headers=headers)
        res = conn_box[0].getresponse()
        raw = res.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return {"status": res.status, "headers": {k.lower(): v for k, v in res.getheaders()},
                "body": parsed, "started": started, "took": time.monotonic() - started}
    except (OSError, http.client.HTTPException) as e:
        if conn_box[0] is not None:
            conn_box[0].close()
        conn_box[0] = None
        return {"status": None, "sent": sent and not isinstance(e, ConnectionRefusedError),
                "error": type(e).__name__, "started": started,
                "took": time.monotonic() - started}


class Ledger:
    """Every answer, and what each 2xx acknowledged."""

    def __init__(self):
        self.lock = threading.Lock()
        self.answers = []  # (kind, started, status, retry_after, scim_body, took)
        self.created = {}  # user id -> userName
        # per user: [(value, acked)] in order; per (group, user): [(op, acked)] in order
        self.active = {}
        self.members = {}
        self.member_acks = 0
        self.active_acks = 0

    def answer(self, kind, res):
        body = res.get("body")
        scim = isinstance(body, dict) and SCIM_ERROR in (body.get("schemas") or [])
        with self.lock:
            self.answers.append((kind, res["started"], res["status"],
                                 "retry-after" in res.get("headers", {}), scim, res["took"]))


def client(i, port, token, groups, ledger, stop, deadline, seed):
    rnd = random.Random(seed)
    box = [None]
    mine = []  # (user id, believed active)
    in_group = {}  # (group, user) -> believed member
    n = 0
    while not stop.is_set() and time.monotonic() < deadline and n < 200000:
        n += 1
        roll = rnd.random()
        if not mine or roll < 0.35:
            name = f"c{i}-{uuid.uuid4().hex[:12]}@example.com"
            res = request(box, port, "POST", "/scim/v2/Users", token,
                          {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                           "userName": name, "active": True})
            ledger.answer("create", res)
            if res["status"] == 201:
                uid = res["body"]["id"]
                with ledger.lock:
                    ledger.created[uid] = name
                    ledger.active[uid] = []
                mine.append([uid, True])
        elif roll < 0.6:
            user = rnd.choice(mine)
            value = not user[1]
            res = request(box, port, "PATCH", f"/scim/v2/Users/{user[0]}", token,
                          {"schemas": [PATCH_OP],
                           "Operations": [{"op": "replace", "path": "active", "value": value}]})
            ledger.answer("active", res)
            acked = res["status"] is not None and 200 <= res["status"] < 300
            unknown = res["status"] is None and res["sent"] or (res["status"] or 0) >= 500
            with ledger.lock:
                if acked:
                    ledger.active[user[0]].append((value, True))
                    ledger.active_acks += 1
                elif unknown:
                    ledger.active[user[0]].append((value, False))
            if acked:
                user[1] = value
            elif unknown:
                # Learn what happened before toggling again (bounded).
                for _ in range(100):
                    if stop.is_set():
                        break
                    got = request(box, port, "GET", f"/scim/v2/Users/{user[0]}", token)
                    if got["status"] == 200:
                        user[1] = bool(got["body"].get("active"))
                        break
                    time.sleep(0.1)
        elif roll < 0.85:
            user = rnd.choice(mine)[0]
            group = rnd.choice(groups)
            member = in_group.get((group, user), False)
            op = "remove" if member else "add"
            operation = ({"op": "add", "path": "members", "value": [{"value": user}]}
                         if op == "add" else
                         {"op": "remove", "path": f'members[value eq "{user}"]'})
            res = request(box, port, "PATCH", f"/scim/v2/Groups/{group}", token,
                          {"schemas": [PATCH_OP], "Operations": [operation]})
            ledger.answer("member", res)
            acked = res["status"] is not None and 200 <= res["status"] < 300
            unknown = res["status"] is None and res["sent"] or (res["status"] or 0) >= 500
            with ledger.lock:
                if acked or unknown:
                    ledger.members.setdefault((group, user), []).append((op, acked))
                if acked:
                    ledger.member_acks += 1
            if acked:
                in_group[(group, user)] = op == "add"
            elif unknown:
                for _ in range(100):
                    if stop.is_set():
                        break
                    got = request(box, port, "GET",
                                  f"/scim/v2/Users/{user}?attributes=groups", token)
                    if got["status"] == 200:
                        ids = {g.get("value") for g in got["body"].get("groups", [])}
                        in_group[(group, user)] = group in ids
                        break
                    time.sleep(0.1)
        else:
            user = rnd.choice(mine)[0]
            res = request(box, port, "GET", f"/scim/v2/Users/{user}", token)
            ledger.answer("read", res)
        time.sleep(0.002)
    if box[0] is not None:
        box[0].close()


def readyz_poller(port, ledger, stop, deadline):
    box = [None]
    while not stop.is_set() and time.monotonic() < deadline:
        res = request(box, port, "GET", "/readyz", "-", timeout=10)
        ledger.answer("readyz", res)
        time.sleep(0.05)


def wait_ready(port, limit):
    """Seconds until /readyz answers 200, or None after `limit` seconds."""
    start = time.monotonic()
    box = [None]
    while time.monotonic() - start < limit:
        res = request(box, port, "GET", "/readyz", "-", timeout=2)
        if res["status"] == 200:
            return time.monotonic() - start
        time.sleep(0.02)
    return None


def back_after(ledger, since, until):
    """Per kind, how long after `since` the last failure before `until` started (0: none);
    with the number of answers after since + 5 s."""
    out = {}
    with ledger.lock:
        answers = list(ledger.answers)
    for kind in KINDS:
        window = [a for a in answers if a[0] == kind and since <= a[1] < until]
        failures = [a[1] for a in window if a[2] is None or not 200 <= a[2] < 300]
        late = sum(1 for a in window if a[1] >= since + 5)
        out[kind] = (max(failures) - since if failures else 0.0, len(failures), late)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", default=os.environ.get("SCIMD_BIN"))
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--kills", type=int, default=2)
    p.add_argument("--restarts", type=int, default=4)
    p.add_argument("--window", type=float, default=12.0,
                   help="seconds of load after each restart, before the next")
    p.add_argument("--pool-timeout", type=int, default=5)
    p.add_argument("--json", help="write the figures there too")
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    args = p.parse_args()

    binary = args.bin
    if not binary:
        say("building scimd (cargo build --release)")
        subprocess.run(["nice", "-n", "19", "cargo", "build", "--release", "--quiet", "--bin",
                        "scimd"], cwd=REPO, check=True)
        binary = os.path.join(REPO, "target/release/scimd")
    binary = os.path.abspath(binary)
    if not os.access(binary, os.X_OK):
        sys.exit(f"no scimd binary at {binary}")

    work = tempfile.mkdtemp(prefix="scimd-crash.")
    os.chmod(work, 0o755)
    pg = None
    node = None
    failures = []
    report = {"clients": args.clients, "pool_timeout_s": args.pool_timeout}
    try:
        pg = Postgres(work)
        pg.start()
        say(f"PostgreSQL on 127.0.0.1:{pg.port}")
        node = Scimd(binary, pg.url, work, args.pool_timeout)
        node.cli("migrate")
        node.cli("tenant", "create", "crash")
        node.cli("tenant", "set", "crash", "--rate-per-second", "100000", "--rate-burst",
                 "100000")
        token = node.cli("token", "issue", "--tenant", "crash")
        node.start()
        if wait_ready(node.port, 60) is None:
            raise RuntimeError("scimd did not become ready within 60 s")
        box = [None]
        groups = []
        for name in ("Crash A", "Crash B"):
            res = request(box, node.port, "POST", "/scim/v2/Groups", token,
                          {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                           "displayName": name})
            if res["status"] != 201:
                raise RuntimeError(f"group create answered {res['status']}")
            groups.append(res["body"]["id"])

        ledger = Ledger()
        stop = threading.Event()
        budget = 60 + args.kills * 20 + args.restarts * (args.window + 30)
        deadline = time.monotonic() + budget
        threads = [threading.Thread(target=client, daemon=True,
                                    args=(i, node.port, token, groups, ledger, stop, deadline,
                                          1000 + i))
                   for i in range(args.clients)]
        threads.append(threading.Thread(target=readyz_poller, daemon=True,
                                        args=(node.port, ledger, stop, deadline)))
        for t in threads:
            t.start()
        time.sleep(5)

        # 1. kill -9 mid-load.
        kills = []
        for k in range(args.kills):
            time.sleep(random.uniform(1, 3))
            node.kill9()
            killed = time.monotonic()
            node.start()
            ready = wait_ready(node.port, 60)
            time.sleep(8)
            first_ok = {}
            with ledger.lock:
                for kind in KINDS:
                    oks = [a[1] for a in ledger.answers
                           if a[0] == kind and a[1] >= killed and a[2] is not None
                           and 200 <= a[2] < 300]
                    first_ok[kind] = round(min(oks) - killed, 2) if oks else None
            kills.append({"ready_after_s": None if ready is None else round(ready, 2),
                          "first_2xx_after_kill_s": first_ok})
            say(f"kill -9 #{k + 1}: /readyz 200 {ready and round(ready, 2)} s after the new "
                f"process started; first 2xx per kind after the kill: {first_ok}")
            if ready is None:
                failures.append(f"kill #{k + 1}: scimd not ready within 60 s")
        report["kills"] = kills

        # 2. PostgreSQL restarts under load.
        restarts = []
        for r in range(args.restarts):
            began = time.monotonic()
            pg.restart()
            up = time.monotonic()
            time.sleep(args.window)
            end = time.monotonic()
            back = back_after(ledger, up, end)
            entry = {"outage_s": round(up - began, 2), "back_after_up_s": {}}
            for kind, (after, nfail, late) in back.items():
                entry["back_after_up_s"][kind] = round(after, 2)
                entry.setdefault("failures_after_up", {})[kind] = nfail
                if after >= 5:
                    failures.append(f"restart #{r + 1}: {kind} still failing {after:.1f} s "
                                    f"after PostgreSQL accepted connections")
                if late < 5:
                    failures.append(f"restart #{r + 1}: only {late} {kind} answers from 5 s "
                                    f"after PostgreSQL came back")
            restarts.append(entry)
            say(f"restart #{r + 1}: pg_ctl restart took {up - began:.2f} s; back after "
                f"(s): {entry['back_after_up_s']}")
        report["restarts"] = restarts

        stop.set()
        for t in threads:
            t.join(timeout=60)
        if any(t.is_alive() for t in threads):
            failures.append("a client did not stop within 60 s")

        # Every answer that was not a 2xx.
        statuses = {}
        slow = []
        bad = []
        for kind, started, status, retry_after, scim, took in ledger.answers:
            key = f"{kind} {status if status is not None else 'no answer'}"
            statuses[key] = statuses.get(key, 0) + 1
            if status is None or 200 <= status < 300:
                continue
            if status != 503:
                bad.append(f"{kind} {status}")
            elif kind != "readyz" and not (retry_after and scim):
                bad.append(f"{kind} 503 without Retry-After or SCIM body")
            if took > args.pool_timeout + 1.5:
                slow.append(round(took, 2))
        report["answers"] = dict(sorted(statuses.items()))
        if bad:
            failures.append(f"{len(bad)} wrong failure answers, e.g. {sorted(set(bad))[:5]}")
        if slow:
            failures.append(f"{len(slow)} failures answered after more than the pool timeout "
                            f"+ 1.5 s, slowest {max(slow)} s")

        # 3. The audit.
        node.stop()
        report["audit"] = audit(pg, ledger, groups, failures)
    except Exception as e:  # the run itself failed
        failures.append(f"run failed: {e}")
    finally:
        if node:
            node.stop()
        if pg:
            pg.stop()
        if args.keep:
            say(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    report["failures"] = failures
    print(json.dumps(report, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    for f in failures:
        say(f"FAILED: {f}")
    if not failures:
        say("every check passed")
    return 1 if failures else 0


def audit(pg, ledger, groups, failures):
    users = {row[0]: (row[1] == "t", int(row[2]))
             for row in pg.sql("SELECT id, active, version FROM users")}
    events = {}
    for etype, rid, n in pg.sql(
            "SELECT type, resource_id, count(*) FROM events GROUP BY type, resource_id"):
        events[(etype, rid)] = int(n)
    active_seq = {}
    for rid, etype in pg.sql("SELECT resource_id, type FROM events WHERE type IN "
                             "('user.deactivated', 'user.reactivated') ORDER BY seq"):
        active_seq.setdefault(rid, []).append(etype)
    members = {}
    for gid, mid in pg.sql("SELECT group_id, member_id FROM group_members"):
        members.setdefault(gid, set()).add(mid)
    group_versions = {row[0]: int(row[1]) for row in pg.sql("SELECT id, version FROM groups")}

    out = {"acknowledged_creates": len(ledger.created),
           "acknowledged_active_patches": ledger.active_acks,
           "acknowledged_member_patches": ledger.member_acks,
           "users_in_database": len(users)}
    problems = []
    for uid in ledger.created:
        if uid not in users:
            problems.append(f"acknowledged user {uid} missing")
        elif events.get(("user.created", uid), 0) != 1:
            problems.append(f"user {uid}: {events.get(('user.created', uid), 0)} created events")
    # Versions agree with updates: a user starts at version 1, and each PATCH that
    # changes `active` adds one and writes a user.updated event and a user.deactivated or
    # user.reactivated one.
    for uid, (active, version) in users.items():
        seq = active_seq.get(uid, [])
        updated = events.get(("user.updated", uid), 0)
        if version != 1 + updated or updated != len(seq):
            problems.append(f"user {uid}: version {version}, {updated} updated events, "
                            f"{len(seq)} active events")
        # The events alternate, from active.
        expect = "user.deactivated"
        for etype in seq:
            if etype != expect:
                problems.append(f"user {uid}: events out of order {seq}")
                break
            expect = ("user.reactivated" if expect == "user.deactivated"
                      else "user.deactivated")
        if active != (len(seq) % 2 == 0):
            problems.append(f"user {uid}: active={active} after {len(seq)} active events")
        ops = ledger.active.get(uid, [])
        acked = sum(1 for _, ok in ops if ok)
        if not acked <= len(seq) <= len(ops):
            problems.append(f"user {uid}: {acked} acknowledged active PATCHes, {len(ops)} sent "
                            f"without a refusal, {len(seq)} events")
        if ops and ops[-1][1] and active != ops[-1][0]:
            problems.append(f"user {uid}: last acknowledged active={ops[-1][0]}, found {active}")
    # Membership counts agree with the member events; versions with the PATCHes that
    # changed something (each changes one member, so one event each).
    for gid in groups:
        added = sum(n for (etype, rid), n in events.items()
                    if etype == "group.member_added" and rid == gid)
        removed = sum(n for (etype, rid), n in events.items()
                      if etype == "group.member_removed" and rid == gid)
        count = len(members.get(gid, set()))
        if count != added - removed:
            problems.append(f"group {gid}: {count} members, {added} added - {removed} removed")
        if group_versions.get(gid) != 1 + added + removed:
            problems.append(f"group {gid}: version {group_versions.get(gid)}, "
                            f"{added + removed} member events")
        out.setdefault("groups", []).append({"members": count, "member_added_events": added,
                                             "member_removed_events": removed,
                                             "version": group_versions.get(gid)})
    for (gid, uid), ops in ledger.members.items():
        if ops[-1][1]:
            want = ops[-1][0] == "add"
            if (uid in members.get(gid, set())) != want:
                problems.append(f"group {gid}: user {uid} last acknowledged {ops[-1][0]}, "
                                f"found the opposite")
    out["problems"] = len(problems)
    if problems:
        failures.append(f"audit: {len(problems)} problems, e.g. {problems[:5]}")
    say(f"audit: {out}")
    return out


if __name__ == "__main__":
    sys.exit(main())
