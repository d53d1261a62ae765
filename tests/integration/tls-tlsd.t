#!/usr/bin/env python3
"""yubin-tlsd on its own: the fd protocol tls_start_server() uses (socket on
0/1, plaintext pipes on 3/4, status on 5), driven by python's ssl client.
Handshakes with EC and RSA keys in every PEM form, TLS 1.2 only, AEAD
suites, relaying both ways, clean endings, and every bad-file and
bad-client case failing cleanly with a reason."""
import os, socket, ssl, subprocess, sys, tempfile, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Tap, spawn_tlsd, write_control

t = Tap()
tmp = tempfile.mkdtemp(prefix="yubin-tlsd-")
root = os.path.join(tmp, "root")
os.makedirs(os.path.join(root, "control"))


def sh(*args):
    subprocess.run(args, check=True, capture_output=True, cwd=tmp)


def control(name, value):
    write_control(root, name, value)


# certificates: EC (PKCS#8 and SEC1), RSA (PKCS#8 and PKCS#1), mismatched, expired
sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
   "-keyout", "ec-key.pem", "-out", "ec-cert.pem", "-days", "30", "-subj", "/CN=localhost")
sh("openssl", "ec", "-in", "ec-key.pem", "-out", "ec-sec1.pem")
sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
   "-keyout", "rsa-key.pem", "-out", "rsa-cert.pem", "-days", "30", "-subj", "/CN=localhost")
sh("openssl", "rsa", "-in", "rsa-key.pem", "-traditional", "-out", "rsa-pkcs1.pem")
sh("openssl", "genpkey", "-algorithm", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", "other-key.pem")
os.makedirs(os.path.join(tmp, "ca"))
with open(os.path.join(tmp, "ca", "ca.cnf"), "w") as f:
    f.write("[ca]\ndefault_ca=d\n[d]\ndir=.\ndatabase=index.txt\nserial=serial\nnew_certs_dir=.\n"
            "default_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n")
open(os.path.join(tmp, "ca", "index.txt"), "w").close()
with open(os.path.join(tmp, "ca", "serial"), "w") as f:
    f.write("01\n")
subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "old-key.pem", "-out",
                "old.csr", "-subj", "/CN=localhost"], check=True, capture_output=True, cwd=os.path.join(tmp, "ca"))
subprocess.run(["openssl", "ca", "-batch", "-config", "ca.cnf", "-selfsign", "-keyfile", "old-key.pem",
                "-in", "old.csr", "-out", "old-cert.pem", "-startdate", "20200101000000Z",
                "-enddate", "20200201000000Z"], check=True, capture_output=True, cwd=os.path.join(tmp, "ca"))
for f in os.listdir(tmp):
    if f.endswith(".pem"):
        os.chmod(os.path.join(tmp, f), 0o600)


def use(cert, key):
    control("smtpd_tls_cert_file", os.path.join(tmp, cert))
    control("smtpd_tls_key_file", os.path.join(tmp, key) if key else None)


class Session:
    """one yubin-tlsd on an accepted socket; .status is its status line"""

    def __init__(self, service="smtpd"):
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1)
        self.port = self.lsock.getsockname()[1]
        self.service = service
        self.proc = None
        self.ready = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        conn, _ = self.lsock.accept()
        self.proc, a_r, b_w, s_r = spawn_tlsd([self.service], conn, root)
        with os.fdopen(s_r, "rb") as s:
            self.status = s.read().decode()
        self.from_tlsd = os.fdopen(a_r, "rb", buffering=0)
        self.to_tlsd = os.fdopen(b_w, "wb", buffering=0)
        self.ready.set()

    def wait_status(self):
        self.ready.wait(30)
        return self.status

    def finish(self):
        """close the program side and collect tlsd's exit and log"""
        self.ready.wait(30)
        try:
            self.to_tlsd.close()
        except OSError:
            pass
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = "hung"
        err = self.proc.stderr.read().decode(errors="replace")
        self.lsock.close()
        return rc, err


def client_ctx(ciphers=None, minv=ssl.TLSVersion.TLSv1_2, maxv=ssl.TLSVersion.TLSv1_3):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = minv
    ctx.maximum_version = maxv
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


def handshake(ctx=None):
    s = Session()
    raw = socket.create_connection(("127.0.0.1", s.port), timeout=30)
    try:
        tls = (ctx or client_ctx()).wrap_socket(raw, server_hostname="localhost")
    except (ssl.SSLError, OSError) as e:
        raw.close()
        return s, None, e
    return s, tls, None


