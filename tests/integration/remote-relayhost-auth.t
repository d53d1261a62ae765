#!/usr/bin/env python3
"""remote-relayhost-auth.t — the seeds' smart-host setup between two yubin
instances: A sends everything to B as control/relayhost `[127.0.0.1]:PORT`,
with smtp_sasl_auth_enable, smtp_sasl_password_maps and
smtp_tls_security_level=encrypt; B's smtpd trusts nobody by address
(mynetworks elsewhere) and takes mail only from logged-in clients
(permit_sasl_authenticated, reject), and offers AUTH only after STARTTLS.
A wrong password defers (B says 535) and never bounces; the right one
delivers, and B's Received header shows the TLS cipher. (B's submission
port would also refuse A's senders: reject_sender_login_mismatch.)"""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, Instance, wait_for, wait_messages

t = Tap()
with Instance() as b, Instance() as a:
    b.run("yubin-user", "add", "bob@other.test", input=b"bobpw\n")
    b.run("yubin-user", "add", "relay@other.test", input=b"s3cret\n")
    b.control("mynetworks", "192.0.2.0/24")
    b.control("smtpd_recipient_restrictions", "permit_sasl_authenticated, reject")
    hop = "[127.0.0.1]:%d" % b.port("smtp")
    a.control("relayhost", hop)
    a.control("smtp_sasl_auth_enable", "yes")
    a.control("smtp_tls_security_level", "encrypt")
    a.map("sasl_passwd", "%s relay@other.test:wrong\n" % hop)

    a.sendmail("-f", "demo@example.test", "bob@other.test", message=b"Subject: smart host\n\nvia B\n")
    t.ok(wait_for(lambda: "status=deferred" in a.log(), 120), "a wrong relay password defers", a.log()[-1500:])
    t.ok("535" in a.log() or "authentication" in a.log().lower(), "the deferral names the AUTH failure",
         a.log()[-800:])
    t.ok(wait_for(lambda: "auth failed" in b.log(), 60), "B logs the failed login", b.log()[-800:])
    # "status=deferred" is logged by yubin-remote a moment before qmgr has
    # moved the file: flush only once it is in deferred/, or the flush
    # finds nothing due and the retry waits for minimal_backoff_time
    deferred = os.path.join(a.root, "queue", "deferred")
    t.ok(wait_for(lambda: len(os.listdir(deferred)) == 1, 60), "the message waits in A's deferred queue")

    a.map("sasl_passwd", "%s relay@other.test:s3cret\n" % hop)
    a.run("yubin-ctl", "flush")
    got = wait_messages(b.maildir("bob@other.test"), 1, timeout=120)
    t.eq(len(got), 1, "with the right password the message reaches B's Maildir")
    data = b"".join(got.values())
    t.ok(b"via B" in data, "body intact")
    t.ok(b"using TLSv1.2 with cipher" in data, "B received it over TLS (Received header)", data[:600])
    t.ok(wait_for(lambda: "status=sent" in a.log(), 60), "A logs status=sent", a.log()[-800:])
    t.ok("sasl_username=relay@other.test" in b.log() or "relay@other.test" in b.log(),
         "B logs the login that relayed", b.log()[-800:])
t.done()
