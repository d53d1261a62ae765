#!/usr/bin/env python3
"""Soak (make soak): SOAK_MESSAGES messages (default 20000; the issue's
figure is 100000) through SMTP into one Maildir by a few clients that
reuse their connections, while yubin-qmgr's resident memory is sampled
every second. Bounded by the message count and SOAK_SECONDS (default
1800). At the end every accepted message is delivered and qmgr's RSS is
flat: the median of the last quarter of samples is within 2x (and 16 MB)
of the median of the second quarter (after warm-up). Prints the samples'
summary and the rate. Loopback only; TAP output."""
import os, statistics, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "crash"))
from crashlib import descendants, Smtp  # noqa: E402
from yubintest import Tap, Instance  # noqa: E402

TOTAL = int(os.environ.get("SOAK_MESSAGES", "20000"))
LIMIT = float(os.environ.get("SOAK_SECONDS", "1800"))
CLIENTS = 4
t = Tap()


def qmgr_rss(root_pid):
    """kB of the yubin-qmgr that schedules (the non-root one when split)"""
    best = None
    for pid, name in descendants(root_pid).items():
        if name != "yubin-qmgr":
            continue
        try:
            st = dict(ln.split(":", 1) for ln in open(f"/proc/{pid}/status") if ":" in ln)
        except OSError:
            continue
        uid = int(st["Uid"].split()[0])
        rss = int(st["VmRSS"].split()[0])
        if best is None or uid != 0:
            best = rss
    return best


def count(box):
    return sum(len(os.listdir(os.path.join(box, d))) for d in ("new", "cur") if os.path.isdir(os.path.join(box, d)))


with Instance() as y:
    box = y.maildir("demo@example.test")
    start, stop = time.time(), threading.Event()
    acked = [0] * CLIENTS
    samples = []

    def client(c):
        conn = None
        for i in range(c, TOTAL, CLIENTS):
            if time.time() - start > LIMIT:
                return
            try:
                conn = conn or Smtp(y.port("smtp"))
                if conn.send(b"soak@client.test", b"demo@example.test", b"Subject: soak %d\r\n\r\nbody %d\r\n" % (i, i)):
                    acked[c] += 1
            except (OSError, ConnectionError):
                conn = None
            if i % 500 < CLIENTS and conn:  # a new connection now and then, as real clients do
                conn.close()
                conn = None

    def sampler():
        while not stop.is_set():
            rss = qmgr_rss(y.proc.pid)
            if rss:
                samples.append((time.time() - start, rss))
            stop.wait(1)

    sm = threading.Thread(target=sampler)
    sm.start()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    sent_in = time.time() - start
    total = sum(acked)
    deadline = time.time() + max(300, LIMIT / 4)
    while count(box) < total and time.time() < deadline:
        time.sleep(1)
    stop.set()
    sm.join()
    took = time.time() - start
    t.diag(f"{total} messages accepted in {sent_in:.0f}s ({total / sent_in:.0f}/s), all delivered after {took:.0f}s")
    t.eq(total, TOTAL, "every message accepted")
    t.ok(count(box) >= total, "every accepted message delivered", count(box))
    rss = [r for _, r in samples]
    if len(rss) >= 8:
        q = len(rss) // 4
        early, late = statistics.median(rss[q:2 * q]), statistics.median(rss[3 * q:])
        t.diag(f"yubin-qmgr RSS kB: min {min(rss)}, max {max(rss)}, 2nd-quarter median {early}, "
               f"last-quarter median {late} ({len(rss)} samples)")
        t.ok(late <= max(2 * early, early + 16384), "yubin-qmgr RSS stays flat")
    else:
        t.skip("RSS flat", "too few samples (run longer)")
t.done()