def exchange(s, tls):
    """plaintext both ways through tlsd; returns True when intact"""
    tls.sendall(b"EHLO client\r\n")
    got = b""
    while len(got) < 13:
        got += s.from_tlsd.read(13 - len(got)) or b"!"
    s.to_tlsd.write(b"250 hello\r\n")
    back = tls.recv(100)
    return got == b"EHLO client\r\n" and back == b"250 hello\r\n"


# 1. EC key, PKCS#8
use("ec-cert.pem", "ec-key.pem")
s, tls, err = handshake()
t.ok(tls is not None, "EC certificate: handshake completes", err)
if tls:
    t.eq(s.wait_status().strip(), "ok TLSv1.2 with cipher ECDHE-ECDSA-AES128-GCM-SHA256",
         "status line names TLSv1.2 and the OpenSSL-style cipher")
    t.eq(tls.version(), "TLSv1.2", "client sees TLS 1.2 (BearSSL has no 1.3)")
    t.ok(exchange(s, tls), "plaintext relayed both ways")
    big = os.urandom(1 << 20)
    got = bytearray()

    def reader():
        while len(got) < len(big):
            d = s.from_tlsd.read(65536)
            if not d:
                break
            got.extend(d)
    th = threading.Thread(target=reader)
    th.start()
    tls.sendall(big)
    th.join(60)
    t.ok(bytes(got) == big, "1 MiB client -> program intact")
    s.to_tlsd.write(big)
    back = bytearray()
    while len(back) < len(big):
        d = tls.recv(65536)
        if not d:
            break
        back.extend(d)
    t.ok(bytes(back) == big, "1 MiB program -> client intact")
    s.to_tlsd.write(b"221 bye\r\n")
    rc, log = s.finish()
    tail = b""
    try:
        while True:
            d = tls.recv(100)
            if not d:
                break
            tail += d
    except (ssl.SSLError, OSError):
        pass
    t.eq(tail, b"221 bye\r\n", "last reply delivered before the program's close ends the session")
    t.eq(rc, 0, "tlsd exits 0 after a session the program ended")
    tls.close()

# 2. client closes first: the program sees EOF
s, tls, err = handshake()
if tls:
    s.wait_status()
    tls.sendall(b"QUIT\r\n")
    tls.close()
    data = b""
    while True:
        d = s.from_tlsd.read(100)
        if not d:
            break
        data += d
    t.eq(data, b"QUIT\r\n", "client's last bytes delivered, then EOF to the program")
    rc, log = s.finish()
    t.eq(rc, 0, "tlsd exits 0 when the client left")
else:
    t.ok(False, "handshake for close test", err)

# 3. SEC1 EC key, RSA keys in PKCS#8 and PKCS#1
for cert, key, suite in (("ec-cert.pem", "ec-sec1.pem", "ECDHE-ECDSA-AES128-GCM-SHA256"),
                         ("rsa-cert.pem", "rsa-key.pem", "ECDHE-RSA-AES128-GCM-SHA256"),
                         ("rsa-cert.pem", "rsa-pkcs1.pem", "ECDHE-RSA-AES128-GCM-SHA256")):
    use(cert, key)
    s, tls, err = handshake()
    t.ok(tls is not None and s.wait_status().strip() == "ok TLSv1.2 with cipher " + suite,
         f"{key}: handshake with {suite}", err or (s.status if tls else ""))
    if tls:
        tls.close()
    s.finish()

# 4. cert and key in one file (smtpd_tls_key_file defaults to the cert file)
with open(os.path.join(tmp, "combined.pem"), "w") as f:
    f.write(open(os.path.join(tmp, "rsa-key.pem")).read() + open(os.path.join(tmp, "rsa-cert.pem")).read())
os.chmod(os.path.join(tmp, "combined.pem"), 0o600)
use("combined.pem", None)
s, tls, err = handshake()
t.ok(tls is not None, "key and certificate in one file", err)
if tls:
    tls.close()
s.finish()

# 5. cipher choices: chacha when the client only has it; nothing without AEAD/ECDHE
use("ec-cert.pem", "ec-key.pem")
s, tls, err = handshake(client_ctx("ECDHE-ECDSA-CHACHA20-POLY1305", maxv=ssl.TLSVersion.TLSv1_2))
t.ok(tls is not None and "CHACHA20-POLY1305" in s.wait_status(), "ChaCha20-Poly1305 negotiated", err)
if tls:
    tls.close()
