#!/usr/bin/env python3
# sendmail.t — the sendmail interface: -t (Bcc removed, a recipient named
# twice delivered once), -f/-F, headers added when missing, -i and the
# lone-dot end, 8-bit and long lines kept, mailq / -bp, newaliases / -bi.
import os, sys, email
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, Instance, maildir_messages, wait_messages, wait_for

t = Tap()
with Instance() as y:
    box = y.maildir("demo@example.test")

    # -t: To/Cc/Bcc recipients, Bcc removed, duplicates once
    msg = (b"To: demo@example.test\nCc: Demo <DEMO@example.test>\nBcc: demo@EXAMPLE.test\n"
           b"Subject: t-mode\n\nbody\n")
    r = y.sendmail("-t", "-f", "sender@example.test", message=msg)
    t.eq(r.returncode, 0, "sendmail -t exits 0")
    got = wait_messages(box, 1)
    t.eq(len(got), 1, "a recipient named three times is delivered once")
    data = list(got.values())[0]
    m = email.message_from_bytes(data)
    t.ok(m["Bcc"] is None, "Bcc header removed")
    t.ok(m["Date"] and m["Message-ID"], "Date and Message-ID added")
    t.eq(m["From"], "sender@example.test", "From added from -f")
    t.eq(m["Return-Path"], "<sender@example.test>", "Return-Path is the envelope sender")
    t.eq(m["Delivered-To"], "demo@example.test", "Delivered-To added")
    t.ok(data.endswith(b"\n\nbody\n"), "body intact", data[-40:])

    # body bytes: 8-bit, a 5000-byte line, CRLF input, lines starting with '.'
    long = b"y" * 5000
    body = b"caf\xc3\xa9 \xff\x80 raw\r\n" + long + b"\r\n.dot\r\n..two\r\nend\r\n"
    msg = b"Subject: bytes\r\nFrom: Someone <s@example.test>\r\n\r\n" + body
    y.sendmail("-i", "-F", "Full Name", "demo@example.test", message=msg)
    got = wait_messages(box, 2)
    new = [d for d in got.values() if b"Subject: bytes" in d][0]
    want = body.replace(b"\r\n", b"\n")
    t.ok(new.endswith(b"\n\n" + want), "8-bit, long and dot lines kept byte for byte (CRLF -> LF)")
    t.ok(b"From: Someone <s@example.test>" in new and new.count(b"\nFrom:") == 1, "existing From kept, not added twice")

    # without -i a lone dot ends the message
    y.sendmail("demo@example.test", message=b"Subject: dot\n\nbefore\n.\nafter\n")
    got = wait_messages(box, 3)
    new = [d for d in got.values() if b"Subject: dot" in d][0]
    t.ok(b"before\n" in new and b"after" not in new, "a lone '.' ends the message without -i")

    # -F gives the From display name when From is missing
    y.sendmail("-f", "x@example.test", "-F", "Xavier Test", "demo@example.test", message=b"Subject: name\n\nhi\n")
    got = wait_messages(box, 4)
    new = [d for d in got.values() if b"Subject: name" in d][0]
    t.ok(b"From: Xavier Test <x@example.test>" in new, "From built from -F and -f")

    # a bare address is completed with myorigin (here: localhost)
    r = y.sendmail("-f", "bob", "demo@example.test", message=b"Subject: bare\n\nhi\n")
    got = wait_messages(box, 5)
    new = [d for d in got.values() if b"Subject: bare" in d][0]
    t.ok(b"Return-Path: <bob@localhost>" in new, "bare sender completed with myorigin")

    # no recipients: usage error, nothing queued
    r = y.run("sendmail", input=b"x\n", check=False)
    t.eq(r.returncode, 64, "no recipients: exit 64 (EX_USAGE)")

    # mailq / -bp: a message to an unreachable remote domain stays queued
    # (routed to a port where nothing listens, so it is deferred)
    y.map("transport", "nowhere.invalid smtp:[127.0.0.1]:9\n")
    y.sendmail("someone@nowhere.invalid", message=b"Subject: stays\n\nx\n")
    def listed():
        out = y.run("mailq").stdout.decode()
        return out if "someone@nowhere.invalid" in out else ""
    out = wait_for(listed, 20)
    t.ok(out and "-Queue ID-" in out, "mailq lists the queued message", out)
    out2 = y.run("sendmail", "-bp").stdout.decode()
    t.ok("someone@nowhere.invalid" in out2, "sendmail -bp is mailq")

    # newaliases / -bi compile control/aliases
    with open(os.path.join(y.root, "control", "aliases"), "a") as f:
        f.write("team: demo\n")
    r = y.run("newaliases", check=False)
    t.eq(r.returncode, 0, "newaliases exits 0")
    q = y.run("yubin-map", "-q", "team", os.path.join(y.root, "control", "aliases"), check=False)
    t.eq(q.stdout.decode().strip(), "demo", "newaliases compiled the new alias")
    y.sendmail("team@example.test", message=b"Subject: via alias\n\nx\n")
    got = wait_messages(box, 6)
    t.ok(any(b"Subject: via alias" in d for d in got.values()), "mail to the new alias arrives")
t.done()
