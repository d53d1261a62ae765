#!/usr/bin/env python3
"""remote-relay.t — remote delivery end to end between two yubin-run
instances on loopback: A routes other.test to B through control/transport
and the mail lands in B's Maildir; with B stopped it stays deferred in A's
queue (seen by `yubin-ctl queue`), and after B restarts `yubin-ctl flush`
delivers it. A route to A's own SMTP listener bounces 5.4.6 (a loop) to
the sender. Postfix's smtp-sink serves as a third-party receiver."""
import email, email.policy, os, shutil, subprocess, sys, tempfile, time, socket
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, Instance, maildir_messages, wait_for, wait_messages

t = Tap()
t.need("two instances relaying", "yubin-run", "sendmail", "yubin-local", "yubin-qmgr", "yubin-remote",
       "yubin-user", "yubin-ctl", "yubin-map", "yubin-smtpd")


def queue_ids(y):
    ids = []
    for state in ("active", "deferred", "incoming"):
        try:
            ids += os.listdir(os.path.join(y.root, "queue", state))
        except OSError:
            pass
    return ids


def bounces(y, addr):
    out = []
    for data in maildir_messages(y.maildir(addr)).values():
        m = email.message_from_bytes(data, policy=email.policy.default)
        if m.get_content_type() == "multipart/report":
            out.append(m)
    return out


with Instance() as b, Instance() as a:
    b.run("yubin-user", "add", "bob@other.test", input=b"bobpw\n")
    a.map("transport", "other.test smtp:[127.0.0.1]:%d\nloop.test smtp:[127.0.0.1]:%d\n"
          % (b.port("smtp"), a.port("smtp")))
    box = b.maildir("bob@other.test")

    a.sendmail("-f", "demo@example.test", "bob@other.test",
               message=b"Subject: hop one\nMessage-ID: <relay-1@test>\n\nfirst message\n.dot line\n")
    got = wait_messages(box, 1, timeout=60)
    t.eq(len(got), 1, "A relayed to B: the message is in B's Maildir")
    body = b"".join(got.values())
    t.ok(b"first message\n.dot line\n" in body, "body intact, dot line unstuffed", body[-200:])
    t.ok(b"Message-ID: <relay-1@test>" in body, "headers intact")
    t.ok(wait_for(lambda: "to=<bob@other.test>, relay=127.0.0.1[127.0.0.1]:%d" % b.port("smtp") in a.log()
                  and "status=sent (250" in a.log(), 20), "A's maillog: status=sent with relay", a.log()[-1500:])
    t.ok(wait_for(lambda: not queue_ids(a), 20), "A's queue is empty afterwards")

    # B down: deferred in A's queue
    b.stop()
    a.sendmail("-f", "demo@example.test", "bob@other.test", message=b"Subject: hop two\n\nsecond message\n")
    t.ok(wait_for(lambda: "status=deferred" in a.log(), 60), "with B stopped the delivery is deferred",
         a.log()[-1500:])
    q = a.run("yubin-ctl", "queue", check=False).stdout.decode(errors="replace")
    t.ok("bob@other.test" in q and "Connection refused" in q, "yubin-ctl queue lists it with the reason", q)
    t.eq(len(maildir_messages(box)), 1, "nothing new at B")

    # B back: flush delivers it
    b.start()

    def b_listens():
        try:
            socket.create_connection(("127.0.0.1", b.port("smtp")), timeout=2).close()
            return True
        except OSError:
            return False

    # run.out still holds the first "ready" line, so wait for the port itself
    t.ok(wait_for(b_listens, 60), "B listens again")
    a.run("yubin-ctl", "flush", check=False)
    got = wait_messages(box, 2, timeout=60)
    t.eq(len(got), 2, "after B restarts, yubin-ctl flush delivers it")
    t.ok(b"second message" in b"".join(got.values()), "the deferred message arrived")
    t.ok(wait_for(lambda: not queue_ids(a), 30), "A's queue is empty again", queue_ids(a))

    # a route to our own listener: a loop, bounced at once
    a.sendmail("-f", "demo@example.test", "x@loop.test", message=b"Subject: loop\n\nround and round\n")
    t.ok(wait_for(lambda: bounces(a, "demo@example.test"), 60), "a route to our own SMTP port bounces",
         a.log()[-1500:])
    rep = (bounces(a, "demo@example.test") or [None])[0]
    text = rep.as_string() if rep is not None else ""
    t.ok("5.4.6" in text and "loops back to myself" in text, "with 5.4.6 loops back to myself", text[:1500])

    # Postfix's smtp-sink as a third-party server
    sink = shutil.which("smtp-sink") or ("/usr/sbin/smtp-sink" if os.path.exists("/usr/sbin/smtp-sink") else None)
    if not sink:
        t.skip("delivery to Postfix's smtp-sink", "smtp-sink (package postfix) not installed")
        t.skip("smtp-sink got the envelope", "smtp-sink not installed")
    else:
        d = tempfile.mkdtemp(prefix="yubin-sink-")
        os.chmod(d, 0o777)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        args = [sink, "-d", d + "/%Y%m%d%H/%M.", "127.0.0.1:%d" % port, "10"]
        if os.geteuid() == 0:
            args[1:1] = ["-u", "nobody"]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def sink_up():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
                return True
            except OSError:
                return False

        wait_for(sink_up, 30)
        a.map("transport", "sink.test smtp:[127.0.0.1]:%d\n" % port)

        def dumped():
            out = []
            for dp, _, fs in os.walk(d):
                for f in fs:
                    with open(os.path.join(dp, f), "rb") as fh:
                        out.append(fh.read())
            return out

        a.sendmail("-f", "demo@example.test", "one@sink.test", "two@sink.test",
                   message=b"Subject: to smtp-sink\n\nhello postfix\n")
        t.ok(wait_for(lambda: dumped(), 60), "delivered to Postfix's smtp-sink", a.log()[-1500:])
        dump = b"".join(dumped())
        t.ok(b"one@sink.test" in dump and b"two@sink.test" in dump and b"hello postfix" in dump,
             "smtp-sink got both recipients and the body in one transaction", dump[:800])
        proc.terminate()
        proc.wait()
        shutil.rmtree(d, ignore_errors=True)
t.done()
