#!/usr/bin/env python3
"""crash-local: 500 messages injected with sendmail by several writers while
yubin-qmgr and yubin-local are killed with SIGKILL again and again
(yubin-run restarts qmgr, qmgr respawns local). Every accepted message must
end up in the Maildir exactly once (counted by Message-ID), and the queue
must drain: nothing lost, nothing stuck, nothing twice."""
import os, re, signal, subprocess, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import yubintest
from yubintest import Tap, Instance, BIN, maildir_messages, wait_for

N, WRITERS, KILLS = 500, 5, 8
t = Tap()
t.need("crash safety", "yubin-run", "sendmail", "yubin-local", "yubin-qmgr")


def qmgr_pid(y):
    try:
        with open(os.path.join(y.root, "queue", "lock", "qmgr")) as f:
            pid = int(f.read().strip() or 0)
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return pid if b"yubin-qmgr" in f.read() else None
    except (OSError, ValueError):
        return None


def children(pid, name):
    """processes called name among pid's children and grandchildren (as
    root, qmgr starts its agents through a helper that stays root)"""
    kids = _children(pid)
    found = [p for p, cmd in kids if name.encode() in cmd]
    for p, cmd in kids:
        if b"yubin-qmgr" in cmd:
            found += [q for q, c in _children(p) if name.encode() in c]
    return found


def _children(pid):
    out = []
    for kid in yubintest.children(pid):
        try:
            with open(f"/proc/{kid}/cmdline", "rb") as f:
                out.append((kid, f.read()))
        except OSError:
            continue
    return out


with Instance() as y:
    y.control("minimal_backoff_time", "1s")
    y.control("maximal_backoff_time", "2s")
    y.control("queue_run_delay", "1s")
    y.run("yubin-ctl", "reload", check=False)
    md = y.maildir("demo@example.test")
    accepted, lock = set(), threading.Lock()
    done = threading.Event()

    def writer(w):
        for i in range(w, N, WRITERS):
            mid = f"<crash-{i}@test>"
            msg = f"Subject: crash {i}\nMessage-ID: {mid}\n\nmessage {i}\n".encode()
            r = subprocess.run([os.path.join(BIN, "sendmail"), "-f", "sender@example.test", "demo@example.test"],
                               input=msg, capture_output=True, env=y.env, timeout=60)
            if r.returncode == 0:
                with lock:
                    accepted.add(mid)

    kills = []

    def killer():
        n = 0
        while not done.is_set() and n < KILLS:
            time.sleep(0.4 + 0.1 * (n % 3))
            q = qmgr_pid(y)
            if not q:
                continue
            if n % 2 == 0:
                os.kill(q, signal.SIGKILL)
                kills.append("qmgr")
                # wait for yubin-run to bring a new one up
                wait_for(lambda: qmgr_pid(y) not in (None, q), 20)
            else:
                for p in children(q, "yubin-local"):
                    os.kill(p, signal.SIGKILL)
                    kills.append("local")
            n += 1

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    k = threading.Thread(target=killer)
    start = time.time()
    for th in threads:
        th.start()
    k.start()
    for th in threads:
        th.join()
    done.set()
    k.join()
    t.diag(f"{len(accepted)} accepted in {time.time() - start:.1f}s; kills: {' '.join(kills)}")
    t.ok(len(accepted) == N, f"all {N} messages accepted by sendmail", len(accepted))
    t.ok("qmgr" in kills and "local" in kills, "yubin-qmgr and yubin-local were both killed", kills)

    def ids():
        out = []
        for data in maildir_messages(md).values():
            m = re.search(rb"^Message-ID: (<[^>]*>)", data, re.M | re.I)
            out.append(m.group(1).decode() if m else None)
        return out

    def queue_empty():
        return all(not os.listdir(os.path.join(y.root, "queue", s)) for s in ("incoming", "active", "deferred"))

    t.ok(wait_for(lambda: len(set(ids()) & accepted) == len(accepted) and queue_empty(), 60, 0.2),
         "every accepted message delivered and the queue drained",
         f"{len(set(ids()) & accepted)} of {len(accepted)} delivered; queue: " +
         str({s: len(os.listdir(os.path.join(y.root, 'queue', s))) for s in ('incoming', 'active', 'deferred')}))
    got = ids()
    dups = sorted({i for i in got if got.count(i) > 1})
    t.ok(not dups, "no message delivered twice", dups[:10])
    t.ok(not (set(got) - accepted), "nothing delivered that was not accepted", sorted(set(got) - accepted)[:10])
    t.diag(f"total {time.time() - start:.1f}s")
    if t.failed:
        t.diag(y.log()[-5000:])
t.done()
