#!/usr/bin/env python3
"""Two certificates at once (smtpd_tls_cert_file and smtpd_tls_eccert_file,
Postfix's names): one RSA and one EC pair, and per handshake the EC one for
a client that can take ECDSA, the RSA one otherwise. Through a spawned
yubin-tlsd (the fd protocol of tls-tlsd.t) and through the TLS service of a
yubin-run instance (STARTTLS on smtp). A broken second pair (bad mode,
mismatched key, two keys of one type) leaves the first served, is logged,
and yubin-ctl check names it."""
import grp, os, re, smtplib, socket, ssl, subprocess, sys, tempfile, threading
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Tap, Instance, BIN, spawn_tlsd, wait_for, write_control

t = Tap()
RSA_SUITE = "ECDHE-RSA-AES128-GCM-SHA256"
EC_SUITE = "ECDHE-ECDSA-AES128-GCM-SHA256"
tmp = tempfile.mkdtemp(prefix="yubin-dualcert-")
os.chmod(tmp, 0o755)   # the TLS service's workers (yubind) read the files


def sh(*args):
    subprocess.run(args, check=True, capture_output=True, cwd=tmp)


sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "rsa-key.pem",
   "-out", "rsa-cert.pem", "-days", "365", "-subj", "/CN=localhost")
sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
   "-keyout", "ec-key.pem", "-out", "ec-cert.pem", "-days", "365", "-subj", "/CN=localhost")
sh("openssl", "genpkey", "-algorithm", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", "other-key.pem")
sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "rsa2-key.pem",
   "-out", "rsa2-cert.pem", "-days", "365", "-subj", "/CN=localhost")
# an EC certificate that expired in 2020 (openssl req cannot backdate)
ca = os.path.join(tmp, "ca")
os.makedirs(ca)
with open(os.path.join(ca, "ca.cnf"), "w") as f:
    f.write("[ca]\ndefault_ca=d\n[d]\ndir=.\ndatabase=index.txt\nserial=serial\nnew_certs_dir=.\n"
            "default_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n")
open(os.path.join(ca, "index.txt"), "w").close()
with open(os.path.join(ca, "serial"), "w") as f:
    f.write("01\n")
for args in (["req", "-new", "-key", "../ec-key.pem", "-out", "old.csr", "-subj", "/CN=localhost"],
             ["ca", "-batch", "-config", "ca.cnf", "-selfsign", "-keyfile", "../ec-key.pem", "-in", "old.csr",
              "-out", "../ec-old-cert.pem", "-startdate", "20200101000000Z", "-enddate", "20200201000000Z"]):
    subprocess.run(["openssl"] + args, check=True, capture_output=True, cwd=ca)
subprocess.run(["rm", "-rf", ca])
# as root the service runs as yubind with group yubint, the keys' group
try:
    key_gid = grp.getgrnam("yubint").gr_gid if os.geteuid() == 0 else -1
except KeyError:
    key_gid = -1
for f in os.listdir(tmp):
    os.chmod(os.path.join(tmp, f), 0o640 if "key" in f else 0o644)   # smtpd reads the certificates
    if key_gid >= 0 and "key" in f:
        os.chown(os.path.join(tmp, f), 0, key_gid)


def der(name):
    with open(os.path.join(tmp, name)) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


RSA, EC, RSA2 = der("rsa-cert.pem"), der("ec-cert.pem"), der("rsa2-cert.pem")


def configure(write, cert, key, eccert=None, eckey=None):
    """the four settings through write(name, value or None)"""
    p = lambda f: f and os.path.join(tmp, f)
    write("smtpd_tls_cert_file", p(cert))
    write("smtpd_tls_key_file", p(key))
    write("smtpd_tls_eccert_file", p(eccert))
    write("smtpd_tls_eckey_file", p(eckey))


def s_client_result(out):
    """(certificate DER, cipher) from openssl s_client's output"""
    m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", out, re.S)
    c = re.search(r"Cipher is (\S+)", out)
    return (ssl.PEM_cert_to_DER_cert(m.group(0)) if m else None), (c.group(1) if c else None)


def s_client(port, *opts, starttls=False):
    args = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost"] + list(opts)
    if starttls:
        args += ["-starttls", "smtp"]
    try:
        r = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=30, text=True,
                           errors="replace")
    except subprocess.TimeoutExpired:
        return None, "timeout"
    return s_client_result(r.stdout)


def py_ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


# --- spawned yubin-tlsd: socket on 0/1, plaintext on 3/4, status on 5 -----
root = os.path.join(tmp, "root")
os.makedirs(os.path.join(root, "control"))


def control(name, value):
    write_control(root, name, value)