s.finish()
s, tls, err = handshake(client_ctx("ECDHE-ECDSA-AES128-SHA", maxv=ssl.TLSVersion.TLSv1_2))
t.ok(tls is None, "CBC-only client refused", tls and tls.cipher())
rc, log = s.finish()
t.ok(rc == 1 and "TLS handshake failed" in log and "rip=127.0.0.1" in log, "and logged", log)

# 6. TLS 1.3-only client refused, no crash
s, tls, err = handshake(client_ctx(minv=ssl.TLSVersion.TLSv1_3))
t.ok(tls is None, "TLS 1.3-only client refused")
rc, log = s.finish()
t.ok(rc == 1 and s.status.startswith("fail "), "status says fail, exit 1", (rc, s.status, log))

# 7. garbage, truncated and empty handshakes
for name, data in (("garbage", b"EHLO not tls at all\r\n" * 10),
                   ("truncated ClientHello", bytes.fromhex("16030100f4010000f00303") + os.urandom(40)),
                   ("immediate close", b"")):
    s = Session()
    c = socket.create_connection(("127.0.0.1", s.port), timeout=30)
    if data:
        c.sendall(data)
    c.shutdown(socket.SHUT_WR)
    st = s.wait_status()
    c.close()
    rc, log = s.finish()
    t.ok(st.startswith("fail ") and rc == 1 and "Sanitizer" not in log, f"{name}: clean failure", (st, rc, log))

# 8. bad files: no TLS, a reason, exit 111, never a crash
cases = (("key readable by others", "ec-cert.pem", "ec-open.pem", "accessible by others"),
         ("key of another certificate", "ec-cert.pem", "other-key.pem", "does not match"),
         ("expired certificate", "ca/old-cert.pem", "ca/old-key.pem", "expired"),
         ("missing key", "ec-cert.pem", "nonexistent.pem", "No such file"),
         ("key file holds no key", "ec-cert.pem", "rsa-cert.pem", "no private key"))
with open(os.path.join(tmp, "ec-open.pem"), "w") as f:
    f.write(open(os.path.join(tmp, "ec-key.pem")).read())
os.chmod(os.path.join(tmp, "ec-open.pem"), 0o644)
os.chmod(os.path.join(tmp, "ca", "old-key.pem"), 0o600)
for name, cert, key, why in cases:
    use(cert, key)
    s = Session()
    c = socket.create_connection(("127.0.0.1", s.port), timeout=30)
    st = s.wait_status()
    c.close()
    rc, log = s.finish()
    t.ok(st.startswith("fail ") and why in st and rc == 111 and "TLS unavailable" in log,
         f"{name}: refused with a reason", (st, rc, log))

# 9. relative paths are relative to YUBIN_ROOT; per-service files override
import shutil
shutil.copy(os.path.join(tmp, "rsa-cert.pem"), os.path.join(root, "control", "cert.pem"))
shutil.copy(os.path.join(tmp, "rsa-key.pem"), os.path.join(root, "control", "key.pem"))
control("smtpd_tls_cert_file", "control/cert.pem")
control("smtpd_tls_key_file", "control/key.pem")
control("imapd_tls_cert_file", os.path.join(tmp, "ec-cert.pem"))
control("imapd_tls_key_file", os.path.join(tmp, "ec-key.pem"))
s, tls, err = handshake()
t.ok(tls is not None and "ECDHE-RSA" in s.wait_status(), "relative paths under YUBIN_ROOT", err)
if tls:
    tls.close()
s.finish()
s = Session("imapd")
raw = socket.create_connection(("127.0.0.1", s.port), timeout=30)
try:
    tls = client_ctx().wrap_socket(raw, server_hostname="localhost")
    t.ok("ECDHE-ECDSA" in s.wait_status(), "imapd_tls_cert_file overrides for service imapd")
    tls.close()
except ssl.SSLError as e:
    t.ok(False, "imapd_tls_cert_file overrides for service imapd", e)
s.finish()


