#!/usr/bin/env python3
"""SMTP smuggling (CVE-2023-51764/51765/51766 class): a client hides a
second message inside the first behind an end-of-data sequence that some
hop reads differently from "<CRLF>.<CRLF>". Whatever yubin-smtpd does with
the carrier (550 bare LF/CR by default, or the bytes kept as data), the
hidden MAIL/RCPT/DATA must never run as commands: one 354 per DATA, no
second "queued", and no delivered message carrying the hidden Subject."""
import os, sys
sys.path.insert(0, os.path.dirname(__file__))
from seclib import smtp_open, subjects, wait_subject  # noqa: E402
from yubintest import Tap, Instance  # noqa: E402

# each variant: (name, the fake end-of-data the attacker hopes a hop honours)
VARIANTS = [
    ("bare LF end <LF>.<LF>", b"\n.\n"),
    ("bare CR end <CR>.<CR>", b"\r.\r"),
    ("<LF>.<CRLF>", b"\n.\r\n"),
    ("<CRLF>.<LF>", b"\r\n.\n"),
    ("<CR>.<CRLF>", b"\r.\r\n"),
    ("<CRLF>.<CR><LF> split by a NUL", b"\r\n.\x00\r\n"),
]

t = Tap()
with Instance() as y:
    box = y.maildir("demo@example.test")
    for mode in ("yes", "normalize"):
        # default: refuse bare newlines; normalise: Postfix's "normalize" mode
        y.control("smtpd_forbid_bare_newline", mode)
        for i, (name, fake) in enumerate(VARIANTS):
            tagname = f"{mode}-{i}"
            c = smtp_open(y.port("smtp"))
            c.cmd("MAIL FROM:<sender@client.test>")
            c.cmd("RCPT TO:<demo@example.test>")
            first = c.cmd("DATA")
            hidden = (b"MAIL FROM:<evil@client.test>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\n"
                      b"Subject: smuggled-" + tagname.encode() + b"\r\n\r\nhidden\r\n.\r\n")
            c.send(b"Subject: carrier-" + tagname.encode() + b"\r\n\r\ncarrier" + fake + hidden)
            c.send(b"QUIT\r\n")
            replies = []
            while True:
                r = c.reply(timeout=20)
                if not r:
                    break
                replies.append(r[-1])
                if r[-1].startswith("221"):
                    break
            c.close()
            n354 = sum(1 for r in [first[-1]] + replies if r.startswith("354"))
            queued = sum(1 for r in replies if r.startswith("250") and "queued" in r)
            t.ok(n354 == 1 and queued <= 1 and not any(r.startswith("354") for r in replies),
                 f"{name} ({mode}): the hidden commands are never obeyed", replies)
    # a sentinel after everything: once it is in, the rest had their chance
    c = smtp_open(y.port("smtp"))
    c.cmd("MAIL FROM:<sender@client.test>")
    c.cmd("RCPT TO:<demo@example.test>")
    c.cmd("DATA")
    c.cmd(b"Subject: sentinel\r\n\r\nlast\r\n.\r\n")
    c.cmd("QUIT")
    t.ok(wait_subject(box, "sentinel", 60), "sentinel delivered")
    got = subjects(box)
    t.ok(not any(s.startswith("smuggled") for s in got), "no smuggled message was delivered", got)
    # the normalising mode keeps carriers; the hidden text stays inside them
    t.ok(any(s.startswith("carrier-normalize") for s in got), "normalize mode delivered its carriers", got)
t.done()
