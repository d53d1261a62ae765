#!/usr/bin/env python3
"""Hibernation of silent SMTP sessions (serve.h, src/smtpd/sleep.c) on a
yubin-run instance whose pools have two workers each (YUBIN_PROCESS_LIMIT=2):
20 clients sit silent after EHLO and all were greeted, then each sends a
message on its own connection; every session's counters, HELO, TLS, login
and anvil count survive the sleep; a client silent for smtpd_timeout gets
421 4.4.2 from a woken session; one that hangs up while asleep is logged as
lost after its last command; the error limit counts errors on both sides of
a sleep; silence inside a transaction does not end it; and kill -9 of the
pool closes the sleeping connections instead of leaving them hanging.
Then, with smtpd_hibernate_timeout at 60s, sessions sleep only because the
pool asks for room: 12 clients after EHLO on a pool of 2 are all greeted
and all send their message."""
import os, re, signal, smtplib, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, Instance, children, tls_client_context, wait_for, wait_messages
from smtpsession import Client

t = Tap()
USER, PASS = "demo@example.test", "demo"
LIMITED = "127.0.0.2"  # not in mynetworks: anvil counts it
NAP = 0.3              # well past smtpd_hibernate_timeout (50ms here)


def smtp(y, service="smtp", src="127.0.0.1"):
    return smtplib.SMTP("127.0.0.1", y.port(service), timeout=30, source_address=(src, 0))


def raw(y, src="127.0.0.1"):
    """a line-level client on the smtp port, greeted"""
    return Client(y.port("smtp"), src)


def crowd(y, n, name):
    """n clients connected one after another, each silent after its EHLO"""
    clients = []
    for i in range(n):
        s = smtp(y)
        s.ehlo(f"{name}{i}.example.org")
        clients.append(s)
    return clients


def send_each(clients, subject):
    """each client sends one message: 250 or the error, in order"""
    codes = []
    for i, s in enumerate(clients):
        try:
            s.sendmail("sender@example.org", [USER], f"Subject: {subject} {i}\r\n\r\nhello\r\n".encode())
            codes.append(250)
        except smtplib.SMTPException as e:
            codes.append(repr(e))
    return codes


def smtpd_pool(y):
    found = children(y.proc.pid, "yubin-smtpd")
    return found[0] if found else None


