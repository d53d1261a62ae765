#!/usr/bin/env python3
"""pop3-retr: what RETR sends equals what LIST promised, on the paths
yubin-pop3 takes to send it: sizes from ",W=" in the name, from counting,
and from the size cache (the end of a file is taken from a short read
that reaches that size); RETR in order, out of order, again, after DELE,
after a flag rename and TOP; messages big enough to be written out in
parts; a CR and its LF on both sides of a 64 kB read; pipelined RETRs;
and the idle timeout the kernel keeps on the socket."""
import os, poplib, shutil, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, BIN
from pop3util import SockPOP3, spawn, wire, crlf, pop3_size, make_maildir, put_message, recv_until

poplib._MAXLINE = 1 << 20
t = Tap()
if not os.path.exists(os.path.join(BIN, "yubin-pop3")):
    t.skip("yubin-pop3", "bin/yubin-pop3 not built")
    t.done()

tmp = tempfile.mkdtemp(prefix="yubin-pop3-retr-")
md = make_maildir(os.path.join(tmp, "Maildir"))
root = os.path.join(tmp, "root")
os.makedirs(os.path.join(root, "control"))
errlog = open(os.path.join(tmp, "stderr"), "w+")
ENV = {"USER": "demo@example.test", "TCPREMOTEIP": "127.0.0.1", "YUBIN_ROOT": root}

dots = b"From: a@b\nSubject: dots\n\n.\n..\n.x\nmiddle\n.\n.last\n"
edge = b"Subject: edge\r\n\r\n" + b"y" * (65535 - 17) + b"\r\n" + b"after the boundary\r\n"  # CR at 65535, LF at 65536
MSGS = [
    ("1700000001.M1P1Q1.host,S=%d,W=%d", dots),                      # right ,W=
    ("1700000002.M2P2Q2.host", dots + b"no final newline"),          # counted
    ("1700000003.M3P3Q3.host,S=%d", b"Subject: crlf\r\n\r\n.\r\nbody\r\n"),
    ("1700000004.M4P4Q4.host,W=%d", b"Subject: mixed\n\r\nline\r\n.dot\n"),
    ("1700000005.M5P5Q5.host", edge),
    ("1700000006.M6P6Q6.host", b"Subject: big\n\n" + b".stuffed line of a big message\n" * 12000),   # ~370 kB
    ("1700000007.M7P7Q7.host", b"Subject: huge\n\n" + (b"x" * 99 + b"\n") * 16000),               # 1.6 MB
    ("1700000008.M8P8Q8.host", b""),
    ("1700000009.M9P9Q9.host", b"Subject: last\n\nbye\n"),
]
names, DATA = [], []
for name, data in MSGS:
    if name.count("%d") == 2:
        name = name % (len(data), pop3_size(data))
    elif ",S=" in name:
        name = name % len(data)
    elif ",W=" in name:
        name = name % pop3_size(data)
    put_message(md, name, data)
    names.append(name)
    DATA.append(data)


def session(**kw):
    sock, p = spawn("yubin-pop3", cwd=md, env=dict(ENV, **kw), stderr=errlog)
    return SockPOP3(sock), sock, p


def check_all(c, label):
    sizes = [int(l.split()[1]) for l in c.list()[1]]
    t.eq(sizes, [pop3_size(d) for d in DATA], f"{label}: LIST sizes are the sizes as sent")
    bad = []
    for i, d in enumerate(DATA):
        resp, lines, octets = c.retr(i + 1)
        got = b"".join(l + b"\r\n" for l in lines)
        if got != crlf(d) or len(got) != sizes[i] or resp != b"+OK %d octets" % sizes[i]:
            bad.append((i + 1, resp, len(got), sizes[i]))
    t.ok(not bad, f"{label}: every RETR in order sends exactly LIST's octets, after '+OK <size> octets'", bad)


for label in ("first session (,W= and counting)", "second session (size cache)"):
    c, sock, p = session()
    check_all(c, label)
    c.quit()
    p.wait(timeout=30)

# the bytes on the wire, stuffed, in and out of order
c, sock, p = session()
recv = []
for n in (1, 2, 2, 1, 5):
    sock.sendall(b"RETR %d\r\n" % n)
    raw = recv_until(sock, b"\r\n.\r\n")
    recv.append(raw.split(b"\r\n", 1)[1] == wire(DATA[n - 1]) + b".\r\n")
t.ok(all(recv), "RETR 1, 2, 2 again, 1 again, 5: each exactly the stuffed message and '.'", recv)
sock.sendall(b"RETR 3\r\nRETR 4\r\nLIST 4\r\nRETR 9\r\n")
want = (b"+OK %d octets\r\n" % pop3_size(DATA[2]) + wire(DATA[2]) + b".\r\n" +
        b"+OK %d octets\r\n" % pop3_size(DATA[3]) + wire(DATA[3]) + b".\r\n" +
        b"+OK 4 %d\r\n" % pop3_size(DATA[3]) +
        b"+OK %d octets\r\n" % pop3_size(DATA[8]) + wire(DATA[8]) + b".\r\n")
got = recv_until(sock, want[-40:])
t.eq(got, want, "pipelined RETR 3, RETR 4, LIST 4, RETR 9: answers in order")
sock.sendall(b"QUIT\r\n")
recv_until(sock, b"\r\n")
p.wait(timeout=30)

# the message after RETR n may be deleted, renamed or TOP'd
c, sock, p = session()
c.retr(1)
c.dele(2)
try:
    c.retr(2)
    t.ok(False, "RETR of a deleted message: -ERR")
except poplib.error_proto as e:
    t.ok(str(e).startswith("b'-ERR"), "RETR of a deleted message: -ERR", e)
c.retr(3)
resp, lines, _ = c.top(4, 1)
t.eq(lines, [b"Subject: mixed", b"", b"line"], "TOP n 1 between RETRs: header, blank line, one line")
resp, lines, _ = c.retr(4)
t.eq(b"".join(l + b"\r\n" for l in lines), crlf(DATA[3]), "and RETR of it after TOP")
# another client (IMAP) sets a flag on message 6 while we are at 5
c.retr(5)
old = [n for n in os.listdir(os.path.join(md, "cur")) if n.startswith(names[5].split(",")[0])][0]
os.rename(os.path.join(md, "cur", old), os.path.join(md, "cur", old + "S"))
resp, lines, _ = c.retr(6)
t.eq(b"".join(l + b"\r\n" for l in lines), crlf(DATA[5]), "a message renamed by another client is still sent whole")
resp, lines, _ = c.retr(7)
t.eq(b"".join(l + b"\r\n" for l in lines), crlf(DATA[6]), "a 1.6 MB message (written out in parts) is sent whole")
c.rset()
c.quit()
p.wait(timeout=30)

# idle timeout: SO_RCVTIMEO on the socket, no poll
with open(os.path.join(root, "control", "pop3d_timeout"), "w") as f:
    f.write("1s\n")
c, sock, p = session()
sock.sendall(b"STAT\r\n")
got = recv_until(sock, b"inactivity.\r\n", timeout=60)
t.ok(got.endswith(b"-ERR Disconnected for inactivity.\r\n"), "idle session dropped after pop3d_timeout", got[-80:])
t.eq(p.wait(timeout=30), 0, "and the session ends with exit 0")
os.unlink(os.path.join(root, "control", "pop3d_timeout"))

errlog.seek(0)
log = errlog.read()
t.ok("reason=timeout" in log, "the logout line says why", log[-300:])
shutil.rmtree(tmp, ignore_errors=True)
t.done()