class Spawned:
    """a listening socket whose one connection goes to a new yubin-tlsd;
    finish() returns its exit code and log"""

    def __init__(self):
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1)
        self.port = self.lsock.getsockname()[1]
        self.started = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        conn, _ = self.lsock.accept()
        self.proc, a_r, b_w, s_r = spawn_tlsd(["smtpd"], conn, root)
        self.status = os.read(s_r, 512).decode()
        os.close(s_r)
        self.from_tlsd, self.to_tlsd = a_r, b_w
        self.started.set()

    def finish(self):
        self.started.wait(30)
        os.close(self.to_tlsd)
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = "hung"
        os.close(self.from_tlsd)
        self.lsock.close()
        return rc, self.proc.stderr.read().decode(errors="replace")


def spawned_s_client(*opts):
    s = Spawned()
    got = s_client(s.port, *opts)
    rc, log = s.finish()
    return got, rc, log


def spawned_python():
    s = Spawned()
    with socket.create_connection(("127.0.0.1", s.port), timeout=30) as raw:
        with py_ctx().wrap_socket(raw, server_hostname="localhost") as tls:
            got = (tls.getpeercert(binary_form=True), tls.cipher()[0])
    s.finish()
    return got


configure(control, "rsa-cert.pem", "rsa-key.pem", "ec-cert.pem", "ec-key.pem")
(cert, cipher), rc, log = spawned_s_client("-cipher", RSA_SUITE)
t.ok(cert == RSA and cipher == RSA_SUITE, "spawned: an RSA-only client gets the RSA certificate", (cipher, log))
t.eq(rc, 0, "spawned: session ends cleanly")
(cert, cipher), rc, log = spawned_s_client("-cipher", EC_SUITE)
t.ok(cert == EC and cipher == EC_SUITE, "spawned: an ECDSA-only client gets the EC certificate", (cipher, log))
cert, cipher = spawned_python()
t.ok(cert == EC and cipher == EC_SUITE, "spawned: python's default client gets ECDSA", cipher)
(cert, cipher), rc, log = spawned_s_client("-cipher", f"{EC_SUITE}:{RSA_SUITE}", "-sigalgs", "RSA+SHA256:RSA+SHA384")
t.ok(cert == RSA and cipher == RSA_SUITE, "spawned: no ECDSA signature algorithm: RSA", (cipher, log))
(cert, cipher), rc, log = spawned_s_client("-cipher", f"{EC_SUITE}:{RSA_SUITE}", "-groups", "X25519")
t.ok(cert == RSA and cipher == RSA_SUITE, "spawned: the EC certificate's curve not offered: RSA", (cipher, log))
for suite in ("ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"):
    (cert, cipher), rc, log = spawned_s_client("-cipher", suite)
    t.ok(cert == (RSA if "RSA" in suite else EC) and cipher == suite, f"spawned: {suite} signed and verified",
         (cipher, log))

configure(control, "ec-cert.pem", "ec-key.pem", "rsa-cert.pem", "rsa-key.pem")
(cert, cipher), rc, log = spawned_s_client("-cipher", RSA_SUITE)
t.ok(cert == RSA and cipher == RSA_SUITE, "spawned, pairs the other way round: RSA client gets RSA", (cipher, log))
cert, cipher = spawned_python()
t.ok(cert == EC and cipher == EC_SUITE, "spawned, pairs the other way round: python gets ECDSA", cipher)

configure(control, "rsa-cert.pem", "rsa-key.pem", "ec-cert.pem", "other-key.pem")
(cert, cipher), rc, log = spawned_s_client("-cipher", RSA_SUITE)
t.ok(cert == RSA, "spawned, mismatched EC key: the RSA pair is still served", log)
t.ok("TLS second certificate not used" in log and "other-key.pem: private key does not match" in log,
     "spawned, mismatched EC key: logged", log)
(cert, cipher), rc, log = spawned_s_client("-cipher", f"{EC_SUITE}:{RSA_SUITE}")
t.ok(cert == RSA and cipher == RSA_SUITE, "spawned, mismatched EC key: ECDSA clients get RSA", (cipher, log))

configure(control, "rsa-cert.pem", "rsa-key.pem", "rsa2-cert.pem", "rsa2-key.pem")
(cert, cipher), rc, log = spawned_s_client()
t.ok(cert == RSA and "both have RSA keys" in log, "spawned, two RSA pairs: the first served, logged", log)

os.chmod(os.path.join(tmp, "ec-key.pem"), 0o644)
configure(control, "rsa-cert.pem", "rsa-key.pem", "ec-cert.pem", "ec-key.pem")
(cert, cipher), rc, log = spawned_s_client()
t.ok(cert == RSA and "ec-key.pem: private key is accessible by others" in log,
     "spawned, EC key readable by others: not used, RSA served, logged", log)
