#!/usr/bin/env python3
# local-sendmail.t — local delivery end to end in a yubin-run instance:
# messages injected with sendmail land in the virtual user's Maildir byte
# for byte (Return-Path and Delivered-To added, 8-bit and long lines
# kept); aliases, virtual aliases, a catch-all and a |program deliver;
# as root a system account gets its mail through ~/.forward and an mbox;
# and a delivery retried by hand after it was done leaves one copy.
import os, pwd, re, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, Instance, BIN, maildir_messages, wait_for, wait_messages

t = Tap()
t.need("local delivery end to end", "yubin-run", "sendmail", "yubin-local", "yubin-qmgr", "yubin-map",
       "yubin-user")

demo = "demo@example.test"
long_line = b"L" * 5000
body = (b"From: Sender <sender@remote.example>\nTo: demo@example.test\nSubject: byte for byte \xe9\n"
        b"Date: Thu, 01 Jan 2026 00:00:00 +0000\nMessage-ID: <bfb-1@test>\n\n"
        b"8-bit: \xe3\x81\x93\xe3\x82\x93\xff\nFrom the start of a line\n" + long_line + b"\n.\n..\n")

with Instance() as y:
    md = y.maildir(demo)
    y.sendmail("-i", "-f", "sender@remote.example", demo, message=body)
    got = wait_messages(md, 1)
    data = list(got.values())[0] if got else b""
    t.ok(data.startswith(b"Return-Path: <sender@remote.example>\nDelivered-To: demo@example.test\n"),
         "Return-Path and Delivered-To come first", data[:200])
    t.ok(data.endswith(body), "the message is kept byte for byte (8-bit, long line, dots, From)", data[-300:])
    name = list(got.keys())[0] if got else ""
    t.ok(re.search(r",S=%d(:2,.*)?$" % len(data), name) is not None, "file name carries S=<size>", name)
    t.ok(wait_for(lambda: re.search(r"to=<demo@example.test>, relay=local, delay=[\d.]+, dsn=2\.0\.0, "
                                    r"status=sent \(delivered to maildir\)", y.log()), 20),
         "maillog has the delivery line", y.log()[-2000:])

    # aliases (yubin-run's postmaster: demo), virtual, catch-all, program
    out = os.path.join(y.tmp, "prog")
    os.mkdir(out)
    os.chmod(out, 0o1777)
    y.map("aliases", "postmaster: demo\n"
                     f"logger: \"|cat > {out}/msg\"\n"
                     "both: demo, sales@example.test\n")
    # catchall.test: a second virtual mailbox domain whose every address
    # goes to demo through the @domain catch-all
    y.map("virtual", "sales@example.test demo@example.test\n@catchall.test demo@example.test\n")
    y.control("virtual_mailbox_domains", "example.test catchall.test")
    y.restart()  # qmgr learns the new local domain
    n = len(maildir_messages(md))
    for i, rcpt in enumerate(("postmaster@example.test", "sales@example.test", "whoever@catchall.test")):
        y.sendmail("-f", "s@remote.example", rcpt, message=b"Subject: via %s\nMessage-ID: <a%d@test>\n\nx\n" % (rcpt.encode(), i))
    got = wait_messages(md, n + 3)
    subj = sorted(re.search(rb"Subject: via (\S+)", d).group(1).decode() for d in got.values() if b"Subject: via" in d)
    t.eq(subj, ["postmaster@example.test", "sales@example.test", "whoever@catchall.test"],
         "alias, virtual alias and catch-all reach demo's Maildir")
    t.ok(any(b"Delivered-To: demo@example.test\n" in d and b"via postmaster" in d for d in got.values()),
         "alias copy has Delivered-To of the final mailbox")
    n = len(got)
    y.sendmail("-f", "s@remote.example", "both@example.test", message=b"Subject: twice\nMessage-ID: <tw@test>\n\nx\n")
    wait_messages(md, n + 1)
    wait_for(lambda: "both@example.test" in y.log() and "orig_to=<both@example.test>" in y.log(), 10)
    t.eq(sum(1 for d in maildir_messages(md).values() if b"Subject: twice" in d), 1,
         "alias naming demo twice (directly and through a virtual alias) delivers once")

    y.sendmail("-f", "s@remote.example", "logger@example.test", message=b"Subject: to a program\n\nprog body\n")
    t.ok(wait_for(lambda: os.path.exists(os.path.join(out, "msg")) and
                  open(os.path.join(out, "msg"), "rb").read().endswith(b"prog body\n"), 20),
         "|program alias gets the message", y.log()[-2000:])

    # a delivery retried by hand (as qmgr does after a crash) leaves one copy
    qid = "%016X" % 0xABCDEF0123
    tmpq = os.path.join(y.tmp, "q")
    with open(tmpq, "wb") as f:
        f.write(b"V1\nT1700000000\nSs@remote.example\nR demo@example.test\t\t\n\nSubject: retried\n\nx\n")
    # a private yubin-local delivers it three times (qmgr may pick the
    # file up too: either way there must be one copy)
    env = dict(y.env)
    shadow_active = os.path.join(y.root, "queue", "active", qid)
    with open(shadow_active, "wb") as f:
        f.write(open(tmpq, "rb").read())
    outs = []
    for _ in range(3):
        p = subprocess.run([os.path.join(BIN, "yubin-local")], input=f"1 {qid} 0\n".encode(),
                           capture_output=True, env=env, timeout=60)
        outs.append(p.stdout.decode().strip())
    try:
        os.unlink(shadow_active)
    except FileNotFoundError:
        pass  # qmgr's scan may have taken it; either way it was delivered
    t.ok(all(o.startswith("1 K 2.0.0") for o in outs), "three attempts of one delivery all succeed", outs)
    t.eq(sum(1 for d in maildir_messages(md).values() if b"Subject: retried" in d), 1,
         "... and leave exactly one copy")

    # a system account with ~/.forward and an mbox (root only)
    if os.geteuid() == 0:
        user = "yubinst%d" % (os.getpid() % 100000)
        home = os.path.join(y.tmp, "home", user)
        os.makedirs(os.path.dirname(home))
        os.chmod(os.path.dirname(home), 0o755)
        subprocess.run(["useradd", "--home-dir", home, "--create-home", user], check=True)
        try:
            pw = pwd.getpwnam(user)
            with open(os.path.join(home, ".forward"), "w") as f:
                f.write(f"\\{user}, demo@example.test\n")
            os.chown(os.path.join(home, ".forward"), pw.pw_uid, pw.pw_gid)
            y.control("home_mailbox", "Mailbox")
            n = len(maildir_messages(md))
            y.sendmail("-f", "s@remote.example", f"{user}@localhost",
                       message=b"Subject: for the account\n\nFrom inside\n")
            mbox = os.path.join(home, "Mailbox")
            t.ok(wait_for(lambda: os.path.exists(mbox) and b"for the account" in open(mbox, "rb").read(), 30),
                 "system account: mbox ~/Mailbox written", y.log()[-2000:])
            data = open(mbox, "rb").read() if os.path.exists(mbox) else b""
            t.ok(b"\n>From inside\n" in data and data.startswith(b"From s@remote.example "), "mbox From_ line and quoting")
            t.eq(os.stat(mbox).st_uid if os.path.exists(mbox) else -1, pw.pw_uid, "mbox belongs to the account")
            got = wait_messages(md, n + 1)
            t.ok(any(b"for the account" in d and f"Delivered-To: {user}@localhost".encode() in d for d in got.values()),
                 ".forward sent a copy on to demo@example.test (through the queue)")
        finally:
            subprocess.run(["userdel", "--remove", user], capture_output=True)
    else:
        t.skip("system account .forward and mbox", "needs root (useradd)")

t.done()
