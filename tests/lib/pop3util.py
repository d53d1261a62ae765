"""pop3util — helpers for the POP3 tests: run bin/yubin-pop3 (the mailbox
half) or bin/yubin-pop3d (the front end) directly on a socketpair, drive
it with poplib, and build Maildir messages with their POP3 wire form."""
import os, poplib, socket, subprocess, time

from yubintest import BIN


class SockPOP3(poplib.POP3):
    """poplib.POP3 over an already connected socket"""

    def __init__(self, sock, timeout=30):
        self._given = sock
        sock.settimeout(timeout)
        super().__init__("localhost", 0, timeout)

    def _create_socket(self, timeout):
        return self._given


def spawn(prog, cwd=None, env=None, stderr=None):
    """start bin/PROG with fds 0/1 on one end of a socketpair; returns
    (our socket, Popen)"""
    a, b = socket.socketpair()
    full = dict(os.environ)
    full.update(env or {})
    p = subprocess.Popen([os.path.join(BIN, prog)], stdin=b, stdout=b,
                         stderr=stderr if stderr is not None else subprocess.DEVNULL,
                         cwd=cwd, env=full, close_fds=True)
    b.close()
    return a, p


def wire(data):
    """what RETR sends for a file's bytes: CRLF line ends, dot-stuffing
    (without the final '.' line)"""
    lines = data.split(b"\n")
    last = lines.pop()
    out = []
    for ln in lines:
        if ln.endswith(b"\r"):
            ln = ln[:-1]
        out.append(ln)
    if last:
        out.append(last)
    return b"".join((b"." + ln if ln.startswith(b".") else ln) + b"\r\n" for ln in out)


def pop3_size(data):
    """size as LIST reports it: CRLF line ends, no stuffing"""
    n = len(data) + data.count(b"\n") - data.count(b"\r\n")
    if data and not data.endswith(b"\n"):
        n += 2
    return n


def make_maildir(path):
    for d in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    return path


def put_message(maildir, name, data, sub="new"):
    with open(os.path.join(maildir, sub, name), "wb") as f:
        f.write(data)


def recv_until(sock, marker, timeout=30):
    """read until marker appears (or EOF/timeout); returns bytes"""
    sock.settimeout(timeout)
    got = b""
    deadline = time.time() + timeout
    while marker not in got and time.time() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        got += chunk
    return got


def crlf(data):
    """the message as a POP3 client keeps it: CRLF line ends, stuffing undone"""
    return b"".join((ln[1:] if ln.startswith(b"..") else ln) + b"\r\n"
                    for ln in wire(data).split(b"\r\n")[:-1])
