#!/usr/bin/env python3
"""yubin-smtpd's CHUNKING (RFC 3030): BDAT in one chunk, in several (a
CRLF cut between two chunks), pipelined, BDAT 0 LAST, DATA after BDAT,
RSET between chunks, chunks that must be skipped (no transaction, a bad
keyword, after a failed chunk), message_size_limit, sizes that cannot be
read, a truncated chunk and a disconnect, line ends stored as LF, the
hop count and header_checks as in DATA. Then a running instance: a BDAT
message lands in a Maildir with the bytes sent (CRLF -> LF).

As in smtpd-protocol.t the instance is stopped for the first part, so
every accepted message can be read back from queue/incoming."""
import os, socket, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Tap, Instance, BIN, wait_for, wait_messages, queue_tmp_files
from smtpsession import Session

t = Tap()


def listing(root, q):
    return sorted(os.listdir(os.path.join(root, "queue", q)))


def message(root, qid):
    """the stored message without its Received header (the first field)"""
    with open(os.path.join(root, "queue", "incoming", qid), "rb") as f:
        env, msg = f.read().split(b"\n\n", 1)
    received, rest = msg.split(b"\n", 1)
    while rest[:1] == b"\t":
        line, rest = rest.split(b"\n", 1)
        received += b"\n" + line
    return received, rest


def clear(root):
    for q in ("incoming", "tmp"):
        for f in listing(root, q):
            os.unlink(os.path.join(root, "queue", q, f))


def start(root, rcpt="postmaster@example.test"):
    s = Session(root)
    s.cmd("EHLO client.example.org")
    s.cmd("MAIL FROM:<a@example.org>")
    s.cmd(f"RCPT TO:<{rcpt}>")
    return s


def qid_of(text):
    return text[0].rsplit(" ", 1)[-1]


y = Instance()
y.stop()
root = y.root
os.makedirs(os.path.join(root, "log"), exist_ok=True)

