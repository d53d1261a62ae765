#!/usr/bin/env python3
"""canonical, sender_canonical and recipient_canonical for mail injected
with sendmail (envelope: Return-Path, Delivered-To; headers: From, To, Cc,
Sender, Reply-To, and the From sendmail makes itself), canonical_classes;
propagate_unmatched_extensions for canonical maps (SMTP and sendmail) and
virtual; yubin-ctl check on header_checks and body_checks."""
import os, pwd, shutil, smtplib, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, Instance, BIN, maildir_messages, wait_for

t = Tap()
t.need("canonical via sendmail", "yubin-run", "yubin-smtpd", "yubin-map", "sendmail", "yubin-ctl",
       "yubin-local", "yubin-qmgr")


def delivered(box, subject, timeout=30):
    """the header section of the message with this Subject, once delivered"""
    def find():
        for v in maildir_messages(box).values():
            head = v.split(b"\n\n", 1)[0]
            if b"\nSubject: " + subject + b"\n" in head + b"\n":
                return head, v
        return None
    got = wait_for(find, timeout)
    return got if got else (b"", b"")


def smtp_send(y, sender, rcpt, subject):
    s = smtplib.SMTP("127.0.0.1", y.port("smtp"), timeout=30)
    try:
        s.ehlo("client.test")
        s.sendmail(sender, [rcpt], b"From: <" + sender.encode() + b">\r\nSubject: " + subject + b"\r\n\r\nx\r\n")
    finally:
        s.quit()


