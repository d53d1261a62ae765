#!/usr/bin/env python3
"""pop3-frontend: bin/yubin-pop3d (the AUTHORIZATION state) on its own, on
a socketpair with the environment a launcher gives it: CAPA, the
plain-text rule (loopback / TLS / disable_plaintext_auth = no, simulated
with TCPREMOTEIP=192.0.2.1), AUTH syntax, bad commands, overlong lines,
the idle timeout and a failed login through yubin-checkpassword."""
import base64, os, socket, ssl, subprocess, sys, tempfile, shutil
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, BIN
from pop3util import spawn, recv_until

t = Tap()
if not os.path.exists(os.path.join(BIN, "yubin-pop3d")):
    t.skip("yubin-pop3d", "bin/yubin-pop3d not built")
    t.done()

tmp = tempfile.mkdtemp(prefix="yubin-pop3d-")
root = os.path.join(tmp, "root")
os.makedirs(os.path.join(root, "control"))
errlog = open(os.path.join(tmp, "stderr"), "w+")


def control(name, value):
    path = os.path.join(root, "control", name)
    if value is None:
        if os.path.exists(path):
            os.unlink(path)
    else:
        with open(path, "w") as f:
            f.write(value + "\n")


class Conn:
    def __init__(self, ip="127.0.0.1"):
        self.sock, self.p = spawn("yubin-pop3d", env={"YUBIN_ROOT": root, "TCPREMOTEIP": ip}, stderr=errlog)
        self.greeting = self.line()

    def line(self):
        return recv_until(self.sock, b"\r\n").decode(errors="replace")

    def cmd(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.line()

    def multi(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return recv_until(self.sock, b"\r\n.\r\n").decode(errors="replace")

    def close(self):
        self.sock.close()
        return self.p.wait(timeout=30)


# --- loopback client -----------------------------------------------------
c = Conn()
t.ok(c.greeting.startswith("+OK"), "greeting", c.greeting)
capa = c.multi("CAPA").split("\r\n")
for want in ("TOP", "UIDL", "RESP-CODES", "PIPELINING", "USER", "SASL PLAIN LOGIN"):
    t.ok(want in capa, f"CAPA has {want}", capa)
t.ok("STLS" not in capa, "no STLS without a certificate", capa)
t.ok(c.cmd("STLS").startswith("-ERR"), "STLS refused when TLS is not available")
t.ok(c.cmd("PASS secret").startswith("-ERR"), "PASS before USER refused")
t.ok(c.cmd("user demo@example.test").startswith("+OK"), "USER (any case) accepted from loopback")
auth = c.multi("AUTH").split("\r\n")
t.ok(auth[0] == "+OK" and "PLAIN" in auth, "AUTH alone lists PLAIN", auth)
t.ok(c.cmd("AUTH CRAM-MD5").startswith("-ERR"), "unknown mechanism refused")
t.ok(c.cmd("AUTH PLAIN !!!!").startswith("-ERR [AUTH]"), "bad base64 refused")
t.eq(c.cmd("AUTH PLAIN"), "+ \r\n", "AUTH PLAIN without initial response asks with '+ '")
t.ok(c.cmd("*").startswith("-ERR"), "'*' cancels the exchange")
t.ok(c.cmd("STAT").startswith("-ERR"), "STAT before login refused")
t.ok(c.cmd("X" * 5000).startswith("-ERR"), "overlong line refused")
t.ok(c.cmd("QUIT").startswith("+OK"), "QUIT")
t.eq(c.close(), 0, "front end exits 0 after QUIT")

# --- the plain-text rule off loopback --------------------------------------
c = Conn("192.0.2.1")
capa = c.multi("CAPA").split("\r\n")
t.ok("USER" not in capa and not any(l.startswith("SASL") for l in capa),
     "off loopback without TLS: CAPA offers no plain-text login", capa)
t.ok(c.cmd("USER demo@example.test").startswith("-ERR [AUTH] Plaintext authentication disallowed"),
     "USER refused off loopback without TLS")
ir = base64.b64encode(b"\0demo@example.test\0demo").decode()
t.ok(c.cmd("AUTH PLAIN " + ir).startswith("-ERR [AUTH] Plaintext authentication disallowed"),
     "AUTH PLAIN refused off loopback without TLS")
c.close()

control("disable_plaintext_auth", "no")
c = Conn("192.0.2.1")
t.ok(c.cmd("USER demo@example.test").startswith("+OK"), "disable_plaintext_auth = no allows it")
c.close()
control("disable_plaintext_auth", None)

c = Conn("::ffff:127.0.0.1")
t.ok(c.cmd("USER demo").startswith("+OK"), "IPv4-mapped loopback counts as loopback")
c.close()

# --- bad clients --------------------------------------------------------------
c = Conn()
c.sock.sendall(b"NOPE\r\n" * 10)
got = recv_until(c.sock, b"Too many bad commands.\r\n")
t.ok(b"Too many bad commands" in got, "too many bad commands: disconnected")
t.eq(c.close(), 0, "and the front end exits")

c = Conn()
c.sock.sendall(b"\x00\xff garbage\r\nCAPA\r\n")
got = recv_until(c.sock, b"\r\n.\r\n")
t.ok(got.startswith(b"-ERR") and b"+OK Capability" in got, "garbage gets -ERR, pipelined CAPA still answered")
c.sock.shutdown(socket.SHUT_RDWR)
t.eq(c.p.wait(timeout=30), 0, "abrupt disconnect: exit 0")

control("pop3d_timeout", "1s")
c = Conn()
got = recv_until(c.sock, b"\r\n", timeout=60)
t.ok(got.startswith(b"-ERR Disconnected for inactivity"), "idle client dropped after pop3d_timeout", got)
c.close()
control("pop3d_timeout", None)

# --- off loopback, TLS makes plain-text logins acceptable -------------------
if os.path.exists(os.path.join(BIN, "yubin-tlsd")):
    cert, key = os.path.join(root, "control", "cert.pem"), os.path.join(root, "control", "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "30", "-subj", "/CN=localhost"],
                   check=True, capture_output=True)
    os.chmod(key, 0o600)
    control("smtpd_tls_cert_file", cert)
    control("smtpd_tls_key_file", key)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c = Conn("192.0.2.1")
    capa = c.multi("CAPA").split("\r\n")
    t.ok("STLS" in capa, "STLS offered once a certificate is configured", capa)
    t.ok(c.cmd("STLS").startswith("+OK"), "STLS accepted")
    c.sock = ctx.wrap_socket(c.sock)
    capa = c.multi("CAPA").split("\r\n")
    t.ok("USER" in capa and "SASL PLAIN LOGIN" in capa and "STLS" not in capa,
         "after STLS: USER and SASL offered off loopback, STLS no more", capa)
    t.ok(c.cmd("USER demo@example.test").startswith("+OK"), "USER accepted off loopback over TLS")
    c.cmd("QUIT")
    c.p.wait(timeout=30)

    a, b = socket.socketpair()
    p = subprocess.Popen([os.path.join(BIN, "yubin-pop3d")], stdin=b, stdout=b, stderr=errlog,
                         env=dict(os.environ, YUBIN_ROOT=root, TCPREMOTEIP="192.0.2.1", YUBIN_TLS_IMPLICIT="1"))
    b.close()
    s = ctx.wrap_socket(a)
    greeting = recv_until(s, b"\r\n")
    t.ok(greeting.startswith(b"+OK"), "implicit TLS (995): handshake before the greeting", greeting)
    s.sendall(b"USER demo@example.test\r\n")
    t.ok(recv_until(s, b"\r\n").startswith(b"+OK"), "USER accepted off loopback on implicit TLS")
    s.sendall(b"QUIT\r\n")
    recv_until(s, b"\r\n")
    p.wait(timeout=30)
    control("smtpd_tls_cert_file", None)
    control("smtpd_tls_key_file", None)
else:
    t.skip("STLS off loopback", "bin/yubin-tlsd not built yet")

# --- a failed login, through yubin-checkpassword ----------------------------
if os.path.exists(os.path.join(BIN, "yubin-checkpassword")):
    c = Conn()
    c.cmd("USER nobody@example.test")
    got = c.cmd("PASS wrong")
    t.ok(got.startswith("-ERR [AUTH] Authentication failed"), "wrong password: -ERR [AUTH]", got)
    t.ok(c.cmd("NOOP").startswith("-ERR"), "still in AUTHORIZATION after a failed login")
    errlog.seek(0)
    log = errlog.read()
    t.ok("auth failed: service=pop3 rip=127.0.0.1 user=<nobody@example.test> mech=USER" in log,
         "fail2ban line logged", log[-800:])
    c.close()
else:
    t.skip("failed login", "bin/yubin-checkpassword not built yet")

shutil.rmtree(tmp, ignore_errors=True)
t.done()
