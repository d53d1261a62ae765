#!/usr/bin/env python3
"""yubin-smtpd's protocol, one small conversation per behaviour: commands
and their Postfix replies, the DATA state machine (dot-unstuffing, CRLF.CRLF
only, bare LF/CR, SMTP smuggling), limits, DSN parameters in the envelope,
pipelining, timeouts, the tarpit, and clients that misbehave.

The instance is made by yubin-run and then stopped, so nothing moves mail
out of queue/incoming: every accepted message can be read back exactly, and
"nothing queued" is a directory listing. yubin-smtpd runs on a socketpair
with TCPREMOTEIP set, exactly as tcpserver runs it."""
import os, socket, stat, subprocess, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Tap, Instance, BIN, wait_for, queue_tmp_files
from smtpsession import Session

t = Tap()


def incoming(root):
    d = os.path.join(root, "queue", "incoming")
    return sorted(os.listdir(d))


def queued(root, qid):
    with open(os.path.join(root, "queue", "incoming", qid), "rb") as f:
        raw = f.read()
    env, msg = raw.split(b"\n\n", 1)
    return env.decode().split("\n"), msg


def clear(root):
    for q in ("incoming", "tmp"):
        d = os.path.join(root, "queue", q)
        for f in os.listdir(d):
            os.unlink(os.path.join(d, f))


def start_tx(s, rcpts=("postmaster@example.test",), mail="MAIL FROM:<a@example.org>"):
    s.cmd("EHLO client.example.org")
    s.cmd(mail)
    for r in rcpts:
        s.cmd(f"RCPT TO:<{r}>")


def send_data(s, body):
    c, _ = s.cmd("DATA")
    if c != 354:
        return c, []
    s.send(body)
    return s.reply()


y = Instance()
y.stop()
root = y.root
os.makedirs(os.path.join(root, "log"), exist_ok=True)
ctl = y.control


def log():
    try:
        with open(os.path.join(root, "log", "direct.log"), errors="replace") as f:
            return f.read()
    except OSError:
        return ""