try:
    s = Session(root)
    c, lines = s.cmd("EHLO client.example.org")
    t.ok(c == 250 and "CHUNKING" in lines, "EHLO offers CHUNKING", lines)
    s.close()

    # --- one chunk ----------------------------------------------------------
    body = b"Subject: one\r\nFrom: <a@example.org>\r\n\r\nline 1\r\n..two dots stay two\r\n.\r\nafter a dot line\r\n"
    s = start(root)
    c, text = s.bdat(body, last=True)
    t.ok(c == 250 and text[0].startswith("2.0.0 Ok: queued as "), "BDAT n LAST: 250 queued as ID", (c, text))
    files = listing(root, "incoming")
    t.eq(files, [qid_of(text)], "the message is in queue/incoming under that id")
    rcv, got = message(root, files[0]) if files else (b"", b"")
    t.eq(got, body.replace(b"\r\n", b"\n"), "stored bytes = sent bytes with CRLF -> LF, no dot-unstuffing")
    t.ok(b"with ESMTP id" in rcv, "Received header says ESMTP", rcv)
    t.eq(s.cmd("NOOP")[0], 250, "the session goes on")
    s.close()
    clear(root)

    # --- several chunks, CRLF cut between two ------------------------------
    s = start(root)
    r1 = s.bdat(b"Subject: two\r")
    r2 = s.bdat(b"\n\r\nbody")
    r3 = s.bdat(b" text\r\n", last=True)
    t.eq(r1, (250, ["2.0.0 13 octets received"]), "first chunk: 250 2.0.0 13 octets received")
    t.eq(r2[0], 250, "second chunk 250")
    t.eq(r3[0], 250, "LAST chunk: queued")
    files = listing(root, "incoming")
    t.eq(message(root, files[0])[1] if files else b"", b"Subject: two\n\nbody text\n",
         "chunks joined; a CR ending one chunk and the LF starting the next are one line end")
    s.close()
    clear(root)

    # --- pipelined: MAIL, RCPT and three chunks in one write ----------------
    s = Session(root)
    s.cmd("EHLO client.example.org")
    s.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<postmaster@example.test>\r\n"
           b"BDAT 16\r\nSubject: piped\r\n" b"BDAT 6\r\n\r\nbody" b"BDAT 2 LAST\r\n\r\n")
    replies = [s.reply() for _ in range(5)]
    t.ok([r[0] for r in replies] == [250] * 5, "pipelined MAIL, RCPT, BDAT, BDAT, BDAT LAST: one reply each", replies)
    t.eq(replies[2][1], ["2.0.0 16 octets received"], "replies in order")
    files = listing(root, "incoming")
    t.eq(message(root, files[0])[1] if files else b"", b"Subject: piped\n\nbody\n", "pipelined message stored")
    s.close()
    clear(root)

    # --- BDAT 0 LAST ----------------------------------------------------------
    s = start(root)
    s.bdat(b"Subject: zero\r\n\r\nend\r\n")
    c, text = s.cmd("BDAT 0 LAST")
    t.ok(c == 250 and "queued as" in text[0], "BDAT 0 LAST ends the message", (c, text))
    files = listing(root, "incoming")
    t.eq(message(root, files[0])[1] if files else b"", b"Subject: zero\n\nend\n", "message of the earlier chunks")
    # (no clear() inside a session: yubin-queue may have its next tmp file made already)
    s.cmd("MAIL FROM:<a@example.org>")
    s.cmd("RCPT TO:<postmaster@example.test>")
    c, text = s.cmd("BDAT 0 LAST")
    t.ok(c == 250 and qid_of(text) in listing(root, "incoming") and message(root, qid_of(text))[1] == b"",
         "BDAT 0 LAST alone: an empty message (Received only)", (c, text, listing(root, "incoming")))
    s.close()
    clear(root)

    # --- DATA after BDAT, RCPT after BDAT -----------------------------------
    s = start(root)
    s.bdat(b"Subject: mixed\r\n\r\n")
    t.eq(s.cmd("DATA"), (503, ["5.5.1 Error: DATA after BDAT"]), "DATA after BDAT: 503 5.5.1")
    t.eq(s.cmd("RCPT TO:<postmaster@example.test>")[0], 503, "RCPT after BDAT: 503")
    c, text = s.bdat(b"still the same message\r\n", last=True)
    t.eq(c, 250, "the BDAT transaction goes on after the refused DATA")
    files = listing(root, "incoming")
    t.eq(message(root, files[0])[1] if files else b"", b"Subject: mixed\n\nstill the same message\n",
         "nothing of DATA in it")
    s.close()
    clear(root)

    # --- RSET between chunks ----------------------------------------------
    s = start(root)
    t.eq(s.bdat(b"Subject: dropped\r\n\r\n")[0], 250, "a first chunk")
    t.eq(s.cmd("RSET")[0], 250, "RSET between chunks: 250")
    t.ok(wait_for(lambda: listing(root, "incoming") == [] and queue_tmp_files(root) == [], 20),
         "RSET: nothing queued, no tmp file left", (listing(root, "incoming"), queue_tmp_files(root)))
    t.eq(s.cmd("BDAT 0 LAST")[0], 503, "BDAT after RSET: no transaction, 503")
    s.cmd("MAIL FROM:<a@example.org>")
    s.cmd("RCPT TO:<postmaster@example.test>")
    t.eq(s.bdat(b"Subject: kept\r\n\r\n", last=True)[0], 250, "a new transaction afterwards works")
    files = listing(root, "incoming")
    t.eq(len(files), 1, "only that message is queued")
    t.ok(files and b"kept" in message(root, files[0])[1], "and it is the new one")
    s.close()
    clear(root)

    # --- chunks that are skipped: their bytes never become commands ----------
    s = Session(root)
    s.cmd("EHLO client.example.org")
    t.eq(s.bdat(b"QUIT\r\nQUIT\r\n"), (503, ["5.5.1 Error: need MAIL command"]),
         "BDAT without MAIL: 503, and its chunk is read")
    t.eq(s.cmd("NOOP")[0], 250, "the chunk's QUIT lines were data, not commands")
    s.cmd("MAIL FROM:<a@example.org>")
    s.cmd("RCPT TO:<postmaster@example.test>")
    s.send(b"BDAT 6 LASTX\r\nRSET\r\n")
    t.eq(s.reply(), (501, ["5.5.4 Syntax: BDAT chunk-size [LAST]"]), "BDAT n LASTX: 501, chunk read")
    t.eq(s.cmd("NOOP")[0], 250, "still in step")
    t.eq(s.cmd("BDAT 0 LAST")[0], 503, "the failed chunk ended the transaction")
    t.eq(listing(root, "incoming"), [], "nothing queued")
    s.close()

    # --- message_size_limit ---------------------------------------------------
    y.control("message_size_limit", "1000")
    s = start(root)
    t.eq(s.bdat(b"Subject: big\r\n\r\n" + b"x" * 580 + b"\r\n")[0], 250, "600 octets of 1000: 250")
    c, text = s.bdat(b"y" * 598 + b"\r\n", last=True)
    t.eq((c, text), (552, ["5.3.4 Message size exceeds fixed limit"]), "the chunk past the limit: 552 5.3.4")
    t.eq(s.cmd("NOOP")[0], 250, "its bytes were read: the session is in step")
    t.eq(listing(root, "incoming"), [], "nothing queued")
    s.cmd("MAIL FROM:<a@example.org>")
    s.cmd("RCPT TO:<postmaster@example.test>")
    s.send(b"BDAT 5000\r\n" + b"z" * 5000 + b"BDAT 9 LAST\r\nNOOP\r\nxyz")
    r1, r2 = s.reply(), s.reply()
    t.eq(r1[0], 552, "a single chunk over the limit: 552, all 5000 octets read")
    t.eq(r2[0], 503, "a pipelined chunk after the failed one is read and refused (503)")
    t.eq(s.cmd("NOOP")[0], 250, "in step after both")
    s.close()
    y.control("message_size_limit", None)

    # --- sizes that cannot be read: 421 and the end ---------------------------
    s = start(root)
    c, text = s.cmd("BDAT 99999999999999999999999 LAST")
    t.ok(c == 421 and "unreadable" in text[0], "a size beyond 64 bits: 421", (c, text))
    t.ok(s.closed(), "and the connection is closed")
    s.close()
    s = start(root)
    t.eq(s.cmd("BDAT 9223372036854775808")[0], 421, "2^63: 421")
    s.close()
    s = start(root)
    t.eq(s.cmd("BDAT ten LAST")[0], 421, "not digits: 421")
    s.close()
    t.eq(listing(root, "incoming"), [], "nothing queued by any of them")

    # --- a truncated chunk, then the client goes --------------------------
    s = start(root)
    s.send(b"BDAT 1000 LAST\r\nSubject: cut\r\n\r\n" + b"q" * 100)
    s.s.shutdown(socket.SHUT_WR)
    t.ok(s.closed(), "the server ends the session at EOF inside a chunk")
    s.close()
    t.ok(wait_for(lambda: "lost connection after BDAT" in open(os.path.join(root, "log", "direct.log"),
                                                              errors="replace").read(), 20),
         "logged: lost connection after BDAT")
    t.ok(wait_for(lambda: (listing(root, "incoming"), queue_tmp_files(root)) == ([], []), 20),
         "truncated chunk: nothing in the queue", (listing(root, "incoming"), queue_tmp_files(root)))

    # --- line ends: bare LF and bare CR become LF; a last line gets its end ----
    s = start(root)
    t.eq(s.bdat(b"Subject: ends\r\n\r\na\nb\rc\r\nlast", last=True)[0], 250, "bare LF, bare CR, no final CRLF")
    files = listing(root, "incoming")
    t.eq(message(root, files[0])[1] if files else b"", b"Subject: ends\n\na\nb\nc\nlast\n",
         "stored with LF only: no CR in the queue, a final line end added")
    s.close()
    clear(root)

    # --- the checks DATA makes -----------------------------------------------
    y.control("hopcount_limit", "3")
    s = start(root)
    c, text = s.bdat(b"".join(b"Received: from hop%d\r\n" % i for i in range(4)) + b"\r\nbody\r\n", last=True)
    t.eq((c, text), (554, ["5.4.6 Too many hops"]), "hopcount_limit counts Received headers in BDAT data")
    s.close()
    y.control("hopcount_limit", None)
    y.control("header_checks", "/^Subject: spam/ REJECT no spam here\n")
    s = start(root)
    s.bdat(b"Subject: spam\r\n")
    c, text = s.bdat(b"\r\nbuy\r\n", last=True)
    t.eq((c, text), (550, ["5.7.1 no spam here"]), "header_checks REJECT applies to BDAT messages")
    t.eq(listing(root, "incoming"), [], "refused messages are not queued")
    s.close()
    y.control("header_checks", None)
    clear(root)

    # --- a running instance: into the Maildir ---------------------------------
    y.start()
    y.run("yubin-user", "add", "bob@example.test", input=b"pw\n")
    sent = (b"Subject: to the maildir\r\nMessage-ID: <chunk-1@example.org>\r\n\r\n" +
            b"".join(b"line %05d of the chunked message\r\n" % i for i in range(3000)) + b".\r\n..x\r\n")
    c = socket.create_connection(("127.0.0.1", y.port("smtp")), timeout=60)
    f = c.makefile("rb")

    def rd():
        out = []
        while True:
            l = f.readline()
            out.append(l)
            if l[3:4] != b"-":
                return b"".join(out)

    rd()
    c.sendall(b"EHLO client.example.org\r\n")
    rd()
    c.sendall(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<bob@example.test>\r\n")
    rd(), rd()
    half = len(sent) // 2
    c.sendall(b"BDAT %d\r\n" % half + sent[:half])
    r1 = rd()
    c.sendall(b"BDAT %d LAST\r\n" % (len(sent) - half) + sent[half:])
    r2 = rd()
    c.sendall(b"QUIT\r\n")
    c.close()
    t.ok(r1.startswith(b"250 ") and r2.startswith(b"250 2.0.0 Ok: queued"), "two chunks over TCP", (r1, r2))
    got = wait_messages(y.maildir("bob@example.test"), 1, timeout=60)
    data = b"".join(got.values())
    t.ok(data.endswith(sent.replace(b"\r\n", b"\n")), "the Maildir holds the bytes sent, CRLF -> LF",
         data[:300])
finally:
    y.stop()
    y.__exit__(None, None, None)
t.done()
