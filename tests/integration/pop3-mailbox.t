#!/usr/bin/env python3
"""pop3-mailbox: the mailbox half (bin/yubin-pop3) on its own, run the way
yubin-checkpassword runs it (cwd = the Maildir, USER set, client on fds
0/1): STAT, LIST, UIDL, TOP, RETR (CRLF, dot-stuffing, exact bytes), DELE
only at QUIT, RSET, new/ -> cur/ with ,W=, [IN-USE] and its release on
kill -9, pipelined input from the front end, garbage and overlong lines."""
import os, poplib, signal, socket, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, BIN, wait_for
from pop3util import SockPOP3, spawn, wire, crlf, pop3_size, make_maildir, put_message, recv_until

poplib._MAXLINE = 1 << 20   # one test message has a 70000-byte line
t = Tap()
if not os.path.exists(os.path.join(BIN, "yubin-pop3")):
    t.skip("yubin-pop3", "bin/yubin-pop3 not built")
    t.done()

tmp = tempfile.mkdtemp(prefix="yubin-pop3-")
md = make_maildir(os.path.join(tmp, "Maildir"))
errlog = open(os.path.join(tmp, "stderr"), "w+")
ENV = {"USER": "demo@example.test", "TCPREMOTEIP": "127.0.0.1", "YUBIN_ROOT": os.path.join(tmp, "root")}

MSGS = [
    # (name, data): yubin-local style names with ,S=, a plain one, CRLF, dots, no final LF
    ("1700000001.Yq1R0000000000000001.host,S=%d", b"From: a@b\nSubject: one\n\nline 1\n.dotted\n..two dots\nlast\n"),
    ("1700000002.M2P3Q4.host", b"Subject: two\r\n\r\nalready crlf\r\n.\r\n"),
    ("1700000003.M5P6Q7.host", b"Subject: three\n\nno final newline"),
    ("1700000004.M8P9Q10.host", b"Subject: four\n\n" + b"x" * 70000 + b"\n" + b"body line\n" * 5000),
    ("1700000005.M11P12Q13.host", b""),
]
names = []
for name, data in MSGS:
    if "%d" in name:
        name = name % len(data)
    put_message(md, name, data)
    names.append(name)
DATA = [d for _, d in MSGS]
TOTAL = sum(pop3_size(d) for d in DATA)


def session(**kw):
    sock, p = spawn("yubin-pop3", cwd=md, env=dict(ENV, **kw), stderr=errlog)
    return SockPOP3(sock), sock, p


# --- listing -----------------------------------------------------------
c, sock, p = session()
t.ok(c.getwelcome().startswith(b"+OK"), "greeting +OK after login", c.getwelcome())
t.eq(c.stat(), (len(DATA), TOTAL), "STAT counts messages and CRLF sizes")
resp, listing, _ = c.list()
t.eq([l.split() for l in listing], [[str(i + 1).encode(), str(pop3_size(d)).encode()] for i, d in enumerate(DATA)],
     "LIST gives every message with its size as sent")
t.eq(c.list(3).split(), [b"+OK", b"3", str(pop3_size(DATA[2])).encode()], "LIST n")
resp, uidls, _ = c.uidl()
want_uidl = [n.split(",")[0].split(":")[0].encode() for n in names]
t.eq([u.split()[1] for u in uidls], want_uidl, "UIDL is the Maildir unique name")
t.eq(c.uidl(2).split()[2], want_uidl[1], "UIDL n")
t.eq(sorted(os.listdir(os.path.join(md, "new"))), [], "new/ is empty after login")
cur = sorted(os.listdir(os.path.join(md, "cur")))
t.eq(cur, sorted(n + ":2," for n in names), "messages moved to cur/ with :2, and their names otherwise kept")
t.ok(os.path.exists(os.path.join(md, "yubin-pop3.sizes")), "counted sizes cached in yubin-pop3.sizes")

# --- retrieval ---------------------------------------------------------
ok_all = True
for i, d in enumerate(DATA):
    resp, lines, octets = c.retr(i + 1)
    body = b"".join(l + b"\r\n" for l in lines)
    unstuffed = crlf(d)
    if body != unstuffed or len(body) != pop3_size(d) or not resp.startswith(b"+OK %d octets" % pop3_size(d)):
        ok_all = False
        t.diag(f"message {i + 1}: resp {resp!r} got {len(body)} bytes want {pop3_size(d)}")
