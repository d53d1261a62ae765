#!/usr/bin/env python3
"""SMTPUTF8 (RFC 6531) end to end, with CHUNKING between yubin instances:
smtplib with mail_options=['SMTPUTF8'] delivers to a UTF-8 virtual user
(local part and domain) in its Maildir, with Delivered-To and "with
UTF8SMTP"; UTF-8 addresses without SMTPUTF8 get 553 5.6.7, malformed
UTF-8 gets 501; yubin-remote relays to a second yubin instance with
SMTPUTF8 and BDAT (one chunk, and two for a message over 1 MiB); to a
server without SMTPUTF8 (tests/lib/smtpsink.py) a message that needs it
bounces with 5.6.7, one that does not (ASCII envelope and header) is sent."""
import email, email.policy, os, smtplib, socket, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, Instance, maildir_messages, wait_for, wait_messages
from smtpsink import Sink

t = Tap()

U_LOCAL = "ユーザー@example.test"        # UTF-8 local part
U_BOTH = "用户@例え.テスト"               # UTF-8 local part and domain (U-labels)
U_REMOTE = "ユーザー@other.test"         # at instance B


def raw_session(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    f = s.makefile("rb")

    def cmd(line):
        if line is not None:
            s.sendall(line + b"\r\n")
        out = []
        while True:
            l = f.readline()
            out.append(l.decode("utf-8", "replace").rstrip("\r\n"))
            if l[3:4] != b"-":
                return int(out[0][:3]), out

    cmd(None)
    return s, cmd


def bounces(y, addr):
    out = []
    for data in maildir_messages(y.maildir(addr)).values():
        m = email.message_from_bytes(data, policy=email.policy.default)
        if m.get_content_type() == "multipart/report":
            out.append(m.as_string())
    return out


with Instance() as b, Instance() as a, Sink() as sink:
    for addr in (U_LOCAL, U_BOTH):
        a.run("yubin-user", "add", addr, input=b"pw\n")
    # demo@example.test exists in every fresh instance
    b.run("yubin-user", "add", U_REMOTE, input=b"pw\n")
    a.map("transport", "other.test smtp:[127.0.0.1]:%d\nsink.test smtp:[127.0.0.1]:%d\n"
          % (b.port("smtp"), sink.port))

    # --- local delivery to UTF-8 users ---------------------------------------
    msg = ("From: <demo@example.test>\r\nSubject: =?utf-8?b?5LqG?=\r\nMessage-ID: <u8-1@example.test>\r\n\r\n"
           "UTF-8 body: こんにちは\r\n").encode()
    with smtplib.SMTP("127.0.0.1", a.port("smtp"), timeout=60) as c:
        c.ehlo("client.example.org")
        t.ok(c.has_extn("smtputf8") and c.has_extn("chunking"), "EHLO offers SMTPUTF8 and CHUNKING")
        refused = c.sendmail("demo@example.test", [U_LOCAL, U_BOTH], msg, mail_options=["SMTPUTF8"])
        t.eq(refused, {}, "smtplib with SMTPUTF8: both UTF-8 recipients accepted")
    for addr in (U_LOCAL, U_BOTH):
        got = wait_messages(a.maildir(addr), 1, timeout=60)
        data = b"".join(got.values())
        t.ok(("Delivered-To: " + addr).encode() in data, "in the Maildir of %s, with Delivered-To" % addr,
             data[:400])
    t.ok(os.path.isdir(os.path.join(a.root, "mail", "例え.テスト", "用户")), "the Maildir path is the UTF-8 address")
    t.ok(b"with UTF8SMTP id" in data, "Received: with UTF8SMTP (RFC 6531 3.7.3)", data[:400])

    # --- refusals ---------------------------------------------------------------
    s, cmd = raw_session(a.port("smtp"))
    cmd(b"EHLO client.example.org")
    t.eq(cmd(b"MAIL FROM:<" + U_LOCAL.encode() + b">")[0], 553, "UTF-8 sender without SMTPUTF8: 553")
    c, text = cmd(b"MAIL FROM:<demo@example.test>")
    c, text = cmd(b"RCPT TO:<" + U_LOCAL.encode() + b">")
    t.ok(c == 553 and "5.6.7" in text[0], "UTF-8 recipient without SMTPUTF8: 553 5.6.7", text)
    cmd(b"RSET")
    c, text = cmd(b"MAIL FROM:<\xc0\xafx@example.org> SMTPUTF8")
    t.ok(c == 501 and "5.1.7" in text[0], "overlong UTF-8 in the sender: 501 5.1.7", text)
    cmd(b"MAIL FROM:<demo@example.test> SMTPUTF8")
    c, text = cmd(b"RCPT TO:<\xed\xa0\x80x@example.test>")
    t.ok(c == 501 and "5.1.3" in text[0], "a UTF-16 surrogate in the recipient: 501 5.1.3", text)
    c, text = cmd(b"RCPT TO:<\xe3\x83@example.test>")
    t.ok(c == 501, "a truncated sequence: 501", text)
    t.eq(cmd(b"MAIL FROM:<demo@example.test> SMTPUTF8=yes")[0], 503, "(a transaction is open)")
    cmd(b"RSET")
    t.eq(cmd(b"MAIL FROM:<demo@example.test> SMTPUTF8=yes")[0], 501, "SMTPUTF8 takes no value: 501")
    cmd(b"QUIT")
    s.close()

    # --- relay to instance B: SMTPUTF8 and BDAT ---------------------------------
    with smtplib.SMTP("127.0.0.1", a.port("smtp"), timeout=60) as c:
        c.sendmail("demo@example.test", [U_REMOTE], msg, mail_options=["SMTPUTF8"])
    box = b.maildir(U_REMOTE)
    got = wait_messages(box, 1, timeout=60)
    data = b"".join(got.values())
    t.ok(("Delivered-To: " + U_REMOTE).encode() in data and "こんにちは".encode() in data,
         "relayed through yubin-remote to B's UTF-8 user", data[:400])
    first = data.split(b"Received:", 2)[1] if data.count(b"Received:") >= 2 else b""
    t.ok(b"with UTF8SMTPS id" in first, "B's Received says UTF8SMTPS: yubin-remote sent SMTPUTF8 (over STARTTLS)",
         data[:600])
    t.ok(wait_for(lambda: " bdat=1 " in b.log(), 20), "B's smtpd saw one BDAT (CHUNKING used)", b.log()[-800:])
    t.ok(" data=" not in b.log(), "and no DATA")

    big = msg + b"".join(b"line %06d: padding to make this message longer than one BDAT chunk\r\n" % i
                         for i in range(20000))
    with smtplib.SMTP("127.0.0.1", a.port("smtp"), timeout=60) as c:
        c.sendmail("demo@example.test", [U_REMOTE], big, mail_options=["SMTPUTF8"])
    got = wait_messages(box, 2, timeout=90)
    mine = [v for v in got.values() if b"line 019999" in v]
    t.ok(mine and mine[0].endswith(big.split(b"\r\n\r\n", 1)[1].replace(b"\r\n", b"\n")),
         "a %d-octet message arrives whole" % len(big))
    t.ok(wait_for(lambda: " bdat=2 " in b.log(), 20), "in two BDAT chunks", b.log()[-800:])

    # --- a server without SMTPUTF8 ---------------------------------------------
    with smtplib.SMTP("127.0.0.1", a.port("smtp"), timeout=60) as c:
        c.sendmail("demo@example.test", ["ユーザー@sink.test"], msg, mail_options=["SMTPUTF8"])
    t.ok(wait_for(lambda: any("5.6.7" in x for x in bounces(a, "demo@example.test")), 60),
         "UTF-8 recipient, server without SMTPUTF8: bounced", a.log()[-1500:])
    rep = [x for x in bounces(a, "demo@example.test") if "5.6.7" in x]
    t.ok(rep and "SMTPUTF8 not supported by remote server" in rep[0], "the bounce says why (5.6.7)",
         rep[0][:1500] if rep else "")
    t.ok(not sink.messages and not any(c.startswith("MAIL") for c in sink.commands),
         "the sink got no MAIL command", sink.commands)

    # received with SMTPUTF8, all ASCII: sent as is; UTF-8 in the header: bounced
    with smtplib.SMTP("127.0.0.1", a.port("smtp"), timeout=60) as c:
        c.sendmail("demo@example.test", ["plain@sink.test"], b"Subject: ascii\r\n\r\nascii only\r\n",
                   mail_options=["SMTPUTF8"])
    t.ok(wait_for(lambda: len(sink.messages) == 1, 60), "SMTPUTF8 message with nothing non-ASCII: delivered",
         a.log()[-1000:])
    t.ok(sink.messages and "SMTPUTF8" not in sink.messages[0]["mail"], "without SMTPUTF8 in MAIL FROM",
         sink.messages[:1])
    with smtplib.SMTP("127.0.0.1", a.port("smtp"), timeout=60) as c:
        c.sendmail("demo@example.test", ["plain@sink.test"],
                   "Subject: 件名\r\n\r\nbody\r\n".encode(), mail_options=["SMTPUTF8"])
    t.ok(wait_for(lambda: len([x for x in bounces(a, "demo@example.test") if "5.6.7" in x]) == 2, 60),
         "UTF-8 in the header of an SMTPUTF8 message: bounced 5.6.7 too", a.log()[-1000:])
    t.eq(len(sink.messages), 1, "nothing more reached the sink")
t.done()
