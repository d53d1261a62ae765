#!/usr/bin/env python3
"""yubin-tlsd -d, the TLS service (src/tlsd/daemon.c), driven the way
tls_start_server() drives it: a connection to queue/public/tlsd, the request
"SERVICE\\0IP\\0" with the client's socket attached, the status line, then
plaintext both ways over that connection. Handshake and relay, endings from
either side, worker reuse, a renewed certificate served at the next
handshake, malformed requests refused with the service still sound, kill -9
of a busy worker, no certificate; and yubin-smtpd's STARTTLS through the service and, when it is
not running, through a spawned yubin-tlsd."""
import os, shutil, signal, smtplib, socket, ssl, subprocess, sys, tempfile, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Tap, Instance, BIN, children, tls_client_context, wait_for

t = Tap()
TLSD = os.path.join(BIN, "yubin-tlsd")

y = Instance()
y.stop()   # a root with a certificate and control files, nothing running
root = y.root
path = os.path.join(root, "queue", "public", "tlsd")
logpath = os.path.join(root, "log", "tlsd.log")
env = dict(os.environ, YUBIN_ROOT=root)


def start_service():
    log = open(logpath, "ab")
    p = subprocess.Popen([TLSD, "-d"], env=env, stderr=log, start_new_session=True)
    log.close()

    def up():
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            s.close()
            return True
        except OSError:
            return False
    wait_for(up, 20)
    return p


def status_line(prog):
    line = b""
    while not line.endswith(b"\n"):
        b = prog.recv(1)
        if not b:
            break
        line += b
    return line.decode(errors="replace").strip()


class Handoff:
    """a TCP client whose server end goes to the service in one request;
    .status is the service's answer, .tls the client's TLS socket (or the
    exception its handshake raised), .prog the program's plaintext side"""

    def __init__(self, request=None, fds=None, handshake=True):
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(1)
        self.client = socket.create_connection(lsock.getsockname(), timeout=30)
        server, _ = lsock.accept()
        lsock.close()
        self.prog = socket.socket(socket.AF_UNIX)
        self.prog.settimeout(30)
        self.prog.connect(path)
        self.tls = None
        if handshake:
            th = threading.Thread(target=self._handshake, daemon=True)
            th.start()
        request = request if request is not None else b"smtpd\x00127.0.0.1\0"
        fds = [server.fileno()] if fds is None else fds
        if fds:
            socket.send_fds(self.prog, [request], fds)
        else:
            self.prog.sendall(request)
        server.close()
        self.status = status_line(self.prog)
        if handshake:
            th.join(30)

    def _handshake(self):
        try:
            self.tls = tls_client_context().wrap_socket(self.client)
        except Exception as e:
            self.tls = e


def workers(pool):
    return children(pool.pid, "yubin-tlsd")


pool = start_service()
t.ok(pool.poll() is None and os.path.exists(path), "yubin-tlsd -d listens on queue/public/tlsd")

h = Handoff()
t.ok(h.status.startswith("ok TLSv1.2 with cipher ECDHE-"), "the status line names TLS 1.2 and the cipher", h.status)
t.ok(isinstance(h.tls, ssl.SSLSocket) and h.tls.version() == "TLSv1.2", "the client completed a TLS 1.2 handshake",
     h.tls)
h.tls.sendall(b"EHLO client.example\r\n")
t.eq(h.prog.recv(100), b"EHLO client.example\r\n", "client -> program: plaintext arrives")
h.prog.sendall(b"250 ok\r\n")
t.eq(h.tls.recv(100), b"250 ok\r\n", "program -> client: plaintext arrives encrypted")
h.prog.close()
try:
    end = h.tls.recv(100)
except (ssl.SSLError, OSError) as e:
    end = e
t.eq(end, b"", "the program closing: the client gets close_notify and EOF")
h.tls.close()

h = Handoff()
h.tls.sendall(b"QUIT\r\n")
h.prog.recv(100)
h.tls.close()
t.eq(h.prog.recv(100), b"", "the client closing: the program reads EOF")
h.prog.close()

ok = 0
for i in range(20):
    h = Handoff()
    if h.status.startswith("ok ") and isinstance(h.tls, ssl.SSLSocket):
        h.tls.sendall(b"NOOP\r\n")
        if h.prog.recv(100) == b"NOOP\r\n":
            ok += 1
        h.tls.close()
    h.prog.close()
t.eq(ok, 20, "20 sessions one after another all work")
t.ok(len(workers(pool)) <= 3, "served by reused workers, not one process each", workers(pool))

# a renewed certificate (new key too) is served at the next handshake
cert_file = open(os.path.join(root, "control", "smtpd_tls_cert_file")).read().strip()
key_file = open(os.path.join(root, "control", "smtpd_tls_key_file")).read().strip()
tmp = tempfile.mkdtemp(prefix="yubin-tls-service-")
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", "key.pem", "-out", "cert.pem", "-days", "30", "-subj", "/CN=renewed.example"],
               check=True, capture_output=True, cwd=tmp)
st = os.stat(key_file)
for src, dst, mode in (("cert.pem", cert_file, 0o644), ("key.pem", key_file, st.st_mode & 0o777)):
    shutil.copy(os.path.join(tmp, src), dst + ".new")
    os.chown(dst + ".new", st.st_uid, st.st_gid)
    os.chmod(dst + ".new", mode)
    os.rename(dst + ".new", dst)
with open(os.path.join(tmp, "cert.pem")) as f:
    renewed = ssl.PEM_cert_to_DER_cert(f.read())
