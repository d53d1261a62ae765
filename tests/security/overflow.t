#!/usr/bin/env python3
"""Integer overflow class (qmail's 2020 64-bit CVEs): numbers a client
sends — SMTP SIZE=, IMAP literal lengths and sequence numbers, POP3
message numbers — at and beyond 2^31, 2^32, 2^63 and 2^64 must be refused
or clamped, never wrapped into a small or negative size, and the server
must stay in step (answer the next command) rather than crash. Huge
counts too: thousands of RCPTs end at the recipient limit with 452."""
import os, re, sys
sys.path.insert(0, os.path.dirname(__file__))
from seclib import Conn, smtp_open  # noqa: E402
from yubintest import Tap, Instance, BIN  # noqa: E402

BIG = ["2147483648", "4294967296", "4294967297", "9223372036854775807", "9223372036854775808",
       "18446744073709551615", "18446744073709551616", "99999999999999999999999999999"]
t = Tap()
with Instance() as y:
    y.control("message_size_limit", "1000000")
    c = smtp_open(y.port("smtp"))
    for n in BIG:
        r = c.cmd(f"MAIL FROM:<a@client.test> SIZE={n}")
        # 552 too big (the number was understood) or 501 (refused as syntax)
        t.ok(r and r[-1][:3] in ("552", "501", "555"), f"SIZE={n} refused, not wrapped", r)
        c.cmd("RSET")
    r = c.cmd("MAIL FROM:<a@client.test> SIZE=-1")
    t.ok(r and r[-1][:1] == "5", "SIZE=-1 refused", r)
    c.cmd("RSET")
    r = c.cmd("NOOP")
    t.ok(r and r[-1].startswith("250"), "smtpd still in step", r)
    c.close()

    # thousands of recipients in one transaction, pipelined
    c = smtp_open(y.port("smtp"))
    c.cmd("MAIL FROM:<a@client.test>")
    N = 3000  # distinct recipients (demo+N: extensions of one user); the limit is 1000
    c.send(b"".join(b"RCPT TO:<demo+%d@example.test>\r\n" % i for i in range(N)))
    codes = [c.code(timeout=60) for _ in range(N)]
    t.ok(codes.count(250) >= 1 and codes.count(452) >= 1 and set(codes) <= {250, 452},
         f"{N} RCPTs: accepted up to the limit, then 452 4.5.3", sorted(set(map(str, codes))))
    r = c.cmd("RSET")
    t.ok(r and r[-1].startswith("250"), "and the session goes on", r)
    c.close()

    if os.path.exists(os.path.join(BIN, "yubin-imapd")):
        for n in BIG:
            c = Conn(y.port("imap"))
            c.line()
            c.send(f"a LOGIN {{{n}}}\r\n".encode())
            ln = c.line(timeout=20)
            refused = ln is None or ln.startswith(b"a NO") or ln.startswith(b"a BAD") or ln.startswith(b"* BYE")
            t.ok(refused, f"IMAP literal {{{n}}} refused before any + continuation", ln)
            c.close()
        c = Conn(y.port("imap"))
        c.line()
        c.send(b"a LOGIN demo@example.test demo\r\n")
        c.tag("a")
        c.send(b"b SELECT INBOX\r\n")
        c.tag("b")
        for q in ("4294967296", "1:4294967296", "18446744073709551617,1", "0", "4294967295:*"):
            c.send(f"c FETCH {q} FLAGS\r\n".encode())
            got = c.tag("c", timeout=20)
            t.ok(got and got[-1][:5] in ("c BAD", "c NO ", "c OK "), f"IMAP FETCH {q} answered", got)
        c.send(b"d APPEND INBOX {99999999999999999999+}\r\n")
        ln = c.line(timeout=20)
        t.ok(ln is None or ln.startswith(b"d NO") or ln.startswith(b"d BAD") or ln.startswith(b"* BYE"),
             "IMAP LITERAL+ of 10^20 bytes refused", ln)
        c.close()
    else:
        t.skip("IMAP numbers", "no yubin-imapd")

    if os.path.exists(os.path.join(BIN, "yubin-pop3d")):
        c = Conn(y.port("pop3"))
        c.line()
        c.send(b"USER demo@example.test\r\n")
        c.line()
        c.send(b"PASS demo\r\n")
        ok = c.line()
        t.ok(ok and ok.startswith(b"+OK"), "POP3 login", ok)
        for cmd in ("RETR 18446744073709551617", "LIST 4294967297", "TOP 1 99999999999999999999",
                    "DELE 9223372036854775808", "UIDL 0", "TOP 1 -1"):
            c.send(cmd.encode() + b"\r\n")
            ln = c.line(timeout=20)
            t.ok(ln and ln.startswith(b"-ERR"), f"POP3 {cmd} refused", ln)
        c.send(b"STAT\r\n")
        ln = c.line()
        t.ok(ln and ln.startswith(b"+OK"), "POP3 still in step", ln)
        c.close()
    else:
        t.skip("POP3 numbers", "no yubin-pop3d")
    crashes = [ln for ln in y.log().splitlines()
               if re.search(r"signal (6|11)\b|SIGSEGV|SIGABRT|AddressSanitizer|runtime error", ln)]
    t.ok(not crashes, "no program crashed (maillog)", crashes[:5])
t.done()
