#!/usr/bin/env python3
"""Envelope data never reaches a shell (OpenSMTPD CVE-2020-7247 class):
MAIL FROM and RCPT TO carrying shell metacharacters — backticks, $( ),
|, ;, quotes — are either refused or carried as inert data. The message
goes to an alias that runs a |command through /bin/sh (the path where a
sender once became part of a command line) and to a Maildir; no marker
file the addresses try to create may appear, and the Return-Path that
local delivery writes stays one header line. A bare CR or an xtext
CR/LF in the envelope is refused outright (it could split a record or a
header)."""
import glob, os, sys, tempfile, time
sys.path.insert(0, os.path.dirname(__file__))
from seclib import smtp_open  # noqa: E402
from yubintest import Tap, Instance, maildir_messages, wait_for  # noqa: E402

t = Tap()
out = tempfile.mkdtemp(prefix="yubin-sec-shell-")
os.chmod(out, 0o1777)  # alias programs run as default_privs (nobody) under root
M = out + "/PWNED"
SENDERS = [
    # ${IFS} stands for a space, which would end an unquoted path
    ("backticks", f"<`touch${{IFS}}{M}1`@client.test>"),
    ("$( ) quoted", f"<\"$(touch {M}2)\"@client.test>"),
    ("${IFS} expansion", f"<x;touch${{IFS}}{M}3;@client.test>"),
    ("pipe", f"<|touch${{IFS}}{M}4@client.test>"),
    ("quoted ; and spaces", f"<\"x;touch {M}5;\"@client.test>"),
    ("quoted quote breakout", f"<\"x\\\"; touch {M}6 #\"@client.test>"),
    ("single quotes", f"<'`touch${{IFS}}{M}7`'@client.test>"),
    ("dash option", f"<-oProxyCommand=touch${{IFS}}{M}8@client.test>"),
]
try:
    with Instance() as y:
        y.map("aliases", f"shell: \"|cat >> {out}/piped\"\n")
        box = y.maildir("demo@example.test")
        accepted = 0
        for why, sender in SENDERS:
            c = smtp_open(y.port("smtp"))
            r = c.cmd("MAIL FROM:" + sender)
            if r and r[-1].startswith("250"):
                a = c.cmd("RCPT TO:<shell@example.test>")
                b = c.cmd("RCPT TO:<demo@example.test>")
                c.cmd("DATA")
                d = c.cmd(f"Subject: meta-{why}\r\n\r\nbody\r\n.\r\n".encode())
                ok = a[-1].startswith("250") and b[-1].startswith("250") and d[-1].startswith("250")
                accepted += ok
                t.ok(ok, f"{why}: accepted as inert data {sender}", [a, b, d])
            else:
                t.ok(r and r[-1][:1] == "5", f"{why}: refused {sender}", r)
            c.cmd("QUIT")
            c.close()
        # control bytes in the envelope: refused before they reach anything
        c = smtp_open(y.port("smtp"))
        r = c.cmd(b"MAIL FROM:<a\rX-Injected: yes@client.test>\r\n")
        t.ok(r and r[-1][:1] == "5", "bare CR inside MAIL FROM refused", r)
        r = c.cmd("MAIL FROM:<ok@client.test> ENVID=x+0D+0AX-Injected:+20yes")
        t.ok(r and r[-1][:1] == "5", "xtext CR LF in ENVID refused", r)
        c.cmd("RSET")
        r = c.cmd("MAIL FROM:<ok@client.test>")
        r = c.cmd("RCPT TO:<demo@example.test> ORCPT=rfc822;x+0AX-Injected:+20yes@example.test")
        t.ok(r and r[-1][:1] == "5", "xtext LF in ORCPT refused", r)
        c.cmd("QUIT")
        c.close()
        # delivery happened (or was tried) for every accepted message
        t.ok(wait_for(lambda: len(maildir_messages(box)) >= accepted, 60),
             f"all {accepted} accepted messages reached the Maildir")
        deadline = time.time() + 60
        while time.time() < deadline:
            n = open(out + "/piped", "rb").read().count(b"Subject: meta-") if os.path.exists(out + "/piped") else 0
            if n >= accepted:
                break
            time.sleep(0.2)
        t.eq(n, accepted, "the |command alias got every accepted message")
        t.eq(sorted(glob.glob(M + "*")), [], "no metacharacter ever ran as a command")
        bad = []
        for name, data in maildir_messages(box).items():
            head = data.split(b"\n\n", 1)[0]
            rp = [ln for ln in head.split(b"\n") if ln.lower().startswith(b"return-path:")]
            if len(rp) != 1 or b"x-injected" in head.lower():
                bad.append((name, head[:300]))
        t.ok(not bad, "every Return-Path is one line, no injected header", bad)
finally:
    for f in glob.glob(out + "/*"):
        os.unlink(f)
    os.rmdir(out)
t.done()
