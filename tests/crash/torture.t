#!/usr/bin/env python3
"""Kill -9 torture: SMTP clients send numbered messages, half to a local
Maildir and half to a remote test sink (through control/transport), while
a killer sends SIGKILL at random moments to yubin-qmgr, yubin-local,
yubin-remote, yubin-queue (the injector and any exec'd one) and
yubin-smtpd. yubin-run restarts what it supervises; qmgr respawns its
agents. At the end every message whose DATA got 250 must be delivered:
none lost; in the Maildir exactly once (the Maildir name comes from the
queue id and recipient); at the sink at most once per message in flight
at a kill of yubin-remote or yubin-qmgr (queue/README: remote delivery is
at-least-once; the window is a 250 from the sink before the 'D' mark).
Short by default (make check); CRASH_ROUNDS=N makes it N times longer."""
import email, os, random, signal, subprocess, sys, threading, time
sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from crashlib import descendants, Smtp  # noqa: E402
from smtpsink import Sink  # noqa: E402
from yubintest import Tap, Instance, maildir_messages  # noqa: E402

ROUNDS = max(1, int(os.environ.get("CRASH_ROUNDS", "1")))
SECONDS = 10 * ROUNDS   # how long the clients send while the killer works
N = 1500 * ROUNDS       # at most this many messages
CLIENTS = 3
TARGETS = ["yubin-qmgr", "yubin-local", "yubin-remote", "yubin-queue", "yubin-smtpd"]
t = Tap()
t.need("kill -9 torture", "yubin-run", "yubin-smtpd", "yubin-qmgr", "yubin-local", "yubin-remote",
       "yubin-queue")
rng = random.Random(int(os.environ.get("CRASH_SEED", str(os.getpid()))))
t.diag(f"CRASH_SEED={os.environ.get('CRASH_SEED', os.getpid())} seconds={SECONDS}")

with Sink() as sink, Instance() as y:
    for k, v in (("minimal_backoff_time", "1s"), ("maximal_backoff_time", "2s"), ("queue_run_delay", "1s"),
                 ("smtpd_hard_error_limit", "1000"), ("smtpd_client_connection_rate_limit", "0"),
                 ("smtpd_client_message_rate_limit", "0")):
        y.control(k, v)
    y.map("transport", f"sink.test smtp:[127.0.0.1]:{sink.port}\n")
    y.run("yubin-ctl", "reload", check=False)
    box = y.maildir("demo@example.test")
    acked, lock = {}, threading.Lock()
    kills = {n: 0 for n in TARGETS}
    stop = threading.Event()

    def client(c):
        conn = None
        end = time.time() + SECONDS
        for i in range(c, N, CLIENTS):
            if time.time() > end:
                break
            time.sleep(rng.uniform(0, 0.05))
            rcpt = b"demo@example.test" if i % 2 == 0 else b"x@sink.test"
            # a killed smtpd may have queued an attempt it never acked, so a
            # retry is a new message: each attempt has its own subject
            for attempt in range(3):
                body = b"Subject: torture %d.%d\r\n\r\nmessage %d\r\n" % (i, attempt, i)
                try:
                    conn = conn or Smtp(y.port("smtp"))
                    if conn.send(b"sender@client.test", rcpt, body):
                        with lock:
                            acked[f"{i}.{attempt}"] = rcpt
                        break
                except (OSError, ConnectionError):
                    if conn:
                        conn.close()
                    conn = None
        if conn:
            conn.close()

    def killer():
        while not stop.is_set():
            time.sleep(rng.uniform(0.05, 0.4))
            procs = descendants(y.proc.pid)
            name = rng.choice(TARGETS)
            pids = [p for p, n in procs.items() if n == name]
            if pids:
                try:
                    os.kill(rng.choice(pids), signal.SIGKILL)
                    kills[name] += 1
                except ProcessLookupError:
                    pass

    threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    k = threading.Thread(target=killer)
    k.start()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    stop.set()
    k.join()
    t.diag("kills: " + ", ".join(f"{n} {c}" for n, c in kills.items()))
    t.ok(sum(kills.values()) >= 5, f"the killer struck ({sum(kills.values())} kills)", kills)
    t.ok(len(acked) >= 20, f"{len(acked)} messages acked despite the kills")
    t0 = time.time()

    def delivered():
        local = {}
        for data in maildir_messages(box).values():
            s = email.message_from_bytes(data).get("Subject", "")
            local[s] = local.get(s, 0) + 1
        remote = {}
        for m in list(sink.messages):
            s = email.message_from_bytes(m["data"] if isinstance(m["data"], bytes) else m["data"].encode()).get(
                "Subject", "")
            remote[s] = remote.get(s, 0) + 1
        return local, remote

    deadline = time.time() + 120 * ROUNDS
    last_flush = 0
    while time.time() < deadline:
        local, remote = delivered()
        missing = [i for i, r in acked.items() if f"torture {i}" not in (local if r.startswith(b"demo") else remote)]
        if not missing:
            break
        if time.time() - last_flush > 3:
            y.run("yubin-ctl", "flush", check=False)
            last_flush = time.time()
        time.sleep(0.5)
    local, remote = delivered()
    t.diag(f"delivered everything acked in {time.time() - t0:.1f}s after the kills stopped")
    t.eq(sorted(missing), [], "every acked message was delivered (none lost)")
    dup_local = {s: n for s, n in local.items() if n > 1}
    t.eq(dup_local, {}, "no message twice in the Maildir")
    dup_remote = sum(n - 1 for n in remote.values() if n > 1)
    window = (kills["yubin-remote"] + kills["yubin-qmgr"]) * 20  # in flight per kill, at most the concurrency
    t.diag(f"remote duplicates: {dup_remote} (window {window})")
    t.ok(dup_remote <= window, "remote duplicates within the crash window", dup_remote)
    deadline = time.time() + 30
    while True:
        alive = set(descendants(y.proc.pid).values())
        if {"yubin-qmgr", "yubin-queue"} <= alive or time.time() > deadline:
            break
        time.sleep(0.2)
    t.ok({"yubin-qmgr", "yubin-queue"} <= alive, "yubin-run restarted what it supervises", sorted(alive))
    def queue_empty():
        out = y.run("yubin-ctl", "queue", check=False).stdout.decode().strip()
        return out == "" or "empty" in out.lower(), out
    deadline = time.time() + 60
    empty, out = queue_empty()
    while not empty and time.time() < deadline:
        y.run("yubin-ctl", "flush", check=False)
        time.sleep(1)
        empty, out = queue_empty()
    t.ok(empty, "the queue drained", out)
t.done()