# 10. client mode (yubin-tlsd -c, for yubin-remote), paired with the server mode
class Tlsd:
    """yubin-tlsd ARGS on one end of a socketpair; status read in the background"""

    def __init__(self, args, sock):
        self.proc, a_r, b_w, s_r = spawn_tlsd(args, sock, root)
        self.status = None
        self.done = threading.Event()

        def rd():
            with os.fdopen(s_r, "rb") as f:
                self.status = f.read().decode().strip()
            self.done.set()
        threading.Thread(target=rd, daemon=True).start()
        self.rd = os.fdopen(a_r, "rb", buffering=0)
        self.wr = os.fdopen(b_w, "wb", buffering=0)

    def wait(self):
        self.done.wait(60)
        return self.status

    def end(self):
        try:
            self.wr.close()
        except OSError:
            pass
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = "hung"
        return rc, self.proc.stderr.read().decode(errors="replace")


def pair(client_args, cert="san-cert.pem", key="san-key.pem"):
    use(cert, key)
    a, b = socket.socketpair()
    srv = Tlsd(["smtpd"], a)
    cli = Tlsd(["-c"] + client_args, b)
    return srv, cli


sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
   "-keyout", "san-key.pem", "-out", "san-cert.pem", "-days", "30", "-subj", "/CN=mx.example.test",
   "-addext", "subjectAltName=DNS:mx.example.test")
os.chmod(os.path.join(tmp, "san-key.pem"), 0o600)
san = os.path.join(tmp, "san-cert.pem")

srv, cli = pair(["mx.example.test", "encrypt", "/nonexistent"])
st = cli.wait()
t.ok(st == "ok TLSv1.2 with cipher ECDHE-ECDSA-AES128-GCM-SHA256" and srv.wait() == st,
     "client mode: encrypt-only handshake with our server", (st, srv.status))
cli.wr.write(b"EHLO remote\r\n")
got = srv.rd.read(13)
srv.wr.write(b"250 ok\r\n")
back = cli.rd.read(8)
t.ok(got == b"EHLO remote\r\n" and back == b"250 ok\r\n", "client mode relays both ways")
rc1, _ = cli.end()
rc2, _ = srv.end()
t.ok(rc1 == 0 and rc2 == 0, "both ends exit 0 when the client side closes", (rc1, rc2))

srv, cli = pair(["mx.example.test", "verify", san])
st = cli.wait()
t.ok(st is not None and st.startswith("ok TLSv1.2"), "verify: chain to the CA file and matching name", st)
cli.end(); srv.end()

srv, cli = pair(["other.example.test", "verify", san])
st = cli.wait()
t.ok(st is not None and st.startswith("fail") and "host name" in st, "verify: wrong name refused", st)
cli.end(); srv.end()

srv, cli = pair(["mx.example.test", "verify", os.path.join(tmp, "rsa-cert.pem")])
st = cli.wait()
t.ok(st is not None and st.startswith("fail") and "trusted" in st, "verify: unknown CA refused", st)
cli.end(); srv.end()

srv, cli = pair(["192.0.2.1", "verify", san])
st = cli.wait()
rc, log = cli.end()
srv.end()
t.ok(st is not None and st.startswith("fail") and "host name" in st and rc == 111, "verify needs a name, not an address", (st, rc))

srv, cli = pair(["192.0.2.1", "encrypt", "/nonexistent"])
st = cli.wait()
t.ok(st is not None and st.startswith("ok"), "encrypt to an address: no SNI, no check", st)
cli.end(); srv.end()

srv, cli = pair(["mx.example.test", "verify", "/nonexistent/ca.pem"])
st = cli.wait()
rc, log = cli.end()
srv.end()
t.ok(st is not None and "No such file" in st and rc == 111, "missing CA file: temporary failure with the reason", (st, rc))

if os.path.exists("/etc/ssl/certs/ca-certificates.crt"):
    srv, cli = pair(["mx.example.test", "verify", "/etc/ssl/certs/ca-certificates.crt"])
    st = cli.wait()
    t.ok(st is not None and st.startswith("fail") and "trusted" in st,
         "system bundle loads; a self-signed server is not trusted", st)
    cli.end(); srv.end()
else:
    t.skip("system CA bundle", "no /etc/ssl/certs/ca-certificates.crt")

# client against garbage: a "server" that answers with junk
a, b = socket.socketpair()
cli = Tlsd(["-c", "mx.example.test", "encrypt", "/nonexistent"], b)
a.recv(4096)
a.sendall(b"220 this is not TLS at all\r\n" * 20)
a.close()
st = cli.wait()
rc, log = cli.end()
t.ok(st is not None and st.startswith("fail") and rc == 1, "client: garbage from the server fails cleanly", (st, rc))

shutil.rmtree(tmp, ignore_errors=True)
t.done()
