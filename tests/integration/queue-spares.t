#!/usr/bin/env python3
"""queue-spares: the file of a delivered message becomes a spare in
queue/tmp/ (spare.N) that yubin-queue writes its next message into, so a
stream of messages sent one after another goes through one inode; a
message written into the spare of a larger one is delivered exactly,
without the old message's tail; the spare's seal is keyed by the queue
id, so after a system crash its old bytes under a new name count as torn."""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, Instance, maildir_messages, wait_for

t = Tap()
t.need("queue spares", "yubin-run", "sendmail", "yubin-queue", "yubin-qmgr", "yubin-local")

with Instance() as y:
    q = os.path.join(y.root, "queue")
    tmp = os.path.join(q, "tmp")
    demo = y.maildir("demo@example.test")

    def settled(n):
        """n messages delivered and none left in the queue"""
        return (len(maildir_messages(demo)) == n and not os.listdir(os.path.join(q, "active"))
                and not os.listdir(os.path.join(q, "incoming")))

    def tmp_files():
        return {f: os.stat(os.path.join(tmp, f)).st_ino for f in os.listdir(tmp)}

    big_body = b"".join(b"line %06d of the large message\n" % i for i in range(3000)) + b"BIGTAIL\n"
    y.sendmail("-f", "a@example.org", "demo@example.test",
               message=b"Subject: big\nMessage-ID: <big@test>\n\n" + big_body)
    t.ok(wait_for(lambda: settled(1), 30), "the large message is delivered", y.log()[-2000:])
    first = tmp_files()
    t.ok(len(first) == 1, "its file is left in queue/tmp", first)
    t.ok(all(f.startswith("spare.") for f in first), "as a spare", first)
    t.ok(first and os.stat(os.path.join(tmp, list(first)[0])).st_size > len(big_body),
         "holding the large message's bytes")

    for k in range(2, 8):
        y.sendmail("-f", "a@example.org", "demo@example.test",
                   message=b"Subject: small %d\nMessage-ID: <small-%d@test>\n\nsmall body %d\n" % (k, k, k))
        if not wait_for(lambda: settled(k), 30):
            break
    t.ok(settled(7), "six small messages, one after another, are delivered", y.log()[-2000:])
    now = tmp_files()
    t.ok(sorted(now.values()) == sorted(first.values()), "all of them went through the large message's inode", (first, now))
    t.ok(os.stat(os.path.join(tmp, list(now)[0])).st_size < 1000, "cut to the small message's length")
    smalls = [m for m in maildir_messages(demo).values() if b"Subject: small" in m]
    t.eq(len(smalls), 6, "six small messages in the Maildir")
    t.ok(all(b"BIGTAIL" not in m and b"line 000" not in m for m in smalls),
         "none carries the large message's old bytes")
    t.ok(all(m.rstrip(b"\n").endswith(b"small body %s" % m.split(b"Subject: small ")[1][:1]) for m in smalls),
         "each ends with its own body")

    # a spare's bytes put back under another queue id, as a system crash
    # could leave them, are removed by the check after the reboot
    y.stop()
    spare = os.path.join(tmp, list(now)[0])
    with open(spare, "rb") as f:
        old = f.read()
    with open(os.path.join(q, "incoming", "DEADBEEF0042"), "wb") as f:
        f.write(old)
    with open(os.path.join(q, "lock", "boot"), "w") as f:
        f.write("00000000-0000-0000-0000-000000000000\n")
    y.start()
    t.ok(wait_for(lambda: "DEADBEEF0042: removed from queue/incoming: torn by a system crash" in y.log(), 30),
         "a reused file's old bytes under a new id: removed as torn", y.log()[-2000:])
    t.eq(len(maildir_messages(demo)), 7, "and not delivered again")
t.done()