with Instance(start=False) as y:
    y.env["YUBIN_PROCESS_LIMIT"] = "2"
    y.start()
    y.control("mynetworks", "127.0.0.1/32")
    y.control("smtpd_hibernate_timeout", "50ms")
    y.control("smtpd_client_connection_count_limit", "2")
    y.control("smtpd_client_event_limit_exceptions", "127.0.0.1/32")
    y.control("smtpd_hard_error_limit", "3")
    y.control("smtpd_timeout", "10s")
    # no control/ change after this: a worker that saw one would exec
    # itself for its next client and serve it alone, awake
    box = y.maildir(USER)

    # --- 20 silent clients, 2 workers ---------------------------------
    clients = crowd(y, 20, "client")
    t.eq(len(clients), 20, "20 clients greeted and answered EHLO by a pool of 2 workers")
    time.sleep(NAP)
    workers = [p for p in children(smtpd_pool(y) or -1)]
    t.ok(len(workers) <= 2, "the pool has at most 2 workers", str(workers))
    t.eq(send_each(clients, "sleeper"), [250] * 20, "each of the 20 sends a message after its sleep")
    for s in clients:
        s.quit()
    got = wait_messages(box, 20)
    t.eq(len(got), 20, "20 messages delivered")
    helos = set()
    for m in got.values():
        h = re.search(rb"from (client\d+\.example\.org)", m)
        if h:
            helos.add(h.group(1))
    t.eq(len(helos), 20, "each Received header has its own client's HELO name (kept through the sleep)")
    # (the line comes after the 221 the client saw: wait for the last one)
    full = re.compile(r"disconnect from localhost\[127\.0\.0\.1\] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5")
    wait_for(lambda: len(full.findall(y.log())) >= 20, 30)
    t.eq(len(full.findall(y.log())), 20, "the disconnect line counts the commands from both sides of the sleep")

    # --- silence inside a transaction: no sleep, nothing lost ---------------
    s = smtp(y)
    s.ehlo("txn.example.org")
    s.mail("sender@example.org")
    s.rcpt(USER)
    time.sleep(NAP)
    code, _ = s.data(b"Subject: slow client\r\n\r\nsilent between RCPT and DATA\r\n")
    t.eq(code, 250, "a client silent between RCPT and DATA still gets its message queued")
    s.quit()

    # --- hang-up while asleep ---------------------------------------------
    c = raw(y)
    c.cmd("EHLO gone.example.org")
    time.sleep(NAP)
    c.close()
    t.ok(wait_for(lambda: "lost connection after EHLO from localhost[127.0.0.1]" in y.log(), 30),
         "a client that hangs up while asleep: 'lost connection after EHLO'")

    # --- the error limit counts across sleeps -------------------------------
    c = raw(y)
    codes = []
    for i in range(3):
        codes.append(c.cmd("BOGUS")[0])
        time.sleep(NAP)
    code, text = c.cmd("NOOP")
    t.ok((codes, code) == ([502, 502, 502], 421), "3 errors with sleeps between them reach smtpd_hard_error_limit=3",
         f"{codes} {text}")
    c.close()

    # --- anvil keeps counting a sleeping connection -------------------------
    a, b = raw(y, LIMITED), raw(y, LIMITED)
    greetings = [a.banner[0], b.banner[0]]
    for k in (a, b):
        k.cmd("EHLO limited.example.org")
    time.sleep(NAP)
    c = raw(y, LIMITED)
    t.ok((greetings, c.banner[0]) == ([220, 220], 421),
         "two sleeping connections from 127.0.0.2 still count: the third gets 421", f"{greetings} {c.banner}")
    c.close()
    lost = re.compile(r"lost connection after EHLO from \S*\[127\.0\.0\.2\]")
    a.close()
    t.ok(wait_for(lambda: lost.search(y.log()), 30), "the first one hung up while asleep: woken and ended")
    c = raw(y, LIMITED)
    t.eq(c.banner[0], 220, "after one of them hung up a new one is greeted: the woken session uncounted itself")
    c.close()
    b.close()

    # --- TLS and AUTH survive a sleep ---------------------------------------
    tls = []
    for i in range(2):
        s = smtp(y, "submission")
        s.ehlo("tls.example.org")
        s.starttls(context=tls_client_context())
        s.ehlo("tls.example.org")
        s.login(USER, PASS)
        tls.append(s)
    time.sleep(NAP)
    third = smtp(y, "submission")
    code, _ = third.ehlo("third.example.org")
    t.eq(code, 250, "two TLS+AUTH sessions asleep: a third submission client is served by the pool of 2")
    third.quit()
    before = len(wait_messages(box, 21))
    for i, s in enumerate(tls):
        s.sendmail(USER, [USER], f"Subject: tls sleeper {i}\r\n\r\nstill logged in\r\n".encode())
        s.mail(USER)
        code, text = s.rcpt("someone@example.org")  # relaying needs the login
        t.ok(code != 554 and b"Relay access denied" not in text,
             f"TLS session {i}: still authenticated after its sleep (no relay refusal)", f"{code} {text}")
        s.rset()
        s.quit()
    got = wait_messages(box, before + 2)
    tls_msgs = [m for m in got.values() if b"tls sleeper" in m]
    t.ok(len(tls_msgs) == 2 and all(b"ESMTPSA" in m for m in tls_msgs),
         "their messages say ESMTPSA: TLS and login both came back", str([m[:300] for m in tls_msgs]))

    # --- a client silent for smtpd_timeout (10s) ------------------------
    c = raw(y)
    c.cmd("EHLO slow.example.org")
    code, text = c.reply()  # nothing sent: the next thing is the server's
    t.ok(code == 421, "silent for smtpd_timeout while asleep: 421 4.4.2", text)
    t.ok(wait_for(lambda: "timeout after EHLO from localhost[127.0.0.1]" in y.log(), 30), "logged as a timeout after EHLO")
    c.close()

    # --- the pool killed: sleeping clients see the end -----------------------
    c = raw(y)
    c.cmd("EHLO orphan.example.org")
    time.sleep(NAP)
    os.kill(smtpd_pool(y), signal.SIGKILL)
    # closed with nothing said: not the 421 of smtpd_timeout 10 s later,
    # since the pool held the only copy of the connection
    t.ok(c.closed() and c.buf == b"", "kill -9 of the pool: the sleeping client's connection closes", c.buf)
    c.close()

# --- sleeping to make room: the pool at its limit asks its workers -------
with Instance(start=False) as y:
    y.env["YUBIN_PROCESS_LIMIT"] = "2"
    y.start()
    y.control("mynetworks", "127.0.0.1/32")
    y.control("smtpd_hibernate_timeout", "60s")  # longer than the socket timeouts here
    clients = crowd(y, 12, "crowd")
    t.eq(len(clients), 12, "12 silent clients greeted by a pool of 2 that may not fork: the busy workers made room")
    t.eq(send_each(clients, "crowd"), [250] * 12, "each of them sends its message")
    for s in clients:
        s.quit()
    t.eq(len(wait_messages(y.maildir(USER), 12)), 12, "12 messages delivered")

t.done()
