#!/usr/bin/env python3
# ctl.t — yubin-ctl: config (-n, -d, -x, NAME), queue, cat, hold, release,
# requeue, delete (ID, ALL, deferred), flush, reload, status — while
# yubin-qmgr runs, as an admin would use them.
import os, re, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, Instance, wait_for, wait_messages

t = Tap()
with Instance() as y:
    ctl = lambda *a, check=False: y.run("yubin-ctl", *a, check=check)

    r = ctl("config", "myhostname", "message_size_limit")
    t.eq(r.stdout.decode(), "myhostname = localhost\nmessage_size_limit = 10240000\n", "config NAME prints name = value")
    r = ctl("config", "-n")
    out = r.stdout.decode()
    t.ok("virtual_mailbox_domains = example.test" in out and "smtpd_timeout" not in out, "config -n shows only what is set")
    r = ctl("config", "-d", "myorigin")
    t.eq(r.stdout.decode(), "myorigin = $myhostname\n", "config -d shows the default as written")
    r = ctl("config", "-x", "myorigin")
    t.eq(r.stdout.decode(), "myorigin = localhost\n", "config -x expands")
    r = ctl("config", "no_such_setting")
    t.ok(r.returncode != 0 and b"unknown setting" in r.stderr, "unknown setting named")
    r = ctl("config")
    t.ok(r.stdout.decode().count("\n") > 50, "config lists every setting")

    t.ok(ctl("status").returncode == 0 and b"running" in ctl("status").stdout, "status: qmgr running")
    t.eq(ctl("queue").stdout.decode(), "Mail queue is empty\n", "empty queue")

    # two messages to a dead destination stay deferred
    y.map("transport", "dead.test smtp:[127.0.0.1]:9\n")
    for i in range(2):
        y.sendmail("-f", "s@example.test", f"user{i}@dead.test", message=f"Subject: q{i}\n\nx\n".encode())
    def ids():
        out = ctl("queue").stdout.decode()
        found = re.findall(r"^([0-9A-F]{8,})[ *!]", out, re.M)
        return found if len(found) == 2 and "user1@dead.test" in out else None
    got = wait_for(ids, 30)
    t.ok(got, "queue lists both deferred messages")
    if not got:
        t.diag(ctl("queue").stdout.decode() + y.log()[-2000:])
        t.done()
    a, b = got
    # listed as soon as queued; the reason comes with the failed attempt
    wait_for(lambda: "refused" in ctl("queue").stdout.decode().lower(), 60)
    out = ctl("queue").stdout.decode()
    t.ok("(" in out and "Connection refused" in out or "refused" in out.lower(), "queue shows the last reason", out)
    t.ok(re.search(r"-- \d+ Kbytes in 2 Requests\.", out), "queue totals line")

    r = ctl("cat", a)
    t.ok(r.returncode == 0 and b"sender: s@example.test" in r.stdout and b"Subject: q" in r.stdout, "cat shows envelope and message")
    t.ok(ctl("cat", "0123456789ABCDEF").returncode != 0, "cat of an unknown id fails")
    t.ok(ctl("cat", "../../etc/passwd").returncode != 0, "cat refuses a path for an id")

    r = ctl("hold", a)
    t.ok(r.returncode == 0, "hold ID")
    t.ok(wait_for(lambda: re.search(a + "!", ctl("queue").stdout.decode()), 5), "held message marked with !")
    r = ctl("release", a)
    t.ok(r.returncode == 0 and not re.search(a + "!", ctl("queue").stdout.decode()), "release ID")

    r = ctl("delete", b)
    t.ok(r.returncode == 0 and b not in ctl("queue").stdout.decode(), "delete ID")

    # fix the route, flush: the remaining one is delivered locally
    y.map("transport", "dead.test local:\n")
    y.map("virtual", "@dead.test demo@example.test\n")
    t.ok(ctl("requeue", "ALL").returncode == 0, "requeue ALL")
    t.ok(ctl("flush").returncode == 0, "flush")
    got = wait_messages(y.maildir("demo@example.test"), 1, 30)
    t.ok(any(b"Subject: q" in d for d in got.values()), "the flushed message is delivered after the fix")
    t.ok(wait_for(lambda: ctl("queue").stdout.decode() == "Mail queue is empty\n", 20), "queue empty afterwards")

    # delete ALL and delete deferred
    y.map("transport", "dead.test smtp:[127.0.0.1]:9\n")
    y.sendmail("x@dead.test", message=b"Subject: z\n\nx\n")
    wait_for(lambda: "x@dead.test" in ctl("queue").stdout.decode(), 20)
    t.ok(ctl("hold", "ALL").returncode == 0 and "!" in ctl("queue").stdout.decode(), "hold ALL")
    t.ok(ctl("delete", "ALL").returncode == 0 and ctl("queue").stdout.decode() == "Mail queue is empty\n", "delete ALL")
    t.ok(ctl("reload").returncode == 0, "reload while qmgr runs")
    y.stop()
    r = ctl("status")
    t.ok(r.returncode != 0 and b"not running" in r.stdout, "status: qmgr stopped")
    r = ctl("flush")
    t.ok(r.returncode != 0 and b"not running" in r.stderr, "flush without qmgr says so")
t.done()
