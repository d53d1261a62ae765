"""imaputil — helpers for the IMAP tests: run bin/yubin-imap (the mailbox
half, PREAUTH in a Maildir) or bin/yubin-imapd directly on a socketpair,
drive it with imaplib or with raw bytes, and make Maildirs and messages."""
import imaplib, os, re, shutil, socket, subprocess, tempfile, time

from yubintest import BIN, LineReader


class SockIMAP(imaplib.IMAP4):
    """imaplib.IMAP4 over an already connected socket"""

    def __init__(self, sock, timeout=60):
        self._given = sock
        sock.settimeout(timeout)
        super().__init__("localhost", 0, timeout)

    def _create_socket(self, timeout):
        return self._given


def spawn(prog, cwd=None, env=None, stderr=None):
    """bin/PROG with fds 0/1 on one end of a socketpair: (socket, Popen)"""
    a, b = socket.socketpair()
    full = dict(os.environ)
    full.update(env or {})
    p = subprocess.Popen([os.path.join(BIN, prog)], stdin=b, stdout=b,
                         stderr=stderr if stderr is not None else subprocess.DEVNULL,
                         cwd=cwd, env=full, close_fds=True)
    b.close()
    return a, p


class Mailbox:
    """a Maildir in a temporary instance root, and sessions on it"""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="yubin-imap-")
        self.root = os.path.join(self.tmp, "root")
        os.makedirs(os.path.join(self.root, "control"))
        self.md = os.path.join(self.tmp, "Maildir")
        for d in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(self.md, d))
        self.procs = []
        self.n = 0
        self.errlog = open(os.path.join(self.tmp, "stderr.log"), "ab+")

    def env(self):
        return {"YUBIN_ROOT": self.root, "YUBIN_LOGIN": "tester"}

    def session(self):
        """imaplib session (already authenticated: PREAUTH)"""
        sock, p = spawn("yubin-imap", cwd=self.md, env=self.env(), stderr=self.errlog)
        self.procs.append(p)
        return SockIMAP(sock)

    def raw(self):
        sock, p = spawn("yubin-imap", cwd=self.md, env=self.env(), stderr=self.errlog)
        self.procs.append(p)
        r = Raw(sock, p)
        r.line()  # greeting
        return r

    def put(self, data, name=None, folder="", sub="new", mtime=None):
        """a message file written straight into the Maildir"""
        self.n += 1
        name = name or f"{1700000000 + self.n}.M{self.n}P1Q{self.n}.test"
        d = os.path.join(self.md, "." + folder if folder else "", sub)
        path = os.path.join(d, name)
        with open(path, "wb") as f:
            f.write(data)
        if mtime:
            os.utime(path, (mtime, mtime))
        return name

    def files(self, folder=""):
        out = {}
        base = os.path.join(self.md, "." + folder) if folder else self.md
        for sub in ("new", "cur"):
            for f in os.listdir(os.path.join(base, sub)):
                out[sub + "/" + f] = open(os.path.join(base, sub, f), "rb").read()
        return out

    def log(self):
        """what the programs wrote on stderr"""
        self.errlog.flush()
        with open(os.path.join(self.tmp, "stderr.log"), "rb") as f:
            return f.read().decode(errors="replace")

    def sanitizer_errors(self):
        """sanitizer reports (ASan/UBSan builds) found in the log"""
        return [ln for ln in self.log().splitlines()
                if "AddressSanitizer" in ln or "runtime error:" in ln or "LeakSanitizer" in ln]

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        self.errlog.close()
        if not os.environ.get("KEEP_TEST_ROOT"):
            shutil.rmtree(self.tmp, ignore_errors=True)


class Raw(LineReader):
    """raw protocol: send bytes, read until a tagged reply"""

    def __init__(self, sock, proc=None):
        self.s = sock
        self.s.settimeout(60)
        self.buf = b""
        self.proc = proc

    def send(self, data):
        self.s.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        return self.raw_line() + b"\r\n"

    def until(self, tag):
        """everything up to and including the line tagged tag"""
        out = b""
        t = tag.encode() + b" "
        while True:
            ln = self.line()
            out += ln
            m = re.search(rb"\{(\d+)\}\r\n$", ln)
            if m:  # a literal: take its bytes raw
                n = int(m.group(1))
                while len(self.buf) < n:
                    d = self.s.recv(65536)
                    if not d:
                        raise EOFError(out)
                    self.buf += d
                out += self.buf[:n]
                self.buf = self.buf[n:]
                continue
            if ln.startswith(t):
                return out

    def cmd(self, tag, text):
        self.send(f"{tag} {text}\r\n")
        return self.until(tag)


def msg(subject="test", frm="Alice <alice@example.test>", to="bob@example.test", body="hello\n",
        extra=""):
    return (f"From: {frm}\nTo: {to}\nSubject: {subject}\nDate: Mon, 2 Jan 2006 15:04:05 +0000\n"
            f"Message-ID: <{abs(hash(subject + body))}@example.test>\n{extra}\n{body}").encode()


def crlf(data):
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)
