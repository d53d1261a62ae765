#!/usr/bin/env python3
"""remote-generic.t — smtp_generic_maps (control/generic) in yubin-remote:
what a third-party SMTP sink receives has the envelope sender, the
envelope recipient and the addresses of From/To/Cc/Reply-To rewritten
(names, comments and folding kept, the body untouched); the queue file
and local deliveries are not rewritten; with no generic table the message
goes out byte for byte. Also canonical on receipt plus generic on the way
out, end to end through SMTP."""
import os, smtplib, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, Instance, maildir_messages, wait_for, wait_messages
from smtpsink import Sink

t = Tap()
t.need("generic rewriting", "yubin-run", "sendmail", "yubin-remote", "yubin-qmgr", "yubin-map", "yubin-smtpd")

MSG = (b"From: Demo User <demo@box.local>\n"
       b"To: Friend <friend@sink.test>,\n\tdemo@box.local (me)\n"
       b"Reply-To: demo@box.local\n"
       b"Subject: generic\n"
       b"\n"
       b"sent by demo@box.local\n"
       b".a dot line\n")

with Sink() as sink, Instance() as y:
    y.map("transport", "sink.test smtp:[127.0.0.1]:%d\n" % sink.port)
    y.map("generic", "demo@box.local demo@example.com\n@box.local @example.com\nfriend@sink.test buddy@sink.test\n")
    y.sendmail("-f", "demo@box.local", "friend@sink.test", message=MSG)
    t.ok(wait_for(lambda: len(sink.messages) >= 1, 60), "the sink got the message", y.log()[-1500:])
    m = sink.messages[0] if sink.messages else {"mail": "", "rcpts": [], "data": b""}
    t.ok(m["mail"].startswith("MAIL FROM:<demo@example.com>"), "envelope sender rewritten", m["mail"])
    t.eq(m["rcpts"], ["buddy@sink.test"], "envelope recipient rewritten")
    hdr, _, body = m["data"].partition(b"\r\n\r\n")
    t.ok(b"From: Demo User <demo@example.com>\r\n" in hdr, "From rewritten, name kept", hdr)
    t.ok(b"To: Friend <buddy@sink.test>,\r\n\tdemo@example.com (me)\r\n" in hdr, "folded To rewritten", hdr)
    t.ok(b"Reply-To: demo@example.com\r\n" in hdr, "Reply-To rewritten", hdr)
    t.ok(b"sent by demo@box.local\r\n" in body and b".a dot line\r\n" in body,
         "body untouched; a dot line still arrives whole", body)
    # yubin-remote logs after the sink's reply, which may come first
    t.ok(wait_for(lambda: "to=<friend@sink.test>" in y.log() and "status=sent" in y.log(), 30),
         "the log names the recipient as queued", y.log()[-800:])

    # no generic table: byte for byte
    os.unlink(os.path.join(y.root, "control", "generic"))
    os.unlink(os.path.join(y.root, "control", "generic.cdb"))
    y.sendmail("-f", "demo@box.local", "friend@sink.test", message=MSG)
    t.ok(wait_for(lambda: len(sink.messages) >= 2, 60), "second message sent")
    m = sink.messages[-1]
    t.ok(m["mail"].startswith("MAIL FROM:<demo@box.local>") and m["rcpts"] == ["friend@sink.test"],
         "without a generic table the envelope is as queued", (m["mail"], m["rcpts"]))
    t.ok(b"From: Demo User <demo@box.local>\r\n" in m["data"], "and the header too")

    # canonical on the way in (SMTP, local client), generic on the way out
    y.map("canonical", "@old.test @box.local\n")
    y.map("generic", "@box.local @example.com\n")
    s = smtplib.SMTP("127.0.0.1", y.port("smtp"), timeout=30)
    s.sendmail("alice@old.test", ["friend@sink.test"],
               b"From: alice@old.test\r\nTo: friend@sink.test\r\nSubject: both\r\n\r\nhello\r\n")
    s.quit()
    t.ok(wait_for(lambda: len(sink.messages) >= 3, 60), "third message sent")
    m = sink.messages[-1]
    t.ok(m["mail"].startswith("MAIL FROM:<alice@example.com>") and b"From: alice@example.com\r\n" in m["data"],
         "canonical (old.test -> box.local) then generic (box.local -> example.com)", (m["mail"], m["data"][:300]))
t.done()