t.ok(ok_all, "RETR: bytes retrieved equal the message with CRLF line ends, sizes match LIST")

resp, lines, _ = c.top(1, 2)
t.eq(lines, [b"From: a@b", b"Subject: one", b"", b"line 1", b".dotted"], "TOP n 2: header, blank line, two body lines")
resp, lines, _ = c.top(2, 0)
t.eq(lines, [b"Subject: two", b""], "TOP n 0: header only")
t.ok(c.noop().startswith(b"+OK"), "NOOP")
c.quit()
p.wait(timeout=30)

# the wire itself: dot-stuffing and the terminator
sock, p = spawn("yubin-pop3", cwd=md, env=ENV, stderr=errlog)
recv_until(sock, b"\r\n")
sock.sendall(b"RETR 1\r\n")
raw = recv_until(sock, b"\r\n.\r\n")
t.eq(raw.split(b"\r\n", 1)[1], wire(DATA[0]) + b".\r\n", "RETR on the wire: CRLF, lines starting with '.' doubled, '.' ends")
sock.sendall(b"RETR 2\r\n")
raw = recv_until(sock, b"\r\n.\r\n")
t.eq(raw.split(b"\r\n", 1)[1], b"Subject: two\r\n\r\nalready crlf\r\n..\r\n.\r\n", "CRLF file is sent as is, lone '.' stuffed")
sock.sendall(b"QUIT\r\n")
recv_until(sock, b"\r\n")
p.wait(timeout=30)

# --- second session: stable numbering and UIDL, sizes without reading ---
c, sock, p = session()
t.eq([u.split()[1] for u in c.uidl()[1]], want_uidl, "UIDL stable in the next session")
t.eq(c.stat(), (len(DATA), TOTAL), "STAT the same in the next session (sizes from the cache)")

c.quit()
p.wait(timeout=30)
with open(os.path.join(md, "yubin-pop3.sizes"), "wb") as f:
    f.write(b"garbage\n12 \n99999999999999999999999 x\n1 a/b\n")
c, sock, p = session()
t.eq(c.stat(), (len(DATA), TOTAL), "a damaged size cache only means counting again")

# --- DELE / RSET / QUIT -----------------------------------------------
t.ok(c.dele(1).startswith(b"+OK"), "DELE 1")
t.eq(c.stat(), (len(DATA) - 1, TOTAL - pop3_size(DATA[0])), "STAT leaves out the deleted message")
try:
    c.retr(1)
    t.ok(False, "RETR of a deleted message fails")
except poplib.error_proto as e:
    t.ok(str(e).startswith("b'-ERR"), "RETR of a deleted message fails", e)
c.rset()
t.eq(c.stat(), (len(DATA), TOTAL), "RSET undoes DELE")
c.dele(1)
sock.shutdown(socket.SHUT_RDWR)   # drop without QUIT
p.wait(timeout=30)
t.eq(len(os.listdir(os.path.join(md, "cur"))), len(DATA), "a dropped connection deletes nothing")

c, sock, p = session()
c.dele(2)
c.dele(5)
c.quit()
p.wait(timeout=30)
left = sorted(os.listdir(os.path.join(md, "cur")))
t.ok(len(left) == len(DATA) - 2 and not any(n.startswith(names[1]) or n.startswith(names[4]) for n in left),
     "DELE + QUIT removes exactly the deleted messages", left)
DATA = [DATA[0], DATA[2], DATA[3]]
names = [names[0], names[2], names[3]]
TOTAL = sum(pop3_size(d) for d in DATA)

# --- one session per mailbox -------------------------------------------
c1, sock1, p1 = session()
sock2, p2 = spawn("yubin-pop3", cwd=md, env=ENV, stderr=errlog)
line = recv_until(sock2, b"\r\n")
t.ok(line.startswith(b"-ERR [IN-USE]"), "second session gets -ERR [IN-USE]", line)
t.eq(p2.wait(timeout=30), 2, "and exits 2 so the front end stays in AUTHORIZATION")
sock2.close()
p1.send_signal(signal.SIGKILL)
p1.wait(timeout=30)
c, sock, p = session()
t.ok(c.getwelcome().startswith(b"+OK"), "lock released after kill -9 of the session")
t.eq(c.stat(), (len(DATA), TOTAL), "mailbox intact after kill -9")
c.quit()
p.wait(timeout=30)

