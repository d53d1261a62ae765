#!/usr/bin/env python3
"""Real SMTP clients against yubin-smtpd in a yubin-run instance: python
smtplib, swaks (with pipelining) and curl send mail that ends in the
Maildir; SIZE, 8BITMIME and DSN as the clients use them; size and
recipient limits; SMTP smuggling on the wire; garbage, NUL bytes, overlong
lines and a client that vanishes mid-DATA leave nothing behind and the next
connection works; the tarpit slows a bad client down and then drops it."""
import os, smtplib, socket, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Tap, Instance, wait_for, maildir_messages, queue_tmp_files

t = Tap()
RCPT = "postmaster@example.test"   # an alias of demo@example.test


def raw(y):
    s = socket.create_connection(("127.0.0.1", y.port("smtp")), timeout=60)
    f = s.makefile("rb")

    def reply():
        lines = []
        while True:
            l = f.readline()
            if not l:
                raise EOFError("connection closed")
            l = l.decode("latin-1").rstrip("\r\n")
            lines.append(l)
            if len(l) < 4 or l[3] != "-":
                return int(l[:3]), lines
    return s, reply


def hangup(s):
    """close for real: the makefile() reader would keep the socket open"""
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()


def delivered(y, marker, timeout=60):
    """the delivered messages holding marker (waits for at least one)"""
    box = y.maildir("demo@example.test")
    wait_for(lambda: any(marker in m for m in maildir_messages(box).values()), timeout)
    return [m for m in maildir_messages(box).values() if marker in m]


def swaks(y, *args):
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(y.port("smtp")), "--helo", "swaks.example.org",
                        "--from", "sender@example.org", "--timeout", "60"] + list(args),
                       capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout + r.stderr


