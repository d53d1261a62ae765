"""smtpsession — one yubin-smtpd process on a socketpair, started exactly
as tcpserver starts it (TCPREMOTEIP, or REMOTE_ADDR as systemd sets it),
and a raw line-level client for it: tests that need byte-exact control
(pipelining, DATA edge cases, BDAT chunks) use it instead of smtplib."""
import os, socket, subprocess

from yubintest import BIN, LineReader


class Session(LineReader):
    """one yubin-smtpd process on a socketpair"""

    def __init__(self, root, ip="127.0.0.1", prog="yubin-smtpd", greet=True, via="TCPREMOTEIP"):
        a, b = socket.socketpair()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TCP") and k != "REMOTE_ADDR"}
        env.update(YUBIN_ROOT=root, PROTO="TCP")
        if via == "TCPREMOTEIP":
            env.update(TCPREMOTEIP=ip, TCPREMOTEPORT="40000", TCPLOCALIP="127.0.0.1", TCPLOCALPORT="25")
        else:
            env.update(REMOTE_ADDR=ip, REMOTE_PORT="40000")
        self.log = open(os.path.join(root, "log", "direct.log"), "ab")
        self.p = subprocess.Popen([os.path.join(BIN, prog)], stdin=b, stdout=b, stderr=self.log, env=env)
        b.close()
        self.s = a
        self.s.settimeout(60)
        self.buf = b""
        self.banner = self.reply() if greet else None

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        return self.raw_line().decode("latin-1")

    def reply(self):
        """(code, [text lines]) of one reply"""
        lines = []
        while True:
            l = self.line()
            lines.append(l[4:])
            if len(l) < 4 or l[3] != "-":
                return int(l[:3]), lines

    def cmd(self, c):
        self.send(c.encode("latin-1") + b"\r\n")
        return self.reply()

    def bdat(self, data, last=False):
        """one BDAT chunk (RFC 3030) and its reply"""
        self.send(b"BDAT %d%s\r\n" % (len(data), b" LAST" if last else b"") + data)
        return self.reply()

    def closed(self):
        """True when the server closed the connection (after any pending bytes)"""
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
                self.buf += d
        except OSError:
            return True

    def close(self):
        self.s.close()
        try:
            self.p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.log.close()


class Client(Session):
    """the same raw client on a TCP connection to a running instance's
    port, from address src"""

    def __init__(self, port, src="127.0.0.1", greet=True):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(src, 0))
        self.buf = b""
        self.banner = self.reply() if greet else None

    def close(self):
        self.s.close()
