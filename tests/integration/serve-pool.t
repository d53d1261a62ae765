#!/usr/bin/env python3
"""The worker pool of serve.h, as yubin-run runs it (the listening socket on
fd 3, LISTEN_FDS=1): a yubin-smtpd worker serves plain port-25 sessions back
to back, with no fd or memory growth; after a session with TLS and AUTH it
serves the next client with no password left in its memory or in the TLS
service's; a change in control/ applies at the very next connection; max_use
retires a worker; kill -9 of a worker or of the pool loses no later
connection; the same mode under systemd-socket-activate without --inetd
(a .socket unit with Accept=no)."""
import base64, os, shutil, signal, smtplib, socket, ssl, subprocess, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Tap, Instance, BIN, children, wait_for, wait_messages

t = Tap()


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def pool_of(y):
    found = children(y.proc.pid, "yubin-smtpd")
    return found[0] if found else None


def busy_worker(y, s):
    """the worker serving smtplib connection s: the pool child holding the
    server end of s (found by socket inode in /proc/net/tcp)"""
    port = s.sock.getsockname()[1]
    inode = None
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            # the established server end (state 01); a closed earlier
            # connection that used the same client port shows inode 0
            if int(parts[2].split(":")[1], 16) == port and parts[3] == "01" and parts[9] != "0":
                inode = parts[9]
    if not inode:
        return None
    for w in children(pool_of(y)):
        try:
            for fd in os.listdir(f"/proc/{w}/fd"):
                if os.readlink(f"/proc/{w}/fd/{fd}") == f"socket:[{inode}]":
                    return w
        except OSError:
            continue
    return None


def session(y, body=b"Subject: pool\r\n\r\nhi\r\n", keep=None):
    s = smtplib.SMTP("127.0.0.1", y.port("smtp"), timeout=60)
    s.ehlo("pool.example.org")
    w = busy_worker(y, s)
    s.sendmail("a@example.org", ["demo@example.test"], body)
    if keep is not None:
        keep.append(s)
    else:
        s.quit()
    return w


GOOD, BAD = "Pool-Secret-7q2x", "Wrong-Secret-9k4v"


def plain_b64(password):
    return base64.b64encode(b"\0pool@example.test\0" + password.encode())


SECRETS = [x.encode() for x in (GOOD, BAD)] + [plain_b64(x) for x in (GOOD, BAD)]


def memory_has(pid, needles):
    """which of needles are in pid's writable memory (root only)"""
    found = set()
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            addr, perms = line.split()[:2]
            if not perms.startswith("rw"):
                continue
            a, b = (int(x, 16) for x in addr.split("-"))
            if b - a > 64 << 20:
                continue  # ASan's shadow and allocator reservations, not data
            try:
                mem.seek(a)
                data = mem.read(b - a)
            except OSError:
                continue
            found.update(n for n in needles if n in data)
    return sorted(found)


