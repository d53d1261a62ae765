#!/usr/bin/env python3
"""200 concurrent IMAP IDLE sessions woken by one delivery (make load).
Every session logs in as demo, selects INBOX and enters IDLE; then one
message is sent over SMTP, and every session must see "* N EXISTS" with
the new count. Prints the login time, the delivery-to-last-wakeup delay
and how many yubin-imap processes were alive. Loopback only, bounded."""
import asyncio, os, smtplib, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "crash"))
from crashlib import descendants  # noqa: E402
from yubintest import Tap, Instance, BIN  # noqa: E402

SESSIONS = int(os.environ.get("IDLE_SESSIONS", "200"))
t = Tap()
if not os.path.exists(os.path.join(BIN, "yubin-imapd")):
    t.skip("IMAP IDLE load", "no yubin-imapd")
    t.done()


async def line(r, timeout=120):
    ln = await asyncio.wait_for(r.readline(), timeout)
    if not ln:
        raise ConnectionError("closed")
    return ln


async def until(r, tag):
    out = []
    while True:
        ln = await line(r)
        out.append(ln)
        if ln.startswith(tag + b" "):
            return out


async def idler(port, sem, idling, woke, t_sent):
    async with sem:  # logins a few at a time (each runs a password hash)
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 120)
        await line(r)
        w.write(b"a LOGIN demo@example.test demo\r\n")
        if not (await until(r, b"a"))[-1].startswith(b"a OK"):
            return None
        w.write(b"b SELECT INBOX\r\n")
        await until(r, b"b")
        w.write(b"c IDLE\r\n")
        while not (await line(r)).startswith(b"+"):
            pass
    idling.append(1)
    while True:
        ln = await line(r, 300)
        if ln.startswith(b"* ") and ln.rstrip().endswith(b"EXISTS") and int(ln.split()[1]) >= 1:
            woke.append(time.time() - t_sent[0])
            break
    w.write(b"DONE\r\n")
    await until(r, b"c")
    w.write(b"z LOGOUT\r\n")
    w.close()
    return True


async def main(y):
    sem, idling, woke, t_sent = asyncio.Semaphore(8), [], [], [0.0]
    t0 = time.time()
    tasks = [asyncio.create_task(idler(y.port("imap"), sem, idling, woke, t_sent)) for _ in range(SESSIONS)]
    deadline = time.time() + 600
    while len(idling) < SESSIONS and time.time() < deadline and not any(x.done() for x in tasks):
        await asyncio.sleep(0.1)
    t.eq(len(idling), SESSIONS, f"{SESSIONS} sessions logged in and idling")
    t.diag(f"logins took {time.time() - t0:.1f}s; yubin-imap processes: "
           f"{sum(1 for n in descendants(y.proc.pid).values() if n == 'yubin-imap')}")
    t_sent[0] = time.time()
    with smtplib.SMTP("127.0.0.1", y.port("smtp"), timeout=60) as s:
        s.sendmail("wake@client.test", ["demo@example.test"], b"Subject: wake up\r\n\r\nnew mail\r\n")
    res = await asyncio.gather(*tasks, return_exceptions=True)
    t.eq(sum(1 for x in res if x is True), SESSIONS, "every idling session saw the new message")
    if woke:
        woke.sort()
        t.diag(f"wake-up after the SMTP 250: median {woke[len(woke) // 2]:.2f}s, last {woke[-1]:.2f}s")
        # every session runs as the same account: beyond fs.inotify.max_user_instances
        # (128 on Debian) IDLE falls back to its periodic recheck
        limit = open("/proc/sys/fs/inotify/max_user_instances").read().strip()
        t.diag(f"woken within 1s: {sum(1 for x in woke if x <= 1)}; later (recheck): "
               f"{sum(1 for x in woke if x > 1)}; fs.inotify.max_user_instances = {limit}")


with Instance() as y:
    asyncio.run(main(y))
t.done()
