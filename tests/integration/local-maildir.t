#!/usr/bin/env python3
# local-maildir.t — yubin-local on its own (jobs on stdin, queue files
# written by hand): virtual-user Maildir delivery byte for byte, the
# Maildir name, modes and owner, exactly-once on a retried delivery (in
# new/ and after a reader moved it to cur/), loops, unknown users, bad
# jobs, many jobs at once, and the log line.
import os, pwd, re, shutil, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap
from localtest import LocalRoot, maildir_files, ROOT_USER

t = Tap()
long_line = b"x" * 10000
body = b"Subject: test \xe9\xe8\nFrom: a@b.example\n\n8-bit \xff\xfe body\n" + long_line + b"\nFrom the start\n.\n"

with LocalRoot(users=("demo@example.test", "other@example.test")) as r:
    qid = r.queue("sender@remote.example", ["demo@example.test"], body)
    st = r.one(qid)
    t.eq(st[0:2], ("K", "2.0.0"), "virtual user delivery succeeds")
    md = r.maildir("demo@example.test")
    files = maildir_files(md)
    t.eq(len(files), 1, "one message in the Maildir")
    name, data = files[0] if files else ("", b"")
    want = b"Return-Path: <sender@remote.example>\nDelivered-To: demo@example.test\n" + body
    t.ok(data == want, "message lands byte for byte after Return-Path and Delivered-To",
         f"got {data[:200]!r}")
    m = re.match(r"new/1700000000\.Y" + qid + r"R[0-9a-f]{16}\.localhost,S=(\d+)$", name)
    t.ok(m is not None, "Maildir name is arrival.Y<qid>R<hash>.host,S=size", name)
    t.ok(m and int(m.group(1)) == len(want), "S= is the file size")
    for sub in ("", "new", "cur", "tmp"):
        mode = os.stat(os.path.join(md, sub)).st_mode & 0o777
        t.eq(mode, 0o700, f"Maildir {sub or '.'} created mode 700")
    t.eq(os.listdir(os.path.join(md, "tmp")), [], "tmp/ is left empty")
    if ROOT_USER:
        owner = pwd.getpwuid(os.stat(os.path.join(md, "new", name[4:])).st_uid).pw_name
        t.eq(owner, "yubinv", "as root the message belongs to virtual_user (yubinv), written by its worker")
    else:
        t.skip("file owned by virtual_user", "not root")
    t.ok(re.search(r": " + qid + r": to=<demo@example.test>, relay=local, delay=[\d.]+, dsn=2\.0\.0, "
                   r"status=sent \(delivered to maildir\)", r.log), "one Postfix-style log line", r.log)

    # exactly-once: the same job again (qmgr retrying after a crash)
    st = r.one(qid)
    t.eq(st[0], "K", "a retried delivery reports success")
    t.eq(len(maildir_files(md)), 1, "... and does not deliver twice (file in new/)")
    os.rename(os.path.join(md, "new", name[4:]), os.path.join(md, "cur", name[4:] + ":2,S"))
    st = r.one(qid)
    t.eq(st[0], "K", "retry after a reader moved it to cur/ reports success")
    t.eq([f for f, _ in maildir_files(md)], ["cur/" + name[4:] + ":2,S"], "... and still one copy")

    # two recipients of one message: one copy each, results for both jobs
    qid2 = r.queue("", ["demo@example.test", "other@example.test"], b"Subject: two\n\nhello\n")
    res = r.deliver([(qid2, 0), (qid2, 1)])
    t.eq(sorted(v[0] for v in res.values()), ["K", "K"], "two jobs of one message both answered K")
    got = maildir_files(r.maildir("other@example.test"))
    t.ok(len(got) == 1 and got[0][1].startswith(b"Return-Path: <>\nDelivered-To: other@example.test\n"),
         "null sender becomes Return-Path: <>", got[:1])

    # extension falls back to the user
    qid3 = r.queue("s@x.example", ["demo+box@example.test"], b"Subject: ext\n\nx\n")
    st = r.one(qid3)
    t.eq(st[0], "K", "user+ext@ delivers to user's Maildir")
    t.ok(any(d.startswith(b"Return-Path: <s@x.example>\nDelivered-To: demo+box@example.test\n")
             for _, d in maildir_files(md)), "Delivered-To keeps the extension")

    # loop: our Delivered-To already in the header
    qid4 = r.queue("s@x.example", ["demo@example.test"],
                   b"Received: x\nDelivered-To: DEMO@example.test\nSubject: loop\n\nbody\n")
    st = r.one(qid4)
    t.eq(st[0:2], ("D", "5.4.6"), "a message already Delivered-To this address is a loop (5.4.6)")
    qid5 = r.queue("s@x.example", ["demo@example.test"],
                   b"Subject: no loop\n\nDelivered-To: demo@example.test\n")
    t.eq(r.one(qid5)[0], "K", "Delivered-To in the body is not a loop")

    # unknown users
    qid6 = r.queue("s@x.example", ["nobody-here@example.test"], b"Subject: x\n\nx\n")
    st = r.one(qid6)
    t.eq(st[0:2], ("D", "5.1.1"), "unknown virtual user bounces 5.1.1")
    t.ok("status=bounced" in r.log, "bounce is logged as status=bounced", r.log)
    qid7 = r.queue("s@x.example", ["no-such-account-xyz@localhost"], b"Subject: x\n\nx\n")
    t.eq(r.one(qid7)[0:2], ("D", "5.1.1"), "unknown system user bounces 5.1.1")

    # bad jobs
    res = r.deliver(["77 NOTAQID 0", "78 ABCDEF0123456789 0", f"79 {qid} 9", "garbage"])
    t.eq(res.get("77", ("?",))[0], "Z", "malformed queue id: temporary failure")
    t.eq(res.get("78", ("?",))[0], "Z", "missing queue file: temporary failure")
    t.eq(res.get("79", ("?",))[0], "Z", "recipient index out of range: temporary failure")
    t.eq(r.rc, 0, "yubin-local exits 0 at the end of its input")

    # many jobs at once: every one answered, every message delivered once
    qids = [r.queue("s@x.example", ["other@example.test"], b"Subject: n%d\n\nbody %d\n" % (i, i))
            for i in range(40)]
    res = r.deliver([(q, 0) for q in qids])
    t.eq(sorted(res.keys()) == sorted(r.last_ids) and all(v[0] == "K" for v in res.values()), True,
         "40 jobs in one go: all answered K")
    t.eq(len(maildir_files(r.maildir("other@example.test"))), 41, "... 40 more messages, one each")

    # concurrency setting is honoured without harm
    r.control("local_destination_concurrency_limit", "8")
    qids = [r.queue("s@x.example", ["demo@example.test"], b"Subject: p%d\n\n" % i) for i in range(16)]
    res = r.deliver([(q, 0) for q in qids])
    t.ok(all(v[0] == "K" for v in res.values()) and len(res) == 16, "8 workers: 16 jobs all delivered")

    # as root, a missing virtual_user account defers with the setting's name
    if ROOT_USER:
        r.control("virtual_user", "no-such-account-zz")
        st = r.one(r.queue("s@x.example", ["demo@example.test"], b"Subject: x\n\nx\n"))
        t.ok(st[0:2] == ("Z", "4.3.5") and "virtual_user" in st[2], "missing virtual_user account: deferred, naming the setting", st)
        r.control("virtual_user", None)
    else:
        t.skip("missing virtual_user", "not root")

