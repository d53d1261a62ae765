"""seclib — raw protocol connections for the security battery: bytes go
out exactly as the test writes them (no client library "fixes" a bare LF
or refuses a hostile address), replies are read line by line with
timeouts, and TLS can be started on the same socket."""
import email, os, socket, ssl, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import maildir_messages  # noqa: E402

CTX = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE


class Conn:
    def __init__(self, port, timeout=30):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.timeout = timeout

    def send(self, data):
        self.s.sendall(data)

    def line(self, timeout=None):
        """one line without its CRLF; None at EOF or timeout"""
        self.s.settimeout(timeout or self.timeout)
        while b"\n" not in self.buf:
            try:
                d = self.s.recv(65536)
            except (socket.timeout, OSError, ssl.SSLError):
                return None
            if not d:
                return None
            self.buf += d
        ln, self.buf = self.buf.split(b"\n", 1)
        return ln.rstrip(b"\r")

    def reply(self, timeout=None):
        """an SMTP reply: list of lines (last has a space after the code)"""
        out = []
        while True:
            ln = self.line(timeout)
            if ln is None:
                return out
            out.append(ln.decode("latin-1"))
            if len(ln) < 4 or ln[3:4] != b"-":
                return out

    def code(self, timeout=None):
        r = self.reply(timeout)
        return int(r[-1][:3]) if r and r[-1][:3].isdigit() else None

    def cmd(self, line):
        self.send(line if isinstance(line, bytes) else line.encode() + b"\r\n")
        return self.reply()

    def tag(self, tag, timeout=None):
        """IMAP: lines up to and including the tagged one"""
        out = []
        while True:
            ln = self.line(timeout)
            if ln is None:
                return out
            out.append(ln.decode("latin-1"))
            if ln.startswith(tag.encode() + b" "):
                return out

    def pending(self, wait=1.0):
        """whatever the server sends within wait seconds"""
        self.s.settimeout(wait)
        data = self.buf
        self.buf = b""
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    break
                data += d
        except (socket.timeout, OSError, ssl.SSLError):
            pass
        return data

    def starttls(self):
        if self.buf:
            raise RuntimeError("plaintext left over before TLS: %r" % self.buf)
        self.s = CTX.wrap_socket(self.s, server_hostname="localhost")

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def smtp_open(port, ehlo="client.test"):
    c = Conn(port)
    c.reply()
    c.cmd("EHLO " + ehlo)
    return c


def subjects(maildir):
    """Subject: of every delivered message"""
    out = []
    for data in maildir_messages(maildir).values():
        out.append(email.message_from_bytes(data).get("Subject", ""))
    return out


def wait_subject(maildir, subject, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if subject in subjects(maildir):
            return True
        time.sleep(0.1)
    return False
