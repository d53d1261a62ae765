#!/usr/bin/env python3
"""500 concurrent SMTP sessions against one yubin-run instance (make load).
All sessions connect and read their greeting before any sends a command,
so 500 yubin-smtpd processes are alive at once; then each sends one
message. Prints how many smtpd processes were seen at the peak, the time
to accept all messages, and checks every accepted message is delivered.
Loopback only; bounded by SESSIONS and generous timeouts; TAP output."""
import asyncio, os, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "crash"))
from crashlib import descendants  # noqa: E402
from yubintest import Tap, Instance, maildir_messages, wait_for  # noqa: E402

SESSIONS = int(os.environ.get("SESSIONS", "500"))
t = Tap()


async def reply(r):
    while True:
        ln = await asyncio.wait_for(r.readline(), 120)
        if not ln:
            raise ConnectionError("closed")
        if ln[3:4] != b"-":
            return int(ln[:3])


async def session(i, port, greeted, go):
    r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 120)
    code = await reply(r)
    greeted.append(code)
    await go.wait()
    codes = [code]
    for cmd in (b"EHLO load.test", b"MAIL FROM:<load@client.test>", b"RCPT TO:<demo@example.test>", b"DATA"):
        w.write(cmd + b"\r\n")
        codes.append(await reply(r))
    w.write(b"Subject: load %d\r\n\r\nsession %d\r\n.\r\n" % (i, i))
    codes.append(await reply(r))
    w.write(b"QUIT\r\n")
    codes.append(await reply(r))
    w.close()
    return codes


async def main(y):
    greeted, go = [], asyncio.Event()
    tasks = [asyncio.create_task(session(i, y.port("smtp"), greeted, go)) for i in range(SESSIONS)]
    deadline = time.time() + 180
    while len(greeted) < SESSIONS and time.time() < deadline and not any(x.done() for x in tasks):
        await asyncio.sleep(0.1)
    peak = sum(1 for n in descendants(y.proc.pid).values() if n == "yubin-smtpd")
    t.eq(len(greeted), SESSIONS, f"{SESSIONS} sessions connected and greeted at once")
    t.diag(f"yubin-smtpd processes alive at the peak: {peak}")
    t.ok(peak >= SESSIONS * 0.9, "one smtpd per session, all alive together", peak)
    t0 = time.time()
    go.set()
    res = await asyncio.gather(*tasks, return_exceptions=True)
    took = time.time() - t0
    ok = sum(1 for x in res if isinstance(x, list) and x[5] == 250)
    t.diag(f"{ok} messages accepted in {took:.1f}s ({ok / took:.0f}/s with {SESSIONS} sessions in parallel)")
    t.eq(ok, SESSIONS, "every session's message got 250")
    return ok


with Instance() as y:
    accepted = asyncio.run(main(y))
    box = y.maildir("demo@example.test")
    t0 = time.time()
    t.ok(wait_for(lambda: len(maildir_messages(box)) >= accepted, 300), "all delivered to the Maildir")
    t.diag(f"delivered {len(maildir_messages(box))} in {time.time() - t0:.1f}s after the last 250")
t.done()
