#!/usr/bin/env python3
# logsumm.t — yubin-logsumm on the maillog of a real instance: mail
# received over SMTP and sendmail, delivered, deferred (dead next hop),
# bounced (error: transport), rejected (unknown user), failed POP3
# logins; the same log behind a syslog prefix gives the same summary;
# Postfix's own lines are read too.
import json, os, poplib, smtplib, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, Instance, BIN, TOP, wait_for

t = Tap()
PROG = os.path.join(BIN, "yubin-logsumm")
if not os.path.exists(PROG):
    PROG = os.path.join(TOP, "tools", "yubin-logsumm")


def summ(*args, input=None):
    r = subprocess.run([PROG, *args], input=input, capture_output=True, timeout=60)
    return r


def js(path_or_text, *args):
    if isinstance(path_or_text, bytes):
        r = summ("--json", *args, input=path_or_text)
    else:
        r = summ("--json", *args, path_or_text)
    return json.loads(r.stdout) if r.returncode == 0 else None


with Instance() as y:
    y.map("transport", "dead.test smtp:[127.0.0.1]:9\nbounce.test error:no mail here\n")
    s = smtplib.SMTP("127.0.0.1", y.port("smtp"), timeout=30)
    for i in range(3):
        s.sendmail("alice@client.test", ["demo@example.test"], b"Subject: a\r\n\r\nx\r\n")
    s.sendmail("bob@client.test", ["demo@example.test"], b"Subject: b\r\n\r\nx\r\n")
    try:
        s.sendmail("bob@client.test", ["nobody@example.test"], b"Subject: b\r\n\r\nx\r\n")
    except smtplib.SMTPRecipientsRefused:
        pass
    s.quit()
    y.sendmail("-f", "carol@example.test", "u@dead.test", message=b"Subject: c\n\nx\n")
    y.sendmail("-f", "carol@example.test", "v@bounce.test", message=b"Subject: d\n\nx\n")
    for i in range(3):
        p = poplib.POP3("127.0.0.1", y.port("pop3"), timeout=30)
        p.user("demo@example.test")
        try:
            p.pass_("wrong")
        except poplib.error_proto:
            pass
        try:
            p.quit()
        except (poplib.error_proto, OSError):
            pass
    log = os.path.join(y.root, "log", "maillog")

    def settled():
        d = js(log)
        return d if d and d["delivered"] >= 4 and d["deferred"] >= 1 and d["bounced"] >= 1 \
            and d["failed_logins"] >= 3 else None
    d = wait_for(settled, 60, 0.5)
    t.ok(d, "the log gets every event", y.log()[-3000:])
    if not d:
        t.done()
    t.ok(d["received"] >= 6, "received: 4 over SMTP, 2 by sendmail (plus any bounce notices)", d)
    t.ok(d["delivered_local"] >= 4, "delivered locally")
    t.eq(d["deferred_messages"], 1, "one message deferred")
    t.ok(any("4.4.1" in r and "Connection refused" in r for r, n in d["deferred_by_reason"]),
         "deferral reason", d["deferred_by_reason"])
    t.ok(any("no mail here" in r for r, n in d["bounced_by_reason"]), "bounce reason", d["bounced_by_reason"])
    t.eq(d["rejected"], 1, "one rejection")
    t.ok(d["rejected_by_reason"] and d["rejected_by_reason"][0][0].startswith("RCPT: 550 5.1.1 ")
         and "nobody@" not in d["rejected_by_reason"][0][0], "rejected by reason, addresses left out",
         d["rejected_by_reason"])
    t.eq(d["top_senders"][0], ["alice@client.test", 3], "top sender")
    t.eq(d["top_recipients"][0], ["demo@example.test", 4], "top recipient")
    t.eq(d["failed_logins_by_ip"], [["127.0.0.1", 3]], "failed logins by client address")
    t.ok(any("bad password" in r for r, n in d["failed_logins_by_reason"]), "failed logins by reason",
         d["failed_logins_by_reason"])

    r = summ(log)
    text = r.stdout.decode()
    t.ok(r.returncode == 0 and "Grand Totals" in text and "Rejected, by reason" in text
         and "Failed logins by client address" in text, "text report has every section", text)
    t.ok(any(l.split() == ["3", "alice@client.test"] for l in text.splitlines()),
         "text report lists the top sender with its count")

    with open(log, "rb") as f:
        raw = f.read()
    # the same lines as syslog writes them
    prefixed = b"".join(b"Nov 22 23:55:41 mail " + l.replace(b": ", b"[4242]: ", 1) + b"\n"
                        for l in raw.splitlines() if l)
    d2 = js(prefixed)
    t.eq({k: d2[k] for k in ("received", "delivered", "deferred", "bounced", "rejected", "failed_logins")},
         {k: d[k] for k in ("received", "delivered", "deferred", "bounced", "rejected", "failed_logins")},
         "a syslog prefix changes nothing")
    t.eq(js(prefixed, "--top", "1")["top_senders"], [["alice@client.test", 3]], "--top N limits the lists")

pf = b"""Nov 22 10:00:00 mail postfix/smtpd[100]: connect from unknown[198.51.100.7]
Nov 22 10:00:01 mail postfix/smtpd[100]: NOQUEUE: reject: RCPT from unknown[198.51.100.7]: 554 5.7.1 <x@elsewhere.example>: Relay access denied; from=<spam@bad.example> to=<x@elsewhere.example> proto=ESMTP helo=<bad>
Nov 22 10:00:02 mail postfix/smtpd[100]: warning: unknown[198.51.100.7]: SASL LOGIN authentication failed: UGFzc3dvcmQ6
Nov 22 10:00:03 mail postfix/qmgr[50]: 3EDA640AEC: from=<mailuser1@unix-power.net>, size=400, nrcpt=1 (queue active)
Nov 22 10:00:03 mail postfix/local[60]: 3EDA640AEC: to=<mailuser2@unix-power.net>, relay=local, delay=0.1, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to maildir)
"""
d = js(pf)
t.ok(d and d["received"] == 1 and d["delivered"] == 1 and d["rejected"] == 1 and d["failed_logins"] == 1,
     "Postfix's own log lines are summarised too", d)
t.ok(d and d["rejected_by_reason"][0][0] == "RCPT: 554 5.7.1 Relay access denied", "Postfix relay denial", d)
t.eq(summ("/nonexistent/maillog").returncode, 100, "an unreadable file: exit 100")
t.eq(summ("--bogus").returncode, 100, "bad usage: exit 100")
t.done()
