#!/usr/bin/env python3
"""STARTTLS command injection (CVE-2011-0411 class): a man in the middle
appends a command to the client's STARTTLS in the same packet; if the
server reads it from its plaintext buffer after the handshake, the
attacker's command runs inside the encrypted session. For SMTP STARTTLS,
POP3 STLS and IMAP STARTTLS the pipelined bytes must be discarded: the
first answer inside TLS is the answer to the first command sent inside
TLS (or the server refuses and hangs up, which is safe too)."""
import os, ssl, sys
sys.path.insert(0, os.path.dirname(__file__))
from seclib import Conn  # noqa: E402
from yubintest import Tap, Instance, BIN  # noqa: E402

t = Tap()


def tls_or_none(c):
    try:
        c.starttls()
        return True
    except (ssl.SSLError, OSError):
        return False


with Instance() as y:
    # SMTP: the injected RSET would answer "250 2.0.0 Ok" before our EHLO
    for port in ("smtp", "submission"):
        c = Conn(y.port(port))
        c.reply()
        c.cmd("EHLO client.test")
        c.send(b"STARTTLS\r\nRSET\r\nMAIL FROM:<evil@client.test>\r\n")
        ready = c.reply()
        if ready and ready[-1].startswith("220") and tls_or_none(c):
            first = c.cmd("EHLO client.test")
            t.ok(first and first[0].startswith("250-"), f"{port}: injected SMTP commands after STARTTLS are discarded",
                 first)
            nxt = c.cmd("NOOP")
            t.ok(nxt and nxt[-1].startswith("250"), f"{port}: the TLS session goes on in step", nxt)
        else:
            t.ok(True, f"{port}: STARTTLS with pipelined bytes refused ({ready})")
            t.ok(True, f"{port}: nothing more to check")
        c.close()

    # POP3: an injected QUIT would end the session inside TLS
    if os.path.exists(os.path.join(BIN, "yubin-pop3d")):
        c = Conn(y.port("pop3"))
        c.line()
        c.send(b"STLS\r\nQUIT\r\n")
        ready = c.line()
        if ready and ready.startswith(b"+OK") and tls_or_none(c):
            c.send(b"CAPA\r\n")
            first = c.line()
            t.ok(first is not None and first.startswith(b"+OK Capability"), "POP3: injected command after STLS discarded",
                 first)
        else:
            t.ok(True, f"POP3: STLS with pipelined bytes refused ({ready})")
        c.close()
    else:
        t.skip("POP3 STLS injection", "no yubin-pop3d")

    # IMAP: an injected LOGOUT would answer "* BYE" and "b OK" inside TLS
    if os.path.exists(os.path.join(BIN, "yubin-imapd")):
        c = Conn(y.port("imap"))
        c.line()
        c.send(b"a STARTTLS\r\nb LOGOUT\r\n")
        ready = c.tag("a")
        if ready and ready[-1].startswith("a OK") and tls_or_none(c):
            c.send(b"c CAPABILITY\r\n")
            got = c.tag("c", timeout=20)
            t.ok(got and got[0].startswith("* CAPABILITY") and got[-1].startswith("c OK")
                 and not any(g.startswith("b ") or g.startswith("* BYE") for g in got),
                 "IMAP: injected command after STARTTLS discarded", got)
        else:
            t.ok(True, f"IMAP: STARTTLS with pipelined bytes refused ({ready})")
        c.close()
    else:
        t.skip("IMAP STARTTLS injection", "no yubin-imapd")
t.done()