# --- a message renamed by another client (IMAP flags) during the session -
c, sock, p = session()
first = [n for n in os.listdir(os.path.join(md, "cur")) if n.startswith(names[0])][0]
os.rename(os.path.join(md, "cur", first), os.path.join(md, "cur", first.split(":")[0] + ":2,S"))
resp, lines, _ = c.retr(1)
t.ok(resp.startswith(b"+OK") and len(b"".join(l + b"\r\n" for l in lines)) == pop3_size(DATA[0]),
     "RETR follows a message renamed by another client (IMAP flags)", resp)
c.quit()
p.wait(timeout=30)

# --- pipelined commands handed over by the front end ---------------------
sock, p = spawn("yubin-pop3", cwd=md, env=dict(ENV, YUBIN_POP3_INPUT=b"STAT\r\nNOOP\r\n".hex()), stderr=errlog)
got = recv_until(sock, b"+OK\r\n")
t.eq(got, b"+OK Logged in.\r\n+OK %d %d\r\n+OK\r\n" % (len(DATA), TOTAL), "commands read ahead by the front end are answered first")
sock.sendall(b"QUIT\r\n")
recv_until(sock, b"\r\n")
p.wait(timeout=30)

# --- garbage, overlong lines, abrupt disconnects --------------------------
sock, p = spawn("yubin-pop3", cwd=md, env=ENV, stderr=errlog)
recv_until(sock, b"\r\n")
sock.sendall(b"X" * 5000 + b"\r\n")
t.ok(recv_until(sock, b"\r\n").startswith(b"-ERR"), "overlong line gets -ERR")
sock.sendall(b"\x00\xff\x01garbage\r\nSTAT\r\n")
got = recv_until(sock, b"\r\n+OK")
got += recv_until(sock, b"\r\n") if not got.endswith(b"\r\n") else b""
t.ok(got.startswith(b"-ERR") and b"+OK %d" % len(DATA) in got, "binary garbage gets -ERR, the session goes on", got)
sock.sendall(b"DELE 1\r\nDELE 2\r\n")
recv_until(sock, b"deleted.\r\n+OK Marked to be deleted.\r\n")
sock.sendall(b"BOGUS\r\n" * 10)
got = recv_until(sock, b"Too many bad commands.\r\n")
t.ok(b"Too many bad commands" in got, "too many bad commands end the session", got[-100:])
p.wait(timeout=30)
t.eq(len(os.listdir(os.path.join(md, "cur"))), len(DATA), "a session dropped for errors deletes nothing")

sock, p = spawn("yubin-pop3", cwd=md, env=ENV, stderr=errlog)
recv_until(sock, b"\r\n")
sock.sendall(b"RETR 3\r\n")
sock.recv(100)
sock.shutdown(socket.SHUT_RDWR)   # mid-RETR
t.eq(p.wait(timeout=30), 0, "client gone mid-RETR: session ends cleanly")
c, sock, p = session()
t.eq(c.stat(), (len(DATA), TOTAL), "mailbox intact after all of that")
for bad in (b"LIST 0", b"LIST 99", b"LIST x", b"RETR", b"TOP 1", b"TOP 1 -1", b"DELE 18446744073709551616"):
    try:
        c._shortcmd(bad.decode())
        t.ok(False, f"{bad!r} refused")
    except poplib.error_proto:
        t.ok(True, f"{bad!r} refused")
c.quit()
p.wait(timeout=30)

# --- logs -----------------------------------------------------------------
errlog.seek(0)
log = errlog.read()
t.ok("yubin-pop3: login user=<demo@example.test> rip=127.0.0.1" in log, "login line in the log", log[:500])
t.ok("logout user=<demo@example.test> top=0/0, retr=0/0, del=2/5" in log, "logout line: Dovecot-style counters", log[-2000:])

import shutil
shutil.rmtree(tmp, ignore_errors=True)
t.done()
