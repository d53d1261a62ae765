#!/usr/bin/env python3
"""Header and log injection: the HELO name, the AUTH login and the
envelope addresses are copied into the Received: header and into log
lines. A CR, LF or other control byte smuggled through any of them could
start a forged header (X-Injected:) or a forged log line (fooling log
readers such as fail2ban). Each must be refused at the command, and
neither the delivered message nor the maillog may hold a line that
starts with the injected text."""
import base64, os, sys
sys.path.insert(0, os.path.dirname(__file__))
from seclib import Conn, smtp_open, wait_subject  # noqa: E402
from yubintest import Tap, Instance, maildir_messages  # noqa: E402

t = Tap()


def b64(s):
    return base64.b64encode(s).decode()


def submission(y):
    """587 after STARTTLS: where AUTH is offered"""
    c = smtp_open(y.port("submission"))
    c.cmd("STARTTLS")
    c.starttls()
    c.cmd("EHLO client.test")
    return c


with Instance() as y:
    y.control("smtpd_sasl_authenticated_header", "yes")
    box = y.maildir("demo@example.test")
    # HELO: a bare CR, a tab, a NUL, an 8-bit byte
    for why, helo in (("bare CR", b"evil\rX-Injected: helo"), ("bare LF inside CRLF line", b"evil\nX-Injected: helo"),
                      ("tab", b"evil\tX-Injected:"), ("NUL", b"evil\x00X-Injected"), ("8-bit", b"evil\xff")):
        c = Conn(y.port("smtp"))
        c.reply()
        c.send(b"EHLO " + helo + b"\r\n")
        r = c.reply()
        if why == "bare LF inside CRLF line":
            # the LF ends the EHLO line; "X-Injected: helo" is then a command
            r2 = c.reply()
            # (an unknown command, or Postfix's 221 for a "Header:" line)
            t.ok(r2 and r2[-1][:3] in ("221", "500", "502"), f"HELO {why}: the rest is never a header", [r, r2])
        else:
            t.ok(r and r[-1][:1] == "5", f"HELO with {why} refused", r)
        c.close()
    # AUTH: login names with CR/LF/NUL in PLAIN and LOGIN (loopback may log in without TLS)
    for why, mech, data in (
            ("PLAIN login with CRLF", "PLAIN", b"\0demo@example.test\r\nX-Injected: auth\0demo"),
            ("PLAIN login with LF", "PLAIN", b"\0demo\nX-Injected: auth\0demo"),
            ("PLAIN authzid with CR", "PLAIN", b"x\rX-Injected: authz\0demo@example.test\0demo")):
        c = submission(y)
        r = c.cmd(f"AUTH {mech} {b64(data)}")
        t.ok(r and r[-1][:3] in ("501", "535"), f"AUTH {why} refused", r)
        c.close()
    c = submission(y)
    r0 = c.cmd("AUTH LOGIN")
    r1 = c.cmd(b64(b"demo@example.test\r\nX-Injected: login"))
    r = r1 if r1 and r1[-1][:1] != "3" else c.cmd(b64(b"demo"))
    t.ok(r0 and r0[-1].startswith("334") and r and r[-1][:3] in ("501", "535"),
         "AUTH LOGIN user name with CRLF refused", [r0, r1, r])
    c.close()
    # an authenticated session puts the login into Received: — a real login is fine
    c = submission(y)
    r = c.cmd("AUTH PLAIN " + b64(b"\0demo@example.test\0demo"))
    t.ok(r and r[-1].startswith("235"), "AUTH PLAIN demo works (so the refusals above were about the bytes)", r)
    r = c.cmd(b"MAIL FROM:<\"x\rX-Injected: from\"@client.test>\r\n")
    t.ok(r and r[-1][:1] == "5", "MAIL FROM with a bare CR in a quoted local part refused", r)
    r = c.cmd("MAIL FROM:<demo@example.test>")
    r = c.cmd(b"RCPT TO:<demo\x0bX-Injected@example.test>\r\n")
    t.ok(r and r[-1][:1] == "5", "RCPT TO with a control byte refused", r)
    c.cmd("RCPT TO:<demo@example.test>")
    c.cmd("DATA")
    r = c.cmd(b"Subject: header-injection-probe\r\n\r\nbody\r\n.\r\n")
    t.ok(r and r[-1].startswith("250"), "the clean message is queued", r)
    c.cmd("QUIT")
    c.close()
    t.ok(wait_subject(box, "header-injection-probe", 60), "and delivered")
    heads = [d.split(b"\n\n", 1)[0] for d in maildir_messages(box).values()]
    forged = [h for h in heads if any(ln.lower().startswith(b"x-injected") for ln in h.split(b"\n"))]
    t.ok(heads and not forged, "no delivered message has a forged header line", forged)
    t.ok(any(b"Authenticated sender: demo@example.test" in h for h in heads),
         "the Received: header names the login (so the check above saw it)", heads)
    log = y.log()
    bad = [ln for ln in log.splitlines() if "X-Injected" in ln.split(":", 1)[0] or ln.lstrip().lower().startswith("x-injected")]
    t.ok(not bad, "no log line starts with injected text", bad)
    t.ok(all("\r" not in ln for ln in log.splitlines()), "no CR in the log")
t.done()