with Instance() as y:
    # --- python smtplib: a message from client to Maildir -------------------
    s = smtplib.SMTP("127.0.0.1", y.port("smtp"), timeout=60)
    s.ehlo("smtplib.example.org")
    for ext in ("pipelining", "size", "8bitmime", "dsn", "enhancedstatuscodes", "etrn", "vrfy"):
        t.ok(s.has_extn(ext), f"EHLO advertises {ext.upper()}")
    msg = b"From: a@example.org\r\nTo: postmaster@example.test\r\nSubject: smtplib-1\r\n\r\nhello from smtplib\r\n.dot line\r\n"
    code, text = s.mail("a@example.org")
    t.eq(code, 250, "smtplib MAIL 250")
    s.rcpt(RCPT)
    code, text = s.data(msg)
    qid = text.decode().rsplit(" ", 1)[-1]
    t.ok(code == 250 and text.startswith(b"2.0.0 Ok: queued as "), "smtplib DATA: 250 2.0.0 Ok: queued as ID", text)
    s.quit()
    got = delivered(y, b"smtplib-1")
    t.eq(len(got), 1, "smtplib message delivered to the Maildir")
    m = got[0] if got else b""
    t.ok(b"\tby localhost with ESMTP id " + qid.encode() in m, "delivered with our Received header (queue id)", m[:400])
    t.ok(b"\n.dot line\n" in m and b"\r\n" not in m, "dot-stuffing undone, stored with LF", m[-80:])
    # the client's name: PTR of 127.0.0.1, confirmed by its A record (/etc/hosts)
    try:
        name = socket.gethostbyaddr("127.0.0.1")[0]
        confirmed = "127.0.0.1" in socket.gethostbyname_ex(name)[2]
    except OSError:
        name, confirmed = None, False
    if confirmed:
        t.ok(f"connect from {name}[127.0.0.1]" in y.log(), f"forward-confirmed reverse name {name} logged",
             y.log()[-600:])
        t.ok(f"({name} [127.0.0.1])".encode() in m, "and in the Received header", m[:300])
    else:
        t.skip("forward-confirmed reverse name", "127.0.0.1 has no confirmed name here")
        t.skip("and in the Received header", "127.0.0.1 has no confirmed name here")

    # 8BITMIME and DSN the way smtplib sends them
    s = smtplib.SMTP("127.0.0.1", y.port("smtp"), timeout=60)
    body = "Subject: smtplib-8bit\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\u90f5\u4fbf\r\n".encode()
    refused = s.sendmail("a@example.org", [RCPT], body, mail_options=["BODY=8BITMIME", "RET=HDRS", "ENVID=e1"],
                         rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;postmaster@example.test"])
    s.quit()
    t.eq(refused, {}, "smtplib: BODY=8BITMIME, RET, ENVID, NOTIFY, ORCPT accepted")
    got = delivered(y, b"smtplib-8bit")
    t.ok(got and "\u90f5\u4fbf".encode() in got[0], "8-bit body delivered intact")

    # --- swaks with pipelining ---------------------------------------------
    code, out = swaks(y, "--pipeline", "--to", RCPT + ",nobody@example.test,abuse@example.test",
                      "--header", "Subject: swaks-pipe", "--body", "pipelined by swaks")
    t.ok("<-  250-PIPELINING" in out, "swaks sees PIPELINING", out)
    t.ok("250 2.0.0 Ok: queued as" in out, "swaks --pipeline: message queued", out)
    t.ok("550 5.1.1 <nobody@example.test>" in out, "swaks --pipeline: the unknown recipient refused in place", out)
    t.ok(len(delivered(y, b"swaks-pipe")) >= 1, "swaks message delivered")

    # --- curl ------------------------------------------------------------------
    with tempfile.NamedTemporaryFile("wb", suffix=".eml", delete=False) as f:
        f.write(b"From: c@example.org\r\nTo: postmaster@example.test\r\nSubject: curl-1\r\n\r\nfrom curl\r\n")
    r = subprocess.run(["curl", "-sS", "--max-time", "60", f"smtp://127.0.0.1:{y.port('smtp')}/curl.example.org",
                        "--mail-from", "c@example.org", "--mail-rcpt", RCPT, "-T", f.name, "-v"],
                       capture_output=True, text=True, timeout=120)
    t.ok(r.returncode == 0 and "250 2.0.0 Ok: queued as" in r.stderr, "curl smtp:// upload queued", r.stderr[-600:])
    t.eq(len(delivered(y, b"curl-1")), 1, "curl message delivered")

    # --- size limit: at MAIL (SIZE=) and during DATA -----------------------------
    y.control("message_size_limit", "4000")
    s = smtplib.SMTP("127.0.0.1", y.port("smtp"), timeout=60)
    big = b"Subject: too-big-1\r\n\r\n" + (b"x" * 76 + b"\r\n") * 100
    try:
        s.sendmail("a@example.org", [RCPT], big)
        t.ok(False, "smtplib: oversized message refused at MAIL SIZE=")
    except smtplib.SMTPSenderRefused as e:
        t.eq((e.smtp_code, e.smtp_error), (552, b"5.3.4 Message size exceeds fixed limit"),
             "smtplib: oversized message refused at MAIL SIZE= with 552 5.3.4")
    s.quit()
    code, out = swaks(y, "--to", RCPT, "--header", "Subject: too-big-2", "--body", "y" * 8000)
    t.ok("<** 552 5.3.4 Message size exceeds fixed limit" in out, "swaks (no SIZE=): 552 5.3.4 after the data", out[-500:])
    y.control("message_size_limit", None)

    # --- recipient limit --------------------------------------------------------
    y.control("smtpd_recipient_limit", "2")
    s = smtplib.SMTP("127.0.0.1", y.port("smtp"), timeout=60)
    refused = s.sendmail("a@example.org", [RCPT, "abuse@example.test", "hostmaster@example.test"],
                         b"Subject: rcpt-limit\r\n\r\nx\r\n")
    s.quit()
    t.eq(refused, {"hostmaster@example.test": (452, b"4.5.3 Error: too many recipients")},
         "smtpd_recipient_limit: the third recipient gets 452 4.5.3, the message goes to the first two")
    y.control("smtpd_recipient_limit", None)

    # --- SMTP smuggling on the wire ------------------------------------------------
    s, reply = raw(y)
    reply()
    s.sendall(b"EHLO smuggler.example.org\r\n")
    reply()
    s.sendall(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<postmaster@example.test>\r\nDATA\r\n")
    codes = [reply()[0] for _ in range(3)]
    s.sendall(b"Subject: smuggle-outer\r\n\r\nouter\n.\nMAIL FROM:<admin@example.test>\r\nRCPT TO:<postmaster@example.test>\r\n"
              b"DATA\r\nSubject: smuggled-inner\r\n\r\ninner\r\n.\r\nNOOP\r\n")
    c1 = reply()
    c2 = reply()
    t.ok(codes == [250, 250, 354] and c1[0] == 550 and "bare <LF>" in c1[1][0] and c2[0] == 250,
         "bare LF inside DATA: one 550 5.5.2, then only NOOP's 250", (codes, c1, c2))
    s.sendall(b"QUIT\r\n")
    reply()
    hangup(s)
    # a later message through the same queue: once it is delivered, the
    # smuggled one would have been too
    with smtplib.SMTP("127.0.0.1", y.port("smtp"), timeout=60) as c:
        c.sendmail("a@example.org", [RCPT], b"Subject: after-smuggle\r\n\r\nx\r\n")
    delivered(y, b"after-smuggle")
    box = maildir_messages(y.maildir("demo@example.test")).values()
    t.ok(not any(b"smuggled-inner" in m or b"smuggle-outer" in m for m in box), "nothing of the smuggling message delivered")

    # --- garbage, NUL, overlong line, vanishing client; then a clean send ---------
    s, reply = raw(y)
    reply()
    s.sendall(b"\x00\x01\x02garbage\r\n")
    a = reply()[0]
    s.sendall(b"EHLO " + b"z" * 10000 + b"\r\n")
    b = reply()[0]
    s.sendall(os.urandom(3000).replace(b"\n", b"") + b"\r\n")
    c = reply()[0]
    t.ok((a, b) == (500, 500) and c in (500, 502), "NUL, overlong and random-byte lines get 50x", (a, b, c))
    hangup(s)
    s, reply = raw(y)
    reply()
    s.sendall(b"EHLO gone.example.org\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<postmaster@example.test>\r\nDATA\r\n")
    [reply() for _ in range(4)]
    s.sendall(b"Subject: vanished-mid-data\r\n\r\n" + b"partial " * 1000)
    hangup(s)
    t.ok(wait_for(lambda: "lost connection after DATA from" in y.log(), 30), "log: lost connection after DATA")
    with smtplib.SMTP("127.0.0.1", y.port("smtp"), timeout=60) as c:
        refused = c.sendmail("a@example.org", [RCPT], b"Subject: after-garbage\r\n\r\nx\r\n")
    t.eq(refused, {}, "the next connection works")
    delivered(y, b"after-garbage")
    box = maildir_messages(y.maildir("demo@example.test")).values()
    t.ok(not any(b"vanished-mid-data" in m for m in box), "the vanished client's message was not delivered")
    t.ok(wait_for(lambda: not queue_tmp_files(y.root), 30), "queue/tmp holds nothing but spares",
         queue_tmp_files(y.root))

    # --- tarpit on the wire ---------------------------------------------------------
    y.control("smtpd_soft_error_limit", "1")
    y.control("smtpd_error_sleep_time", "1s")
    y.control("smtpd_hard_error_limit", "3")
    s, reply = raw(y)
    reply()
    start = time.time()
    codes = []
    for _ in range(3):
        s.sendall(b"XYZZY\r\n")
        codes.append(reply()[0])
    took = time.time() - start
    last = reply()
    t.ok(codes == [502, 502, 502] and took >= 2.0, f"errors past the soft limit are delayed ({took:.1f}s for 3)", codes)
    t.eq(last, (421, ["421 4.7.0 localhost Error: too many errors"]), "421 at the hard limit")
    try:
        t.eq(s.recv(10), b"", "and the server hung up")
    except OSError:
        t.ok(True, "and the server hung up")
    hangup(s)
t.done()
