#!/usr/bin/env python3
# local-aliases.t — yubin-local's resolution, standalone (queue files by
# hand, jobs on stdin): virtual aliases (lists, catch-all, regexp),
# /etc/aliases-style aliases with unqualified targets, |program (env,
# exit codes, identity), /file (mbox with From quoting), :include:,
# duplicates delivered once, depth limit, and forwarding to a remote
# address through yubin-queue with the sender kept.
import glob, os, pwd, re, stat, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap
from localtest import LocalRoot, maildir_files, ROOT_USER

t = Tap()
msg = b"Subject: alias test\nFrom: s@x.example\n\nFrom here on\nbody \xe9\n"

with LocalRoot(users=("demo@example.test", "other@example.test")) as r:
    demo, other = r.maildir("demo@example.test"), r.maildir("other@example.test")
    out = os.path.join(r.tmp, "out")
    os.mkdir(out)
    os.chmod(out, 0o1777)  # alias programs run as default_privs (nobody) under root
    r.map("virtual", "info@example.test demo@example.test\n"
                     "team@example.test demo@example.test, other@example.test\n"
                     "dup@example.test demo@example.test demo@example.test, info@example.test\n"
                     "@catch.test demo@example.test\n"
                     "self@example.test self@example.test, other@example.test\n"
                     "loop1@example.test loop2@example.test\n"
                     "loop2@example.test loop3@example.test\n"
                     "loop3@example.test loop1@example.test, other@example.test\n")
    r.control("virtual.regexp", "/^re-(.*)@example\\.test$/ $1@example.test\n")
    r.control("virtual_mailbox_domains", "example.test catch.test")

    def count(md):
        return len(maildir_files(md))

    q = r.queue("s@x.example", ["info@example.test"], msg)
    st = r.one(q)
    t.eq(st[0], "K", "virtual alias delivers")
    t.ok(count(demo) == 1 and b"Delivered-To: demo@example.test\n" in maildir_files(demo)[0][1],
         "... into the target's Maildir with its Delivered-To")
    t.ok("to=<demo@example.test>, orig_to=<info@example.test>" in r.log, "log has orig_to", r.log)

    q = r.queue("s@x.example", ["team@example.test"], msg)
    t.eq(r.one(q)[0], "K", "a list alias delivers")
    t.ok(count(demo) == 2 and count(other) == 1, "... one copy to each member")

    q = r.queue("s@x.example", ["dup@example.test"], msg)
    t.eq(r.one(q)[0], "K", "alias naming a target three ways")
    t.eq(count(demo), 3, "... delivers it once")

    q = r.queue("s@x.example", ["anything@catch.test"], msg)
    t.eq(r.one(q)[0], "K", "catch-all @domain delivers")
    t.eq(count(demo), 4, "... to its target")

    q = r.queue("s@x.example", ["self@example.test"], msg)
    st = r.one(q)
    t.eq(st[0:2], ("D", "5.1.1"), "alias to itself ends at that address (no user: 5.1.1)")
    t.eq(count(other), 2, "... while the other member gets its copy")

    q = r.queue("s@x.example", ["loop1@example.test"], msg)
    st = r.one(q)
    t.ok(st[0] == "D" and count(other) == 3, "a virtual alias cycle terminates (the member outside it delivered)", st)

    q = r.queue("s@x.example", ["re-other@example.test"], msg)
    t.eq(r.one(q)[0], "K", "virtual.regexp with $1 delivers")
    t.eq(count(other), 4, "... to the substituted address")

    # aliases: unqualified targets take the domain being resolved
    prog_out = os.path.join(out, "prog")
    r.map("aliases", "postmaster: demo\n"
                     f"prog: \"|env > {out}/env; id -u > {out}/uid; cat > {prog_out}\"\n"
                     "perm: |exit 67\n"
                     "temp: |exit 75\n"
                     "other1: |echo oops; exit 1\n"
                     f"file: {out}/mbox\n"
                     "null: /dev/null\n"
                     f"inc: :include:{out}/list\n"
                     "both: demo, other@example.test, demo@example.test\n")
    with open(os.path.join(out, "list"), "w") as f:
        f.write("# list members\nother@example.test\n")
    q = r.queue("s@x.example", ["postmaster@example.test"], msg)
    t.eq(r.one(q)[0], "K", "alias postmaster: demo")
    t.eq(count(demo), 5, "... reaches demo@example.test (the domain of the address resolved)")

    q = r.queue("s@x.example", ["both@example.test"], msg)
    t.eq(r.one(q)[0], "K", "alias with duplicates")
    t.ok(count(demo) == 6 and count(other) == 5, "... one copy per mailbox")

    q = r.queue("s@x.example", ["prog@example.test"], msg)
    st = r.one(q)
    t.ok(st[0] == "K", "|program alias delivers", st)
    got = open(prog_out, "rb").read() if os.path.exists(prog_out) else b""
    t.eq(got, b"Return-Path: <s@x.example>\nDelivered-To: prog@example.test\n" + msg,
         "program gets the message on stdin with Return-Path and Delivered-To")
    env = open(os.path.join(out, "env")).read() if os.path.exists(os.path.join(out, "env")) else ""
    t.ok("SENDER=s@x.example\n" in env and "RECIPIENT=prog@example.test\n" in env and
         "LOCAL=prog\n" in env and "DOMAIN=example.test\n" in env, "SENDER RECIPIENT LOCAL DOMAIN set", env)
    if ROOT_USER:
        uid = open(os.path.join(out, "uid")).read().strip()
        t.eq(uid, str(pwd.getpwnam("nobody").pw_uid), "root's aliases run programs as default_privs (nobody)")
    else:
        t.skip("program identity", "not root")

    st = r.one(r.queue("s@x.example", ["perm@example.test"], msg))
    t.eq(st[0:2], ("D", "5.1.1"), "program exit 67 (EX_NOUSER) bounces 5.1.1")
    st = r.one(r.queue("s@x.example", ["temp@example.test"], msg))
    t.eq(st[0], "Z", "program exit 75 (EX_TEMPFAIL) defers")
    st = r.one(r.queue("s@x.example", ["other1@example.test"], msg))
    t.ok(st[0] == "Z" and "oops" in st[2], "exit 1 defers and the output is in the reason", st)

    st = r.one(r.queue("", ["file@example.test"], msg))
    t.ok(st[0] == "K", "/file alias delivers", st)
    st = r.one(r.queue("s@x.example", ["file@example.test"], msg))
    data = open(os.path.join(out, "mbox"), "rb").read() if os.path.exists(os.path.join(out, "mbox")) else b""
    t.ok(re.match(rb"From MAILER-DAEMON \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\nReturn-Path: <>\n"
                  rb"Delivered-To: file@example.test\nSubject: alias test\n", data) is not None,
         "mbox: From_ line, Return-Path, Delivered-To", data[:200])
    t.ok(data.count(b"\n>From here on\n") == 2 and data.endswith(b"body \xe9\n\n") and
         b"\n\nFrom s@x.example " in data, "mbox: '>From ' quoting, blank line between messages")
    if ROOT_USER:
        t.eq(pwd.getpwuid(os.stat(os.path.join(out, "mbox")).st_uid).pw_name, "nobody", "file written as nobody")
    else:
        t.skip("file owner", "not root")

    st = r.one(r.queue("s@x.example", ["null@example.test"], msg))
    t.eq(st[0], "K", "/dev/null alias discards")

    st = r.one(r.queue("s@x.example", ["inc@example.test"], msg))
    t.eq(st[0], "K", ":include: alias delivers")
    t.eq(count(other), 6, "... to the listed member")

    # deep nesting stops
    r.map("aliases", "".join(f"d{i}: d{i + 1}\n" for i in range(30)))
    st = r.one(r.queue("s@x.example", ["d0@example.test"], msg))
    t.eq(st[0:2], ("D", "5.4.6"), "alias chain deeper than 20 bounces 5.4.6")

    # forwarding to a remote address: a new message through yubin-queue
    if ROOT_USER:
        r.run("yubin-setup", "--root", r.root)
    else:
        r.run("yubin-create-queue", r.root)
    r.map("aliases", "ext: someone@remote.example, demo\n")
    st = r.one(r.queue("orig@sender.example", ["ext@example.test"], msg))
    t.ok(st[0] == "K", "alias with a remote member delivers", st)
    t.eq(count(demo), 7, "... the local member gets its copy")
    inc = glob.glob(r.path("queue", "incoming", "*"))
    t.ok(len(inc) == 1, "... and one new message is queued for the remote one", r.log)
    q = open(inc[0], "rb").read() if inc else b""
    t.ok(b"\nSorig@sender.example\n" in q and b"\nR someone@remote.example\t" in q,
         "forward keeps the original sender", q[:300])
    t.ok(q.endswith(b"\n\nDelivered-To: ext@example.test\n" + msg), "forward carries Delivered-To of the alias")

    # a forwarded copy coming back is a loop
    qid = r.queue("orig@sender.example", ["ext@example.test"], b"Delivered-To: ext@example.test\n" + msg)
    st = r.one(qid)
    t.eq(st[0:2], ("D", "5.4.6"), "forwarded copy that comes back bounces as a loop")

t.done()