os.chmod(os.path.join(tmp, "ec-key.pem"), 0o640)

configure(control, "rsa-cert.pem", "rsa-key.pem", "ec-old-cert.pem", "ec-key.pem")
(cert, cipher), rc, log = spawned_s_client("-cipher", f"{EC_SUITE}:{RSA_SUITE}")
t.ok(cert == RSA and "ec-old-cert.pem: certificate expired" in log,
     "spawned, expired EC certificate: not used, RSA served, logged", log)
r = subprocess.run([os.path.join(BIN, "yubin-ctl"), "check"], capture_output=True, text=True,
                   env=dict(os.environ, YUBIN_ROOT=root))
t.ok("ec-old-cert.pem: certificate expired" in r.stdout, "yubin-ctl check names the expired second certificate",
     r.stdout)

configure(control, "rsa-cert.pem", "rsa-key.pem")
(cert, cipher), rc, log = spawned_s_client("-cipher", f"{EC_SUITE}:{RSA_SUITE}")
t.ok(cert == RSA and cipher == RSA_SUITE and not log, "spawned, one pair: as before, nothing logged", log)

# --- the TLS service of a yubin-run instance: STARTTLS on smtp ------------
y = Instance()
try:
    sock = os.path.join(y.root, "queue", "public", "tlsd")
    t.ok(wait_for(lambda: os.path.exists(sock), 30), "the instance runs the TLS service")
    port = y.port("smtp")
    configure(y.control, "rsa-cert.pem", "rsa-key.pem", "ec-cert.pem", "ec-key.pem")
    cert, cipher = s_client(port, "-cipher", RSA_SUITE, starttls=True)
    t.ok(cert == RSA and cipher == RSA_SUITE, "service: an RSA-only client gets the RSA certificate", cipher)
    cert, cipher = s_client(port, "-cipher", EC_SUITE, starttls=True)
    t.ok(cert == EC and cipher == EC_SUITE, "service: an ECDSA-only client gets the EC certificate", cipher)
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        s.starttls(context=py_ctx())
        got = (s.sock.getpeercert(binary_form=True), s.sock.cipher()[0])
        t.eq(s.noop()[0], 250, "service: the session goes on over TLS")
    t.ok(got == (EC, EC_SUITE), "service: python's default client gets ECDSA", got[1])

    configure(y.control, "rsa-cert.pem", "rsa-key.pem", "ec-cert.pem", "other-key.pem")
    cert, cipher = s_client(port, "-cipher", f"{EC_SUITE}:{RSA_SUITE}", starttls=True)
    t.ok(cert == RSA and cipher == RSA_SUITE, "service, mismatched EC key: the RSA pair is still served", cipher)
    t.ok(wait_for(lambda: "other-key.pem: private key does not match" in y.log(), 20),
         "service, mismatched EC key: logged", y.log()[-2000:])
    r = y.run("yubin-ctl", "check", check=False)
    t.ok(r.returncode == 1 and "other-key.pem: private key does not match the certificate" in r.stdout.decode(),
         "yubin-ctl check names the mismatched second key", r.stdout)

    configure(y.control, "rsa-cert.pem", "rsa-key.pem", "ec-cert.pem", "ec-key.pem")
    os.chmod(os.path.join(tmp, "ec-key.pem"), 0o644)
    cert, cipher = s_client(port, "-cipher", f"{EC_SUITE}:{RSA_SUITE}", starttls=True)
    t.ok(cert == RSA and cipher == RSA_SUITE, "service, EC key readable by others: RSA served", cipher)
    t.ok(wait_for(lambda: "ec-key.pem: private key is accessible by others" in y.log(), 20),
         "service, EC key readable by others: logged")
    r = y.run("yubin-ctl", "check", check=False)
    out = r.stdout.decode()
    t.ok(r.returncode == 1 and out.count("ec-key.pem: private key is accessible by others (mode 0644)") == 1,
         "yubin-ctl check names the second key's mode, once", out)
    os.chmod(os.path.join(tmp, "ec-key.pem"), 0o640)
    cert, cipher = s_client(port, "-cipher", EC_SUITE, starttls=True)
    t.ok(cert == EC and cipher == EC_SUITE, "service: the repaired EC pair is served at the next handshake", cipher)
    r = y.run("yubin-ctl", "check", check=False)
    out = r.stdout.decode()
    t.ok("ec-key.pem" not in out and "ec-cert.pem" not in out, "yubin-ctl check: nothing about the repaired pair",
         out)
finally:
    y.__exit__(None, None, None)
    subprocess.run(["rm", "-rf", tmp])
t.done()
