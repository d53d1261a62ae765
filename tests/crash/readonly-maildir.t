#!/usr/bin/env python3
"""A read-only Maildir (a full quota, a mistaken chmod, a read-only
mount) is a temporary failure: the message stays queued and deferred, is
not bounced and not lost, and is delivered once the Maildir is writable
again and the queue is flushed. Local delivery of virtual users runs as
an unprivileged account (or as the invoking user), so mode 0555 stops it."""
import os, re, sys, time
sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from crashlib import Smtp  # noqa: E402
from yubintest import Tap, Instance, maildir_messages, wait_for  # noqa: E402

t = Tap()
with Instance() as y:
    for k, v in (("minimal_backoff_time", "1s"), ("maximal_backoff_time", "2s"), ("queue_run_delay", "1s")):
        y.control(k, v)
    y.run("yubin-ctl", "reload", check=False)
    box = y.maildir("demo@example.test")
    c = Smtp(y.port("smtp"))
    t.ok(c.send(b"s@client.test", b"demo@example.test", b"Subject: first\r\n\r\nx\r\n"), "first message queued")
    t.ok(wait_for(lambda: len(maildir_messages(box)) == 1, 30), "and delivered: the Maildir exists")
    modes = {}
    for sub in ("", "tmp", "new", "cur"):
        p = os.path.join(box, sub)
        modes[p] = os.stat(p).st_mode & 0o7777
        os.chmod(p, 0o555)
    try:
        t.ok(c.send(b"s@client.test", b"demo@example.test", b"Subject: second\r\n\r\nx\r\n"),
             "a message for the read-only Maildir is accepted (queued)")
        t.ok(wait_for(lambda: re.search(r"to=<demo@example.test>.*status=deferred", y.log()), 30),
             "its delivery is deferred", y.log()[-1500:])
        time.sleep(2)
        t.eq(len(maildir_messages(box)), 1, "nothing was written while read-only")
        t.ok("status=bounced" not in y.log(), "and nothing bounced")
    finally:
        for p, m in modes.items():
            os.chmod(p, m)
    y.run("yubin-ctl", "flush", check=False)
    t.ok(wait_for(lambda: len(maildir_messages(box)) == 2, 60), "writable again: delivered after a flush")
    time.sleep(2)
    t.eq(len(maildir_messages(box)), 2, "exactly once")
    c.close()
t.done()