# disk full: a small tmpfs as the virtual mailbox base (root only)
if ROOT_USER:
    with LocalRoot() as r:
        small = os.path.join(r.tmp, "small")
        os.mkdir(small)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", small], capture_output=True).returncode == 0:
            try:
                r.control("virtual_mailbox_base", small)
                st = r.one(r.queue("s@x.example", ["demo@example.test"], b"Subject: big\n\n" + b"y" * 300000 + b"\n"))
                t.ok(st[0:2] == ("Z", "4.3.1"), "disk full: deferred 4.3.1", st)
                md = os.path.join(small, "example.test", "demo")
                t.eq(maildir_files(md), [], "... and no partial message is visible")
                st = r.one(r.queue("s@x.example", ["demo@example.test"], b"Subject: small\n\nok\n"))
                t.ok(st[0] == "K" and len(maildir_files(md)) == 1, "a message that fits still delivers", st)
            finally:
                subprocess.run(["umount", small])
        else:
            t.skip("disk full", "cannot mount a tmpfs here")
else:
    t.skip("disk full", "needs root to mount a small tmpfs")

# not root: everything runs as the invoking account
if ROOT_USER and shutil.which("setpriv"):
    with LocalRoot() as r:
        nob = pwd.getpwnam("nobody")
        for dirpath, dirs, files in os.walk(r.root):
            for n in dirs + files:
                os.lchown(os.path.join(dirpath, n), nob.pw_uid, nob.pw_gid)
        os.chown(r.root, nob.pw_uid, nob.pw_gid)
        as_nobody = ("setpriv", "--reuid", str(nob.pw_uid), "--regid", str(nob.pw_gid), "--clear-groups")
        st = r.one(r.queue("s@x.example", ["demo@example.test"], b"Subject: x\n\nx\n"), prefix=as_nobody)
        t.eq(st[0], "K", "not root: virtual delivery as the invoking account")
        md = r.maildir("demo@example.test")
        t.ok(os.path.isdir(md) and os.stat(md).st_uid == nob.pw_uid, "... Maildir made by and for that account")
        st = r.one(r.queue("s@x.example", ["daemon@localhost"], b"Subject: x\n\nx\n"), prefix=as_nobody)
        t.ok(st[0] == "Z" and "not root" in st[2], "not root: another system account defers, saying why", st)
        r.map("aliases", "prog: |echo hi > /dev/null\n")
        st = r.one(r.queue("s@x.example", ["prog@localhost"], b"Subject: x\n\nx\n"), prefix=as_nobody)
        t.eq(st[0], "K", "not root: |program alias runs as the invoking account")
else:
    t.skip("non-root mode", "needs root and setpriv to run as nobody")

t.done()
