#!/usr/bin/env python3
"""qmgr-local: yubin-qmgr end to end in a yubin-run instance, with sendmail
and the real yubin-local: a permanent local failure bounces to the sender's
Maildir as an RFC 3464 multipart/report; a temporary failure is deferred,
listed by `yubin-ctl queue` with its reason, and delivered by a retry;
with maximal_queue_lifetime = 0 a temporary failure bounces at once (5.4.7);
qmgr_gather_time 0 and 1s deliver, a longer value is capped with a warning."""
import email, email.policy, os, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, Instance, maildir_messages, wait_for

t = Tap()
t.need("qmgr end to end", "yubin-run", "sendmail", "yubin-local", "yubin-qmgr", "yubin-user", "yubin-ctl")


def reports(y, addr):
    """the multipart/report messages in addr's Maildir, parsed"""
    out = []
    for data in maildir_messages(y.maildir(addr)).values():
        m = email.message_from_bytes(data, policy=email.policy.default)
        if m.get_content_type() == "multipart/report":
            out.append(m)
    return out


def fields(rep):
    parts = list(rep.iter_parts())
    blocks = parts[1].get_payload()
    return parts, blocks[0], blocks[1:]


def queue_files(y, state):
    return os.listdir(os.path.join(y.root, "queue", state))


with Instance() as y:
    sender, demo = "demo@example.test", "demo@example.test"

    # permanent failure: unknown virtual user
    y.sendmail("-f", sender, "nosuch@example.test",
               message=b"Subject: to nobody\nMessage-ID: <perm-1@test>\n\nbody line\n")
    t.ok(wait_for(lambda: reports(y, demo), 30), "a permanent local failure bounces to the sender's Maildir",
         y.log()[-3000:])
    r = (reports(y, demo) or [None])[0]
    if r is not None:
        parts, per_msg, per_rcpt = fields(r)
        t.eq([p.get_content_type() for p in parts], ["text/plain", "message/delivery-status", "message/rfc822"],
             "report parts")
        t.eq(r["From"].split()[0] if r["From"] else None, "MAILER-DAEMON@localhost", "From: MAILER-DAEMON")
        t.eq(per_msg["Reporting-MTA"], "dns; localhost", "Reporting-MTA")
        t.eq([b["Final-Recipient"] for b in per_rcpt], ["rfc822; nosuch@example.test"], "Final-Recipient")
        t.eq([b["Action"] for b in per_rcpt], ["failed"], "Action")
        t.eq([b["Status"] for b in per_rcpt], ["5.1.1"], "Status 5.1.1")
        t.eq(parts[2].get_payload()[0]["Message-ID"], "<perm-1@test>", "original attached")
    else:
        for _ in range(6):
            t.ok(False, "report fields")
    t.ok("Return-Path: <>" in "".join(d.decode(errors="replace") for d in maildir_messages(y.maildir(demo)).values()),
         "the bounce has the null sender")

    # temporary failure, then a retry delivers it
    y.control("minimal_backoff_time", "1s")
    y.control("maximal_backoff_time", "2s")
    y.control("queue_run_delay", "1s")
    y.run("yubin-ctl", "reload")
    y.run("yubin-user", "add", "busy@example.test", input=b"secret\n")
    md = y.maildir("busy@example.test")
    os.makedirs(os.path.dirname(md), exist_ok=True)
    with open(md, "w") as f:   # a file where the Maildir should be: 4.3.0
        f.write("in the way\n")
    y.sendmail("-f", sender, "busy@example.test", message=b"Subject: later\nMessage-ID: <temp-1@test>\n\nretry me\n")
    t.ok(wait_for(lambda: queue_files(y, "deferred"), 30), "temporary failure: deferred", y.log()[-3000:])
    q = y.run("yubin-ctl", "queue", check=False).stdout.decode(errors="replace")
    t.ok("busy@example.test" in q and "(" in q, "yubin-ctl queue lists it with its reason", q)
    os.unlink(md)
    t.ok(wait_for(lambda: len(maildir_messages(md)) == 1, 30), "a retry delivers it", y.log()[-3000:])
    t.ok(wait_for(lambda: not queue_files(y, "deferred") and not queue_files(y, "active"), 20), "queue empty")
    t.ok(not os.listdir(os.path.join(y.root, "queue", "defer")), "no defer note left")

    # maximal_queue_lifetime = 0: one attempt, then a 5.4.7 bounce
    y.control("maximal_queue_lifetime", "0")
    y.run("yubin-ctl", "reload")
    with open(md + "-x", "w") as f:
        f.write("in the way\n")
    y.run("yubin-user", "add", "busy-x@example.test", input=b"secret\n")
    before = len(reports(y, demo))
    y.sendmail("-f", sender, "busy-x@example.test", message=b"Subject: expire\nMessage-ID: <exp-1@test>\n\nx\n")
    t.ok(wait_for(lambda: len(reports(y, demo)) > before, 30), "maximal_queue_lifetime=0 bounces after one attempt",
         y.log()[-3000:])
    new = [r for r in reports(y, demo) if "exp-1@test" in r.as_string()]
    st = fields(new[0])[2][0]["Status"] if new else None
    t.eq(st, "5.4.7", "expired: Status 5.4.7")

    # qmgr_gather_time: new mail is delivered at once (0), after the
    # longest wait (1s), and a longer value is refused by name
    for value in ("0", "1s", "5s"):
        y.control("qmgr_gather_time", value)
        y.run("yubin-ctl", "reload")
        before = len(maildir_messages(y.maildir(demo)))
        for k in range(3):
            y.sendmail("-f", sender, demo, message=b"Subject: gathered %d\n\nx\n" % k)
        t.ok(wait_for(lambda: len(maildir_messages(y.maildir(demo))) == before + 3, 30),
             f"qmgr_gather_time {value}: three messages delivered", y.log()[-3000:])
    t.ok("warning: control/qmgr_gather_time: 5000 ms is longer than new mail may wait; using 1000 ms" in y.log(),
         "qmgr_gather_time above 1s: warned by name and capped", y.log()[-3000:])
t.done()