def idle(pid):
    """no connection on pid's fds 0 and 1 (it waits in accept)"""
    try:
        return not any(os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:") for fd in (0, 1))
    except OSError:
        return False


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


with Instance() as y:
    box = y.maildir("demo@example.test")
    # before any worker starts: a control/ change makes workers exec anew
    y.run("yubin-user", "add", "pool@example.test", input=(GOOD + "\n").encode())
    # the worker of a session is what this test follows: no session may
    # move to another worker by sleeping in the pool (smtpd-hibernate.t)
    y.control("smtpd_hibernate_timeout", "0")
    pool = pool_of(y)
    t.ok(pool is not None, "yubin-run runs one yubin-smtpd pool on the smtp socket")

    first = session(y)
    t.ok(first is not None and first != pool, "a forked worker serves the session")
    t.ok(wait_for(lambda: os.path.exists(f"/proc/{first}") and comm(first) == "yubin-smtpd", 10),
         "the worker is still there after QUIT")
    # the first sessions open the table files the worker keeps (table.c's cache)
    workers = [session(y) for _ in range(5)]
    wait_for(lambda: False, 0.5)
    fd_after, rss_after = fds(first), rss_kb(first)
    workers += [session(y) for _ in range(35)]
    # a client that reconnects at once may find its worker not yet back in
    # the pool, which then forks another: reuse, not one single worker
    t.ok(len(set(workers) | {first}) <= 4 and workers.count(first) >= 10,
         "40 sequential plain sessions are served by reused workers",
         f"first {first}, then {workers}")
    # the client may see 221 before the worker has closed the session's fds
    t.ok(wait_for(lambda: fds(first) == fd_after, 10), "no file descriptor grows across sessions",
         f"{fd_after} -> {fds(first)}")
    if os.path.exists(os.path.join(BIN, ".flavour-san")):
        t.skip("RSS does not grow across sessions", "ASan's quarantine keeps freed memory (SANITIZE=1 build)")
    else:
        t.ok(rss_kb(first) <= rss_after + 256, "RSS does not grow across sessions",
             f"{rss_after} KiB -> {rss_kb(first)} KiB")
    t.ok(wait_messages(box, 41, 60), "all 41 messages delivered")

    # STARTTLS and AUTH: the worker serves the next client, and neither
    # password (a refused and an accepted one) nor their base64 is left in
    # the memory of the smtpd worker or of any yubin-tlsd worker
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = smtplib.SMTP("127.0.0.1", y.port("smtp"), timeout=60)
    s.ehlo("pool.example.org")
    w = busy_worker(y, s)
    s.starttls(context=ctx)
    s.ehlo("pool.example.org")
    s.sendmail("a@example.org", ["demo@example.test"], b"Subject: pool tls\r\n\r\nhi\r\n")
    s.quit()
    # the logins come last, so no later command overwrites what they left
    s = smtplib.SMTP("127.0.0.1", y.port("smtp"), timeout=60)
    s.ehlo("pool.example.org")
    w2 = busy_worker(y, s)
    s.starttls(context=ctx)
    s.ehlo("pool.example.org")
    refused = s.docmd("AUTH", "PLAIN " + plain_b64(BAD).decode())[0]
    s.login("pool@example.test", GOOD)
    s.quit()
    t.eq(refused, 535, "a wrong password over TLS is refused")
    t.ok(w is not None and w2 is not None and
         wait_for(lambda: all(x in children(pool_of(y), "yubin-smtpd") and idle(x) for x in (w, w2)), 20),
         "after TLS sessions, with and without AUTH, their workers wait for the next client")
    tlsd = children(y.proc.pid, "yubin-tlsd")
    tlsd += [w for p in tlsd for w in children(p, "yubin-tlsd")]
    t.ok(tlsd, "the TLS service (yubin-tlsd -d) runs", tlsd)
    if os.geteuid() != 0:
        t.skip("no password left in worker memory", "reading another process's memory needs root")
    else:
        # "yubin-" (the program name) proves the memory could be read at all
        left = {p: memory_has(p, SECRETS + [b"yubin-"]) for p in [w2] + tlsd}
        t.ok(all(v == [b"yubin-"] for v in left.values()),
             "no password or its base64 is left in the smtpd worker or a yubin-tlsd", left)
    # idle workers race for each connection: try until w2 wins one
    again = []
    while w2 not in again and len(again) < 40:
        again.append(session(y))
    t.ok(w2 in again, "and it serves plain sessions again", f"{w2} not in {again}")

    # a changed setting applies at the next connection, even in an idle worker
    session(y)
    y.control("smtpd_banner", "changed.example ESMTP pool")
    for i in range(3):
        s = smtplib.SMTP(timeout=60)
        banner = s.connect("127.0.0.1", y.port("smtp"))[1]
        s.quit()
        t.ok(b"changed.example" in banner, f"connection {i + 1} after the change sees the new banner", banner)

    # bursts from 20 clients at once: idle workers wake one per connection
    # (EPOLLEXCLUSIVE); a wakeup a worker got just as it became busy is
    # passed on, so no connection waits for the next one to be accepted
    failures = []

    def burst(n):
        for _ in range(n):
            try:
                with smtplib.SMTP("127.0.0.1", y.port("smtp"), timeout=30) as c:
                    c.noop()
            except (OSError, smtplib.SMTPException) as e:
                failures.append(repr(e))
    threads = [threading.Thread(target=burst, args=(10,)) for _ in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t.eq(failures, [], "200 connections from 20 clients at once are all served")

    # max_use retires a worker
    y.control("max_use", "3")
    session(y)  # this client meets the change: its worker execs itself
    ws = [session(y) for _ in range(7)]
    t.ok(len(set(ws)) >= 3 and all(ws.count(w) <= 3 for w in set(ws)), "max_use = 3: no worker serves more than 3",
         ws)

    # kill -9 of a worker mid-session, then of the pool
    held = []
    w = session(y, keep=held)
    os.kill(w, signal.SIGKILL)
    t.ok(session(y) is not None, "kill -9 of a busy worker: the next connection is served")
    for s in held:
        try:
            s.close()
        except Exception:
            pass
    os.kill(pool, signal.SIGKILL)
    t.ok(wait_for(lambda: pool_of(y) not in (None, pool), 20), "kill -9 of the pool: yubin-run starts a new one")
    s = smtplib.SMTP("127.0.0.1", y.port("smtp"), timeout=60)
    t.eq(s.noop()[0], 250, "and it serves the next connection")
    s.quit()
    total = 41 + 1 + len(again) + 1 + 1 + 7 + 1 + 1
    t.ok(wait_messages(box, total, 60), f"every accepted message delivered ({total})")

    # a .socket unit with Accept=no: systemd-socket-activate without --inetd
    activate = shutil.which("systemd-socket-activate")
    if not activate:
        t.skip("LISTEN_FDS mode under systemd-socket-activate", "systemd-socket-activate is not installed")
    else:
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TCP")}
        proc = subprocess.Popen([activate, "-l", f"127.0.0.1:{port}", "-E", f"YUBIN_ROOT={y.root}",
                                 os.path.join(BIN, "yubin-smtpd")], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=env, start_new_session=True)
        try:
            deadline = time.time() + 30
            s = None
            while s is None:
                try:
                    s = smtplib.SMTP("127.0.0.1", port, timeout=60)
                except OSError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.1)
            s.sendmail("a@example.org", ["demo@example.test"], b"Subject: accept-no\r\n\r\nhi\r\n")
            s.quit()
            s = smtplib.SMTP("127.0.0.1", port, timeout=60)
            t.eq(s.noop()[0], 250, "Accept=no mode: a second connection is served by the same service")
            s.quit()
            t.ok(wait_messages(box, total + 1, 60), "Accept=no mode: the message is delivered")
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)

    y.stop()

    def leftovers():
        left = []
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    env = open(f"/proc/{p}/environ", "rb").read()
                except OSError:
                    continue
                if f"YUBIN_ROOT={y.root}".encode() in env and comm(int(p)).startswith("yubin-"):
                    left.append((p, comm(int(p))))
        return left
    # SIGTERM reaches the workers through their pool: give them a moment
    t.ok(wait_for(lambda: not leftovers(), 20), "after yubin-run stops, no yubin process of the instance is left",
         leftovers())

t.done()