try:
    # --- greeting and EHLO ------------------------------------------------
    s = Session(root)
    t.eq(s.banner, (220, ["localhost ESMTP"]), "banner is $myhostname ESMTP, no software name")
    c, lines = s.cmd("EHLO client.example.org")
    t.eq(c, 250, "EHLO 250")
    t.eq(lines, ["localhost", "PIPELINING", "SIZE 10240000", "VRFY", "ETRN", "STARTTLS", "ENHANCEDSTATUSCODES",
                 "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING"], "EHLO lists the extensions (SIZE = message_size_limit; no AUTH before TLS)")
    t.eq(s.cmd("HELO client.example.org"), (250, ["localhost"]), "HELO 250 myhostname")
    t.eq(s.cmd("NOOP")[0], 250, "NOOP 250")
    t.eq(s.cmd("RSET"), (250, ["2.0.0 Ok"]), "RSET 250 2.0.0")
    t.eq(s.cmd("HELP")[0], 214, "HELP 214")
    t.eq(s.cmd("VRFY postmaster"), (252, ["2.0.0 postmaster"]), "VRFY answers 252")
    t.eq(s.cmd("VRFY"), (501, ["5.5.4 Syntax: VRFY address"]), "VRFY without argument 501")
    t.eq(s.cmd("FOO bar"), (502, ["5.5.2 Error: command not recognized"]), "unknown command 502 5.5.2")
    t.eq(s.cmd(""), (500, ["5.5.2 Error: bad syntax"]), "empty line 500 5.5.2")
    t.eq(s.cmd("QUIT"), (221, ["2.0.0 Bye"]), "QUIT 221")
    t.ok(s.closed(), "connection closed after QUIT")
    s.close()
    t.ok("connect from localhost[127.0.0.1]" in log() or "connect from unknown[127.0.0.1]" in log(),
         "connect line logged with host[ip]", log())
    t.ok("disconnect from " in log() and "quit=1" in log(), "disconnect line with command counts", log())

    ctl("disable_vrfy_command", "yes")
    s = Session(root)
    c, lines = s.cmd("EHLO x.example")
    t.ok("VRFY" not in lines, "disable_vrfy_command drops VRFY from EHLO")
    t.eq(s.cmd("VRFY postmaster")[0], 502, "disabled VRFY 502")
    s.close()
    ctl("disable_vrfy_command", None)

    # --- sequence errors (503 5.5.1) and syntax ----------------------------
    s = Session(root)
    t.eq(s.cmd("MAIL FROM:<a@example.org>"), (503, ["5.5.1 Error: send HELO/EHLO first"]), "MAIL before HELO 503")
    s.cmd("EHLO x.example")
    t.eq(s.cmd("RCPT TO:<postmaster@example.test>"), (503, ["5.5.1 Error: need MAIL command"]), "RCPT before MAIL 503")
    t.eq(s.cmd("DATA"), (503, ["5.5.1 Error: need RCPT command"]), "DATA before MAIL 503")
    t.eq(s.cmd("MAIL TO:<a@example.org>"), (501, ["5.5.4 Syntax: MAIL FROM:<address>"]), "MAIL syntax 501")
    t.eq(s.cmd("MAIL FROM:<a@@example.org>")[0:1], (501,), "bad sender address 501")
    t.eq(s.cmd("MAIL FROM:<a@example.org> FOO=bar"), (555, ["5.5.4 Unsupported option: FOO"]), "unknown MAIL parameter 555")
    t.eq(s.cmd("MAIL FROM:<>"), (250, ["2.1.0 Ok"]), "null sender accepted")
    t.eq(s.cmd("MAIL FROM:<a@example.org>"), (503, ["5.5.1 Error: nested MAIL command"]), "nested MAIL 503")
    t.eq(s.cmd("DATA"), (554, ["5.5.1 Error: no valid recipients"]), "DATA without recipients 554")
    t.eq(s.cmd("RCPT TO:<postmaster>")[0], 250, "RCPT TO:<postmaster> without domain accepted")
    t.eq(s.cmd("RCPT TO:postmaster@example.test")[0], 250, "RCPT without angle brackets accepted")
    t.eq(s.cmd("RCPT TO:<x@example.test> NOTIFY=SOMETIMES"), (501, ["5.5.4 Bad NOTIFY parameter syntax"]),
         "bad NOTIFY 501")
    t.eq(s.cmd("ETRN example.org"), (503, ["5.5.1 Error: MAIL transaction in progress"]), "ETRN inside a transaction 503")
    s.cmd("RSET")
    s.close()

    # --- ETRN writes "fDOMAIN" to the trigger FIFO --------------------------
    fifo = os.path.join(root, "queue", "trigger")
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    s = Session(root)
    s.cmd("EHLO x.example")
    t.eq(s.cmd("ETRN Example.ORG"), (250, ["2.0.0 Queuing started"]), "ETRN 250")
    got = b""
    deadline = time.time() + 20
    while time.time() < deadline and b"\n" not in got:
        try:
            got += os.read(fd, 100)
        except BlockingIOError:
            time.sleep(0.05)
    os.close(fd)
    t.eq(got, b"fexample.org\n", "ETRN asks yubin-qmgr to flush the domain (trigger fexample.org)")
    t.eq(s.cmd("ETRN bad/domain")[0], 501, "ETRN with a bad domain 501")
    s.close()

    # --- a message: Received header, CRLF -> LF, dot-unstuffing --------------
    clear(root)
    s = Session(root)
    start_tx(s)
    c, text = send_data(s, b"Subject: dots\r\n\r\n..leading dot\r\n...\r\n.x\r\nend.\r\n.\r\n")
    t.eq(c, 250, "message accepted")
    qid = text[0].split()[-1] if c == 250 else ""
    t.ok(text[0] == "2.0.0 Ok: queued as " + qid and qid, "250 2.0.0 Ok: queued as QID", text)
    files = incoming(root)
    t.eq(files, [qid], "exactly that message is in queue/incoming")
    env, msg = queued(root, qid)
    t.ok("Sa@example.org" in env and "R postmaster@example.test\t\t" in env, "envelope sender and recipient", env)
    t.ok("C127.0.0.1" in env and "Hclient.example.org" in env, "client address and HELO in the envelope", env)
    hdr = msg.split(b"\n")
    t.ok(hdr[0] in (b"Received: from client.example.org (localhost [127.0.0.1])",
                    b"Received: from client.example.org (unknown [127.0.0.1])"), "Received: from HELO (rdns [ip])", hdr[0])
    t.eq(hdr[1], b"\tby localhost with ESMTP id " + qid.encode(), "Received: by myhostname with ESMTP id QID")
    t.ok(hdr[2].startswith(b"\tfor <postmaster@example.test>; "), "Received: for <rcpt>; date", hdr[2])
    t.eq(b"\n".join(hdr[3:]), b"Subject: dots\n\n.leading dot\n..\nx\nend.\n", "body stored with LF, dots unstuffed, ends at CRLF.CRLF")
    t.eq(s.cmd("NOOP")[0], 250, "session continues after the message")
    s.close()
    t.ok(f"{qid}: client=" in log(), "log: QID: client=host[ip]")

    # two recipients: no "for" clause; second message on the same connection
    clear(root)
    s = Session(root)
    start_tx(s, rcpts=("postmaster@example.test", "abuse@example.test"))
    c1, _ = send_data(s, b"Subject: one\r\n\r\nx\r\n.\r\n")
    s.cmd("MAIL FROM:<>")
    s.cmd("RCPT TO:<postmaster@example.test>")
    c2, _ = send_data(s, b"Subject: two\r\n\r\ny\r\n.\r\n")
    s.close()
    t.ok(c1 == 250 and c2 == 250, "two messages on one connection", (c1, c2))
    files = incoming(root)
    t.eq(len(files), 2, "both are queued")
    msgs = [queued(root, f) for f in files]
    one = [m for m in msgs if b"Subject: one" in m[1]]
    t.ok(one and b"\tfor <" not in one[0][1] and b"\tby localhost with ESMTP id " in one[0][1].split(b"\n")[1]
         and b"; " in one[0][1].split(b"\n")[1], "no 'for' clause with two recipients", one and one[0][1][:300])
    two = [m for m in msgs if b"Subject: two" in m[1]]
    t.ok(two and "S" in two[0][0], "null sender stored as empty S record", two and two[0][0])

    # --- SMTP smuggling: bare LF / CR never end DATA; 550 5.5.2 --------------
    for name, data in [
        ("\\n.\\n", b"Subject: s1\r\n\r\nhello\n.\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<postmaster@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n.\r\n"),
        ("\\r\\n.\\n", b"Subject: s2\r\n\r\nhello\r\n.\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<postmaster@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n.\r\n"),
        ("\\n.\\r\\n", b"Subject: s3\r\n\r\nhello\n.\r\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<postmaster@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n.\r\n"),
        ("\\r.\\r", b"Subject: s4\r\n\r\nhello\r.\rMAIL FROM:<evil@example.org>\r\nRCPT TO:<postmaster@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n.\r\n"),
    ]:
        clear(root)
        s = Session(root)
        start_tx(s)
        c, text = send_data(s, data)
        t.ok(c == 550 and text[0].startswith("5.5.2 Error: bare <"), f"embedded {name}: one 550 5.5.2 bare newline reply", (c, text))
        t.eq(s.cmd("NOOP")[0], 250, f"embedded {name}: the smuggled commands were never answered")
        s.close()
        t.eq(incoming(root), [], f"embedded {name}: nothing queued")
    t.ok("reject: END-OF-MESSAGE from" in log(), "log: QID: reject: END-OF-MESSAGE ... line")

    # normalise mode: bare LF becomes a line end, but still never ends DATA
    ctl("smtpd_forbid_bare_newline", "no")
    clear(root)
    s = Session(root)
    start_tx(s)
    c, text = send_data(s, b"Subject: n\r\n\r\nhello\n.\nMAIL FROM:<evil@example.org>\r\nlast\r\n.\r\n")
    s.close()
    t.eq(c, 250, "smtpd_forbid_bare_newline = no: accepted")
    files = incoming(root)
    t.eq(len(files), 1, "normalised: still one message, not two")
    if files:
        msg = queued(root, files[0])[1]
        t.ok(msg.endswith(b"Subject: n\n\nhello\n\nMAIL FROM:<evil@example.org>\nlast\n"),
             "normalised: bare LF stored as a line end, the '.' line unstuffed, the rest is text", msg[-80:])
    ctl("smtpd_forbid_bare_newline", None)

    # --- NUL bytes, overlong lines, garbage: errors, and nothing queued ----
    clear(root)
    s = Session(root)
    t.eq(s.cmd("EHLO a\0b")[0], 500, "NUL in a command 500")
    t.eq(s.cmd("X" * 5000), (500, ["5.5.2 Error: line too long"]), "overlong command line 500 5.5.2")
    t.eq(s.cmd("EHLO x.example")[0], 250, "the next command after an overlong line works")
    s.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(40) + b"\r\n")
    t.ok(s.reply()[0] in (500, 502), "TLS handshake bytes as a command: 50x")
    s.close()
    t.eq(incoming(root), [], "garbage leaves nothing queued")
    s = Session(root)
    t.eq(s.cmd("GET / HTTP/1.0")[0], 221, "an HTTP request is dropped (221 2.7.0)")
    t.ok(s.closed(), "and the connection closed")
    s.close()

    # --- client disconnects mid-DATA: nothing queued, tmp/ empty -------------
    clear(root)
    s = Session(root)
    start_tx(s)
    s.cmd("DATA")
    s.send(b"Subject: cut\r\n\r\n" + b"x" * 100000)
    s.close()
    t.eq(incoming(root), [], "disconnect mid-DATA: nothing queued")
    t.ok(wait_for(lambda: queue_tmp_files(root) == [], 30),
         "disconnect mid-DATA: yubin-queue removed its temporary file")
    t.ok("lost connection after DATA from" in log(), "log: lost connection after data")
    s = Session(root)
    start_tx(s)
    c, _ = send_data(s, b"Subject: after\r\n\r\nok\r\n.\r\n")
    s.close()
    t.eq(c, 250, "the next connection works")

    # --- yubin-queue fails while 354 is on its way: read the message, 451 ----
    clear(root)
    tmpq = os.path.join(root, "queue", "tmp")
    os.rename(tmpq, tmpq + ".away")  # yubin-queue cannot start: no queue id comes
    try:
        s = Session(root)
        start_tx(s)
        t.eq(s.cmd("DATA")[0], 354, "DATA: 354 goes out before yubin-queue has answered")
        s.send(b"Subject: lost\r\n\r\nnobody stores this\r\n.\r\n")
        t.eq(s.reply(), (451, ["4.3.0 Error: queue file write error"]), "no queue: 451 4.3.0 after the dot")
        t.eq(s.cmd("NOOP")[0], 250, "the session goes on")
        s.close()
    finally:
        os.rename(tmpq + ".away", tmpq)
    t.eq(incoming(root), [], "no queue: nothing queued")
    t.ok("NOQUEUE: reject: END-OF-MESSAGE from" in log(), "log: NOQUEUE reject at END-OF-MESSAGE", log()[-800:])

    # --- SIZE ----------------------------------------------------------------
    ctl("message_size_limit", "2000")
    clear(root)
    s = Session(root)
    c, lines = s.cmd("EHLO x.example")
    t.ok("SIZE 2000" in lines, "SIZE advertises message_size_limit")
    t.eq(s.cmd("MAIL FROM:<a@example.org> SIZE=5000"), (552, ["5.3.4 Message size exceeds fixed limit"]),
         "MAIL SIZE= over the limit 552 5.3.4")
    t.eq(s.cmd("MAIL FROM:<a@example.org> SIZE=100"), (250, ["2.1.0 Ok"]), "MAIL SIZE= under the limit 250")
    s.cmd("RCPT TO:<postmaster@example.test>")
    c, text = send_data(s, b"Subject: big\r\n\r\n" + (b"y" * 70 + b"\r\n") * 100 + b".\r\n")
    t.eq((c, text), (552, ["5.3.4 Message size exceeds fixed limit"]), "DATA over the limit 552 5.3.4 after the dot")
    t.eq(s.cmd("NOOP")[0], 250, "session continues after 552")
    s.close()
    t.eq(incoming(root), [], "oversized message not queued")
    ctl("message_size_limit", None)

    # --- 8BITMIME and DSN parameters reach the envelope -----------------------
    clear(root)
    s = Session(root)
    s.cmd("EHLO x.example")
    t.eq(s.cmd("MAIL FROM:<x@y.example> BODY=BINARYMIME")[0], 501, "BODY=BINARYMIME is not offered: 501")
    t.eq(s.cmd("MAIL FROM:<x@y.example> RET=ALL")[0], 501, "bad RET 501")
    t.eq(s.cmd("MAIL FROM:<x@y.example> ENVID=a+2")[0], 501, "bad ENVID xtext 501")
    t.eq(s.cmd("MAIL FROM:<a@example.org> BODY=8BITMIME RET=HDRS ENVID=abc+2Bdef")[0], 250,
         "MAIL with BODY, RET, ENVID")
    t.eq(s.cmd("RCPT TO:<postmaster@example.test> NOTIFY=FAILURE,DELAY ORCPT=rfc822;boss+2Bx@example.test")[0], 250,
         "RCPT with NOTIFY and ORCPT")
    c, _ = send_data(s, "Subject: 8bit \u00e9\r\n\r\n\u3042\r\n.\r\n".encode())
    s.close()
    files = incoming(root)
    env, msg = queued(root, files[0]) if files else ([], b"")
    t.ok("B8BITMIME" in env and "NHDRS" in env and "Eabc+def" in env, "BODY, RET, ENVID (xtext decoded) in the envelope", env)
    t.ok("R postmaster@example.test\tFAILURE,DELAY\trfc822;boss+x@example.test" in env, "NOTIFY and ORCPT in the envelope", env)
    t.ok("\u3042".encode() in msg, "8-bit body stored unchanged")
    s = Session(root)
    s.cmd("HELO x.example")
    t.eq(s.cmd("MAIL FROM:<a@example.org> SIZE=10")[0], 555, "ESMTP parameters refused after HELO")
    s.close()

    # --- recipient limit ------------------------------------------------------
    ctl("smtpd_recipient_limit", "3")
    s = Session(root)
    start_tx(s, rcpts=())
    codes = [s.cmd(f"RCPT TO:<{u}@example.test>")[0] for u in ("postmaster", "abuse", "demo")]
    t.eq(codes, [250, 250, 250], "recipients up to the limit")
    t.eq(s.cmd("RCPT TO:<hostmaster@example.test>"), (452, ["4.5.3 Error: too many recipients"]),
         "smtpd_recipient_limit: 452 4.5.3 beyond")
    s.close()
    ctl("smtpd_recipient_limit", None)

    # --- hop count and header size -------------------------------------------
    ctl("hopcount_limit", "3")
    clear(root)
    s = Session(root)
    start_tx(s)
    c, text = send_data(s, b"Received: a\r\nreceived: b\r\nRECEIVED: c\r\nReceived: d\r\nSubject: loop\r\n\r\nx\r\n.\r\n")
    t.eq((c, text), (554, ["5.4.6 Too many hops"]), "more than hopcount_limit Received headers: 554 5.4.6")
    start_tx(s)
    c, text = send_data(s, b"Received: a\r\nReceived: b\r\nReceived: c\r\nSubject: ok\r\n\r\nReceived: body\r\n.\r\n")
    t.eq(c, 250, "exactly hopcount_limit (body lines do not count)")
    s.close()
    ctl("hopcount_limit", None)
    ctl("header_size_limit", "1000")
    s = Session(root)
    start_tx(s)
    c, text = send_data(s, b"Subject: big header\r\nX-Big: " + b"z" * 2000 + b"\r\n\r\nx\r\n.\r\n")
    t.eq(c, 552, "header over header_size_limit: 552")
    start_tx(s)
    c, text = send_data(s, b"Subject: big body\r\n\r\n" + (b"z" * 500 + b"\r\n") * 10 + b".\r\n")
    t.eq(c, 250, "a big body is not a big header")
    s.close()
    ctl("header_size_limit", None)

    # --- pipelining: everything in one write, replies in order ------------
    clear(root)
    s = Session(root)
    s.send(b"EHLO p.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<postmaster@example.test>\r\n"
           b"RCPT TO:<nobody@example.test>\r\nRCPT TO:<abuse@example.test>\r\nDATA\r\n")
    rs = [s.reply()[0] for _ in range(6)]
    t.eq(rs, [250, 250, 250, 550, 250, 354], "pipelined EHLO/MAIL/RCPT/RCPT/RCPT/DATA answered in order")
    s.send(b"Subject: p\r\n\r\nx\r\n.\r\nMAIL FROM:<b@example.org>\r\nRCPT TO:<postmaster@example.test>\r\nDATA\r\n")
    rs = [s.reply()[0] for _ in range(4)]
    t.eq(rs, [250, 250, 250, 354], "commands pipelined right after the dot")
    s.send(b"Subject: p2\r\n\r\ny\r\n.\r\nQUIT\r\n")
    t.eq([s.reply()[0] for _ in range(2)], [250, 221], "message and QUIT in one write")
    s.close()
    t.eq(len(incoming(root)), 2, "two pipelined messages queued")

    # --- IPv6 client -----------------------------------------------------------
    clear(root)
    s = Session(root, ip="::1")
    start_tx(s, rcpts=("someone@remote.example",))
    c, _ = send_data(s, b"Subject: v6\r\n\r\nx\r\n.\r\n")
    s.close()
    t.eq(c, 250, "IPv6 client in mynetworks ([::1]/128) may relay")
    files = incoming(root)
    msg = queued(root, files[0])[1] if files else b""
    t.ok(b"[IPv6:::1])" in msg.split(b"\n")[0], "Received header shows [IPv6:::1]", msg[:120])

    # --- systemd's REMOTE_ADDR, an untrusted client ---------------------------
    clear(root)
    s = Session(root, ip="192.0.2.9", via="REMOTE_ADDR")
    start_tx(s, rcpts=())
    t.eq(s.cmd("RCPT TO:<x@remote.example>"), (554, ["5.7.1 <x@remote.example>: Relay access denied"]),
         "client from REMOTE_ADDR, outside mynetworks: relay denied")
    t.eq(s.cmd("RCPT TO:<postmaster@example.test>")[0], 250, "but local mail is accepted")
    c, _ = send_data(s, b"Subject: remote-addr\r\n\r\nx\r\n.\r\n")
    s.close()
    files = incoming(root)
    msg = queued(root, files[0])[1] if files else b""
    t.ok(c == 250 and b"[192.0.2.9])" in msg.split(b"\n")[0], "Received header names the REMOTE_ADDR client", msg[:120])
    t.ok("NOQUEUE: reject: RCPT from unknown[192.0.2.9]: 554 5.7.1 <x@remote.example>: Relay access denied; "
         "from=<a@example.org> to=<x@remote.example> proto=ESMTP helo=<client.example.org>" in log(),
         "log: Postfix-style NOQUEUE reject line")

    # --- timeout ---------------------------------------------------------------
    ctl("smtpd_timeout", "1s")
    s = Session(root)
    t.eq(s.reply()[0], 421, "idle client gets 421 after smtpd_timeout")
    t.ok(s.closed(), "and is disconnected")
    s.close()
    ctl("smtpd_timeout", None)
    t.ok("timeout after CONNECT from" in log(), "log: timeout after CONNECT")

    # --- tarpit: delays past the soft limit, 421 at the hard limit -----------
    ctl("smtpd_soft_error_limit", "2")
    ctl("smtpd_error_sleep_time", "1s")
    ctl("smtpd_hard_error_limit", "4")
    s = Session(root)
    started = time.time()
    codes = [s.cmd("BOGUS")[0] for _ in range(4)]
    elapsed = time.time() - started
    t.eq(codes, [502] * 4, "errors answered")
    t.ok(elapsed >= 2.0, f"errors 3 and 4 were delayed by smtpd_error_sleep_time (took {elapsed:.1f}s)")
    c, text = s.reply()
    t.eq((c, text), (421, ["4.7.0 localhost Error: too many errors"]), "421 4.7.0 at smtpd_hard_error_limit")
    t.ok(s.closed(), "and disconnected")
    s.close()
    for n in ("smtpd_soft_error_limit", "smtpd_error_sleep_time", "smtpd_hard_error_limit"):
        ctl(n, None)
    t.ok("too many errors after BOGUS" in log() or "too many errors after UNKNOWN" in log(), "log: too many errors")
finally:
    y.__exit__(None, None, None)
t.done()