with Instance() as y:
    demo = y.maildir("demo@example.test")
    y.map("canonical", "@box.local @example.test\n")
    y.map("recipient_canonical", "old-demo@example.test demo@example.test\n")
    y.map("sender_canonical", "root@box.local postmaster@example.test\n")

    # --- sendmail: envelope and headers -------------------------------------
    r = y.sendmail("-f", "alice@box.local", "old-demo@example.test", message=(
        b"From: Alice <alice@box.local>\nTo: Old <old-demo@example.test>, other@box.local\n"
        b"Cc: (x) root@box.local\nSender: root@box.local\nReply-To: \"Root, The\" <root@box.local>\n"
        b"Subject: sm-canonical\n\nalice@box.local in the body\n"))
    t.eq(r.returncode, 0, "sendmail accepts the message")
    head, whole = delivered(demo, b"sm-canonical")
    t.ok(b"Return-Path: <alice@example.test>" in head, "envelope sender rewritten (canonical @domain)", head)
    t.ok(b"Delivered-To: demo@example.test" in head, "envelope recipient rewritten (recipient_canonical)", head)
    t.ok(b"From: Alice <alice@example.test>" in head, "From header rewritten, name kept", head)
    t.ok(b"To: Old <demo@example.test>, other@example.test" in head, "To header: both maps", head)
    t.ok(b"Cc: (x) root@example.test" in head, "Cc is a recipient header: canonical, not sender_canonical", head)
    t.ok(b"Sender: postmaster@example.test" in head, "Sender: sender_canonical", head)
    t.ok(b"Reply-To: \"Root, The\" <postmaster@example.test>" in head, "Reply-To: sender_canonical", head)
    t.ok(b"alice@box.local in the body" in whole, "the body is not rewritten")

    # the From sendmail adds is made from the rewritten sender
    y.sendmail("-f", "root@box.local", "demo@example.test", message=b"Subject: sm-nofrom\n\nx\n")
    head, _ = delivered(demo, b"sm-nofrom")
    t.ok(b"Return-Path: <postmaster@example.test>" in head and b"From: postmaster@example.test" in head,
         "generated From: the canonical sender", head)

    # -t: recipients come from the headers, then the canonical maps apply
    y.sendmail("-t", "-f", "alice@box.local", message=b"To: old-demo@example.test\nSubject: sm-extract\n\nx\n")
    head, _ = delivered(demo, b"sm-extract")
    t.ok(b"Delivered-To: demo@example.test" in head and b"To: demo@example.test" in head,
         "sendmail -t: extracted recipient rewritten", head)

    # sendmail runs as the user: the tables must be readable by anyone
    nob = pwd.getpwnam("nobody") if os.geteuid() == 0 and shutil.which("setpriv") else None
    if nob:
        r = subprocess.run(["setpriv", "--reuid", str(nob.pw_uid), "--regid", str(nob.pw_gid), "--clear-groups",
                            os.path.join(BIN, "sendmail"), "-f", "root@box.local", "old-demo@example.test"],
                           input=b"From: root@box.local\nSubject: sm-nobody\n\nx\n", capture_output=True, env=y.env)
        head, _ = delivered(demo, b"sm-nobody")
        t.ok(r.returncode == 0 and b"Return-Path: <postmaster@example.test>" in head and
             b"Delivered-To: demo@example.test" in head and b"From: postmaster@example.test" in head,
             "sendmail run by an ordinary user (nobody) reads the tables", (r, head))
    else:
        t.skip("sendmail as an ordinary user", "needs root and setpriv")

    # canonical_classes without the header classes: envelope only
    y.control("canonical_classes", "envelope_sender, envelope_recipient")
    y.sendmail("-f", "alice@box.local", "old-demo@example.test",
               message=b"From: <alice@box.local>\nSubject: sm-classes\n\nx\n")
    head, _ = delivered(demo, b"sm-classes")
    t.ok(b"Return-Path: <alice@example.test>" in head and b"From: <alice@box.local>" in head,
         "canonical_classes: envelope rewritten, headers not", head)
    y.control("canonical_classes", None)

    # an unreadable table: sendmail fails temporarily, nothing is queued
    y.control("sender_canonical", "root@box.local someone@example.test\n")  # newer than its .cdb
    os.unlink(os.path.join(y.root, "control", "sender_canonical.cdb"))
    r = y.run("sendmail", "-f", "root@box.local", "demo@example.test", input=b"Subject: sm-fail\n\nx\n", check=False)
    t.ok(r.returncode == 75 and b"canonical" in r.stderr, "table failure: exit 75 naming the tables", r)
    y.map("sender_canonical", "root@box.local postmaster@example.test\n")

    # --- propagate_unmatched_extensions ------------------------------------
    y.sendmail("-f", "root+cron@box.local", "old-demo+news@example.test", message=b"Subject: sm-ext\n\nx\n")
    head, _ = delivered(demo, b"sm-ext")
    t.ok(b"Return-Path: <postmaster+cron@example.test>" in head, "sendmail: sender extension kept", head)
    t.ok(b"Delivered-To: demo+news@example.test" in head, "sendmail: recipient extension kept", head)

    smtp_send(y, "root+smtp@box.local", "old-demo+smtp@example.test", b"smtp-ext")
    head, _ = delivered(demo, b"smtp-ext")
    t.ok(b"Return-Path: <postmaster+smtp@example.test>" in head, "smtp: sender extension kept", head)
    t.ok(b"Delivered-To: demo+smtp@example.test" in head, "smtp: recipient extension kept", head)

    y.map("virtual", "info@example.test demo@example.test\n")
    smtp_send(y, "x@example.org", "info+sales@example.test", b"virtual-ext")
    head, _ = delivered(demo, b"virtual-ext")
    t.ok(b"Delivered-To: demo+sales@example.test" in head, "virtual: extension kept", head)

    y.control("propagate_unmatched_extensions", "generic")
    smtp_send(y, "x@example.org", "old-demo+off@example.test", b"smtp-noext")
    head, _ = delivered(demo, b"smtp-noext")
    t.ok(b"Delivered-To: demo@example.test" in head, "canonical not listed: extension dropped", head)
    smtp_send(y, "x@example.org", "info+off@example.test", b"virtual-noext")
    head, _ = delivered(demo, b"virtual-noext")
    t.ok(b"Delivered-To: demo@example.test" in head, "virtual not listed: extension dropped", head)
    y.control("propagate_unmatched_extensions", None)

    # --- yubin-ctl check on header_checks and body_checks -------------------
    base = y.run("yubin-ctl", "check", check=False)
    y.control("header_checks", "/^Subject: spam/ REJECT no spam\n/^X-Tag:/ PREPEND X-Seen: yes\n")
    y.control("body_checks", "/viagra/ DISCARD\n")
    y.control("access.regexp", "/^spammer@/ REJECT\n")
    r = y.run("yubin-ctl", "check", check=False)
    t.ok(r.returncode == base.returncode and b"checks" not in r.stdout and b"regexp" not in r.stdout,
         "good header_checks, body_checks, access.regexp: check passes", (base, r))
    y.control("header_checks", "/^Subject: spam/ REJECT no spam\n/^X-Bad: (/ REJECT\n/^X-Foo:/ FROB it\n"
                               "/^X-Bar:/ PREPEND no header here\n")
    y.control("body_checks", "/ok/ WARN\n/x/ REPLACE\n")
    y.control("access.regexp", "/^(a)@/ $2\n")
    r = y.run("yubin-ctl", "check", check=False)
    out = r.stdout.decode()
    t.ok(r.returncode != 0, "bad tables: check fails", r)
    t.ok("control/header_checks:2: bad pattern" in out, "bad regexp named by file:line", out)
    t.ok("control/header_checks:3: unknown action \"FROB\"" in out, "unknown action named by file:line", out)
    t.ok("control/header_checks:4: the text of PREPEND must be a whole header" in out, "PREPEND text checked", out)
    t.ok("control/body_checks:2: REPLACE needs the text" in out, "body_checks checked too", out)
    t.ok("control/access.regexp:1:" in out, "NAME.regexp tables parsed", out)
    t.ok("header_checks:1" not in out and "body_checks:1" not in out, "good lines not reported", out)
t.done()