h = Handoff()
t.ok(isinstance(h.tls, ssl.SSLSocket) and h.tls.getpeercert(binary_form=True) == renewed,
     "after a renewal the next handshake presents the new certificate", h.status)
if isinstance(h.tls, ssl.SSLSocket):
    h.tls.close()
h.prog.close()
shutil.rmtree(tmp)

# malformed requests: refused, and the service goes on
r, w = os.pipe()
s1, s2 = socket.socketpair()
bad = [
    ("a request without a socket", dict(request=b"smtpd\x00127.0.0.1\0", fds=[])),
    ("a pipe instead of a socket", dict(request=b"smtpd\x00127.0.0.1\0", fds=[r])),
    ("two sockets", dict(request=b"smtpd\x00127.0.0.1\0", fds=None, extra=[s1.fileno()])),
    ("a service name with a slash", dict(request=b"../smtpd\x00127.0.0.1\0")),
    ("no address field", dict(request=b"smtpd")),
    ("an address with a newline", dict(request=b"smtpd\x00127.0.0.1\nfake\0")),
    ("garbage bytes", dict(request=bytes(range(256)) * 4)),
]
for name, kw in bad:
    extra = kw.pop("extra", None)
    if extra:
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(1)
        c = socket.create_connection(lsock.getsockname())
        srv, _ = lsock.accept()
        kw = dict(request=b"smtpd\x00127.0.0.1\0", fds=[srv.fileno()] + extra)
    h = Handoff(handshake=False, **kw)
    t.ok(h.status.startswith("fail "), f"{name}: refused", h.status)
    h.prog.close()
    h.client.close()
# a caller that connects and leaves without a word
s = socket.socket(socket.AF_UNIX)
s.connect(path)
s.close()
os.close(r)
os.close(w)
h = Handoff()
t.ok(h.status.startswith("ok ") and pool.poll() is None, "after all that the next handoff works", h.status)
if isinstance(h.tls, ssl.SSLSocket):
    h.tls.close()
h.prog.close()

# kill -9 of a worker in the middle of a session: both ends see the
# connection end, and the service serves the next one
h = Handoff()
before = set(workers(pool))
h.tls.sendall(b"NOOP\r\n")
h.prog.recv(100)
victim = None
for w in before:
    try:
        # the busy worker holds the client's TCP socket beside the Unix one
        links = [os.readlink(f"/proc/{w}/fd/{fd}") for fd in os.listdir(f"/proc/{w}/fd")]
    except OSError:
        continue
    if sum(l.startswith("socket:") for l in links) >= 4:
        victim = w
if victim:
    os.kill(victim, signal.SIGKILL)
try:
    end = h.prog.recv(100)
except OSError:
    end = b""
try:
    tls_end = h.tls.recv(100)
except (ssl.SSLError, OSError):
    tls_end = b""
t.ok(victim is not None and end == b"" and tls_end == b"", "kill -9 of a busy worker: the program and the client see the end",
     (victim, end, tls_end))
h.prog.close()
h = Handoff()
t.ok(h.status.startswith("ok ") and pool.poll() is None, "and the next handoff works", h.status)
if isinstance(h.tls, ssl.SSLSocket):
    h.tls.close()
h.prog.close()

# a service without a certificate: the status says why
os.rename(os.path.join(root, "control", "smtpd_tls_cert_file"), os.path.join(root, "control", "cert.off"))
h = Handoff(handshake=False)
t.ok(h.status.startswith("fail no certificate configured"), "no certificate: fail with the reason", h.status)
h.prog.close()
os.rename(os.path.join(root, "control", "cert.off"), os.path.join(root, "control", "smtpd_tls_cert_file"))


def smtpd_starttls():
    """STARTTLS on a yubin-smtpd started the tcpserver way; returns (ok,
    whether a yubin-tlsd child of smtpd carried the TLS)"""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    port = lsock.getsockname()[1]
    out = {}

    def serve():
        conn, peer = lsock.accept()
        p = subprocess.Popen([os.path.join(BIN, "yubin-smtpd")], stdin=conn, stdout=conn, stderr=subprocess.DEVNULL,
                             env=dict(env, TCPREMOTEIP="127.0.0.1", TCPLOCALIP="127.0.0.1", PROTO="TCP"))
        conn.close()
        out["pid"] = p.pid
        out["proc"] = p
    th = threading.Thread(target=serve, daemon=True)
    th.start()
    s = smtplib.SMTP("127.0.0.1", port, timeout=60)
    th.join(30)
    s.starttls(context=tls_client_context())
    code = s.ehlo("client.example")[0]
    spawned = bool(children(out["pid"], "yubin-tlsd"))
    s.quit()
    out["proc"].wait(30)
    lsock.close()
    return code == 250, spawned


ok, spawned = smtpd_starttls()
t.ok(ok and not spawned, "yubin-smtpd's STARTTLS goes through the service (no yubin-tlsd child)")
ws = workers(pool)
pool.send_signal(signal.SIGTERM)
pool.wait(30)
t.ok(ws and wait_for(lambda: not any(os.path.exists(f"/proc/{w}") for w in ws), 20),
     "SIGTERM stops the service and its workers", ws)
ok, spawned = smtpd_starttls()
t.ok(ok and spawned, "without the service, STARTTLS works through a spawned yubin-tlsd")

with open(logpath, errors="replace") as f:
    log = f.read()
t.ok("malformed request" in log and "TLS unavailable: service=smtpd" in log,
     "refusals and the missing certificate are logged", log[-2000:])
t.done()
