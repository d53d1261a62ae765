#!/usr/bin/env python3
# local-system.t — yubin-local delivering to system accounts (root only:
# it creates a throw-away account with useradd): ~/Maildir/ owned by the
# user, mbox in mail_spool_directory with From_ quoting and fcntl locking
# (a locked mbox defers), ~/.forward with "\user", |program run as the
# user and a remote forward, and root's mail refused without an alias.
import fcntl, grp, os, pwd, re, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap
from localtest import LocalRoot, maildir_files, ROOT_USER

t = Tap()
if not ROOT_USER:
    t.skip("system account deliveries", "needs root to create an account and switch to it")
    t.done()

user = "yubinlt%d" % (os.getpid() % 100000)
msg = b"Subject: sys\n\nFrom me\nline\n"
with LocalRoot() as r:
    home = os.path.join(r.tmp, "home", user)
    os.makedirs(os.path.dirname(home))
    os.chmod(os.path.dirname(home), 0o755)
    subprocess.run(["useradd", "--home-dir", home, "--create-home", "--shell", "/bin/sh", user], check=True)
    try:
        pw = pwd.getpwnam(user)
        addr = f"{user}@localhost"

        st = r.one(r.queue("s@x.example", [addr], msg))
        t.ok(st[0] == "K", "system user: delivered", st)
        files = maildir_files(os.path.join(home, "Maildir"))
        t.ok(len(files) == 1 and files[0][1] == b"Return-Path: <s@x.example>\nDelivered-To: " + addr.encode() +
             b"\n" + msg, "into ~/Maildir/ byte for byte", files)
        newdir = os.path.join(home, "Maildir", "new")
        t.ok(files and os.stat(os.path.join(newdir, os.listdir(newdir)[0])).st_uid == pw.pw_uid and
             os.stat(os.path.join(home, "Maildir")).st_uid == pw.pw_uid, "Maildir and message belong to the user")
        st = r.one(r.queue("s@x.example", [user.upper() + "+ext@localhost"], msg))
        t.eq(st[0], "K", "USER+ext@ (case folded, extension dropped) reaches the account")

        # mbox in a spool directory the user cannot write (root:mail 2775, like /var/mail)
        spool = os.path.join(r.tmp, "spool")
        os.mkdir(spool)
        os.chown(spool, 0, grp.getgrnam("mail").gr_gid)
        os.chmod(spool, 0o2775)
        r.control("home_mailbox", "")
        r.control("mail_spool_directory", spool)
        qid = r.queue("", [addr], msg)
        st = r.one(qid)
        t.ok(st[0] == "K", "home_mailbox empty: mbox delivery", st)
        mbox = os.path.join(spool, user)
        data = open(mbox, "rb").read() if os.path.exists(mbox) else b""
        t.ok(re.match(rb"From MAILER-DAEMON .{24}\nReturn-Path: <>\nDelivered-To: " + addr.encode() +
                      rb"\nSubject: sys\n\n>From me\nline\n\n$", data) is not None, "mbox content and From_ quoting", data)
        t.eq(os.stat(mbox).st_uid, pw.pw_uid, "the spool mbox belongs to the user")
        t.ok("status=sent (delivered to mailbox)" in r.log, "logged as delivered to mailbox", r.log)

        with open(mbox, "r+b") as f:
            fcntl.lockf(f, fcntl.LOCK_EX)
            st = r.one(r.queue("s@x.example", [addr], msg))
        t.ok(st[0:2] == ("Z", "4.2.0") and "locked" in st[2], "a locked mbox defers (4.2.0)", st)
        t.eq(open(mbox, "rb").read(), data, "... and is left unchanged")

        r.control("home_mailbox", "Mailbox")
        st = r.one(r.queue("s@x.example", [addr], msg))
        t.ok(st[0] == "K" and os.path.exists(os.path.join(home, "Mailbox")), "home_mailbox Mailbox: ~/Mailbox mbox")
        r.control("home_mailbox", None)

        # ~/.forward: a copy kept, a program run as the user, a remote copy
        r.run("yubin-setup", "--root", r.root)
        out = os.path.join(r.tmp, "fwd-out")
        os.mkdir(out)
        os.chown(out, pw.pw_uid, pw.pw_gid)
        fwd = os.path.join(home, ".forward")
        with open(fwd, "w") as f:
            f.write(f"# keep one, log one, send one on\n\\{user}, \"|id -u > {out}/uid; cat > {out}/msg\"\n"
                    "friend@remote.example\n")
        os.chown(fwd, pw.pw_uid, pw.pw_gid)
        before = len(maildir_files(os.path.join(home, "Maildir")))
        st = r.one(r.queue("s@x.example", [addr], msg))
        t.ok(st[0] == "K", ".forward delivers", (st, r.log))
        t.eq(len(maildir_files(os.path.join(home, "Maildir"))), before + 1, "\\user keeps a copy in the mailbox")
        uid = open(os.path.join(out, "uid")).read().strip() if os.path.exists(os.path.join(out, "uid")) else ""
        t.eq(uid, str(pw.pw_uid), "|program from .forward runs as the user")
        t.ok(os.path.exists(os.path.join(out, "msg")) and open(os.path.join(out, "msg"), "rb").read().endswith(msg),
             "... with the message on stdin")
        inc = [open(os.path.join(r.path("queue", "incoming"), f), "rb").read()
               for f in os.listdir(r.path("queue", "incoming"))]
        t.ok(len(inc) == 1 and b"\nR friend@remote.example\t" in inc[0] and b"\nSs@x.example\n" in inc[0],
             "remote address in .forward is forwarded with the sender kept", inc)

        os.chmod(fwd, 0o666)
        before = len(maildir_files(os.path.join(home, "Maildir")))
        st = r.one(r.queue("s@x.example", [addr], msg))
        t.ok(st[0] == "K" and len(maildir_files(os.path.join(home, "Maildir"))) == before + 1 and
             "ignoring" in r.log, "a world-writable .forward is ignored (mail stays in the mailbox)", r.log)
        os.unlink(fwd)

        st = r.one(r.queue("s@x.example", ["root@localhost"], msg))
        t.ok(st[0:2] == ("Z", "4.3.5") and "root" in st[2], "root without an alias: deferred, never delivered as root", st)
        r.map("aliases", f"root: {user}\n")
        st = r.one(r.queue("s@x.example", ["root@localhost"], msg))
        t.eq(st[0], "K", "root with an alias: delivered to the alias")
    finally:
        subprocess.run(["userdel", "--remove", user], capture_output=True)
t.done()
