#!/usr/bin/env python3
"""TLS through the real front ends of a yubin-run instance: openssl
s_client -starttls smtp on 25 and 587, implicit TLS on 465, the Received
header, STARTTLS injection, garbage and truncated handshakes (and the next
connection still works), and what a bad key file does (no STARTTLS offered,
or a logged handshake failure) — never a crash."""
import os, socket, ssl, subprocess, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Tap, Instance, wait_messages

t = Tap()


def s_client(port, starttls=True, extra=()):
    args = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-brief", "-ign_eof"]
    if starttls:
        args += ["-starttls", "smtp"]
    p = subprocess.run(args + list(extra), input=b"EHLO client.test\r\nQUIT\r\n", capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")


def read_reply(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            return lines
        lines.append(line.decode(errors="replace").rstrip("\r\n"))
        if len(line) < 4 or line[3:4] != b"-":
            return lines


def ehlo(port):
    """plain EHLO; returns the reply lines"""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as c:
        f = c.makefile("rb")
        read_reply(f)
        c.sendall(b"EHLO client.test\r\n")
        r = read_reply(f)
        c.sendall(b"QUIT\r\n")
        return r


def ctx():
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def next_works(y, name):
    rc, out = s_client(y.port("smtp"))
    t.ok(rc == 0 and "TLSv1.2" in out and "250" in out, f"{name}: the next connection works", out)


with Instance() as y:
    smtp, sub, subs = y.port("smtp"), y.port("submission"), y.port("submissions")

    r = ehlo(smtp)
    t.ok(any("STARTTLS" in l for l in r), "port 25 offers STARTTLS (yubin-run made a certificate)", r)
    rc, out = s_client(smtp)
    t.ok(rc == 0 and "Protocol version: TLSv1.2" in out and "Ciphersuite: ECDHE-ECDSA-AES128-GCM-SHA256" in out
         and ("250-localhost" in out or "250 " in out), "openssl s_client -starttls smtp on 25", out)
    rc, out = s_client(sub)
    t.ok(rc == 0 and "TLSv1.2" in out, "-starttls smtp on 587", out)
    import smtplib
    with smtplib.SMTP("127.0.0.1", sub, timeout=30) as c:
        c.ehlo()
        before = c.has_extn("auth")
        c.starttls(context=ctx())
        c.ehlo()
        t.ok(not before and c.has_extn("auth") and "PLAIN" in c.esmtp_features.get("auth", "").upper(),
             "587: AUTH offered only after TLS", c.esmtp_features)
    rc, out = s_client(subs, starttls=False)
    t.ok(rc == 0 and "TLSv1.2" in out and "220 " in out, "implicit TLS on 465: greeting inside TLS", out)
    rc, out = s_client(smtp, extra=["-tls1_3"])
    t.ok(rc != 0, "TLS 1.3-only client refused (BearSSL speaks 1.2)")
    next_works(y, "after a 1.3-only client")
    t.ok("TLS connection established from localhost[127.0.0.1]: TLSv1.2 with cipher" in y.log(),
         "smtpd logs the TLS connection")

    # the Received header records the protocol and cipher, as Postfix does
    with socket.create_connection(("127.0.0.1", smtp), timeout=30) as raw:
        f = raw.makefile("rb")
        read_reply(f)
        raw.sendall(b"EHLO client.test\r\n")
        read_reply(f)
        raw.sendall(b"STARTTLS\r\n")
        read_reply(f)
        tls = ctx().wrap_socket(raw, server_hostname="localhost")
        g = tls.makefile("rb")
        for cmd in (b"EHLO client.test", b"MAIL FROM:<a@client.test>", b"RCPT TO:<demo@example.test>", b"DATA"):
            tls.sendall(cmd + b"\r\n")
            read_reply(g)
        tls.sendall(b"Subject: over tls\r\n\r\nhello\r\n.\r\n")
        done = read_reply(g)
        tls.sendall(b"QUIT\r\n")
    t.ok(done and done[-1].startswith("250"), "message accepted over STARTTLS", done)
    msgs = wait_messages(y.maildir("demo@example.test"), 1)
    body = b"".join(msgs.values())
    t.ok(b"(using TLSv1.2 with cipher ECDHE-ECDSA-AES128-GCM-SHA256)" in body, "Received: (using TLSv1.2 with cipher ...)",
         body[:600])

    # STARTTLS injection: a command pipelined after STARTTLS is never answered
    with socket.create_connection(("127.0.0.1", smtp), timeout=30) as raw:
        f = raw.makefile("rb")
        read_reply(f)
        raw.sendall(b"EHLO client.test\r\n")
        read_reply(f)
        raw.sendall(b"STARTTLS\r\nMAIL FROM:<evil@client.test>\r\n")
        ready = read_reply(f)
        tls = ctx().wrap_socket(raw, server_hostname="localhost")
        tls.settimeout(2)
        try:
            leaked = tls.recv(100)
        except (socket.timeout, TimeoutError):
            leaked = b""
        tls.settimeout(30)
        tls.sendall(b"MAIL FROM:<a@client.test>\r\n")
        after = read_reply(tls.makefile("rb"))
        tls.sendall(b"QUIT\r\n")
    t.ok(ready and ready[0].startswith("220") and leaked == b"", "bytes after STARTTLS are discarded unanswered",
         (ready, leaked))
    t.ok(after and after[0].startswith("503"), "after TLS the session is reset: EHLO needed again", after)

    # garbage and truncated handshakes end that connection only
    for name, data in (("garbage handshake", b"\x16\x03\x01\x00\x05hello" + os.urandom(200)),
                       ("plain text instead of TLS", b"EHLO client.test\r\n"),
                       ("truncated ClientHello", bytes.fromhex("16030100f4010000f00303") + os.urandom(30))):
        with socket.create_connection(("127.0.0.1", smtp), timeout=30) as raw:
            f = raw.makefile("rb")
            read_reply(f)
            raw.sendall(b"EHLO client.test\r\n")
            read_reply(f)
            raw.sendall(b"STARTTLS\r\n")
            read_reply(f)
            try:
                # the server may already have dropped the connection (RST)
                raw.sendall(data)
                raw.shutdown(socket.SHUT_WR)
                while raw.recv(4096):
                    pass
            except OSError:
                pass
        next_works(y, name)
    with socket.create_connection(("127.0.0.1", subs), timeout=30) as raw:
        try:
            raw.sendall(os.urandom(300))
            raw.shutdown(socket.SHUT_WR)
            while raw.recv(4096):
                pass
        except OSError:
            pass
    rc, out = s_client(subs, starttls=False)
    t.ok(rc == 0 and "220 " in out, "garbage on 465, then the next connection works", out)
    log = y.log()
    t.ok("TLS handshake failed" in log, "failed handshakes are logged")
    t.ok("AddressSanitizer" not in log and "runtime error" not in log and "Segmentation" not in log,
         "no crash or sanitizer report in the log")

    # a key file readable by others: STARTTLS not offered, logged; fixed: back
    key = os.path.join(y.root, "control", "key.pem")
    mode = os.stat(key).st_mode & 0o7777
    os.chmod(key, 0o644)
    r = ehlo(smtp)
    t.ok(not any("STARTTLS" in l for l in r) and any(l.startswith("250") for l in r),
         "key readable by others: EHLO works, no STARTTLS", r)
    t.ok("accessible by others" in y.log(), "and the reason is logged")
    rc, out = s_client(subs, starttls=False)
    t.ok(rc != 0, "implicit TLS fails cleanly meanwhile")
    os.chmod(key, mode)
    next_works(y, "key mode fixed")

    # a key that does not match: the handshake fails with a logged reason
    other = os.path.join(y.root, "control", "other-key.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-out", other], check=True, capture_output=True)
    os.chmod(other, mode)
    st = os.stat(key)
    os.chown(other, st.st_uid, st.st_gid)
    y.control("smtpd_tls_key_file", other)
    rc, out = s_client(smtp)
    t.ok(rc != 0, "mismatched key: no TLS session")
    t.ok("does not match the certificate" in y.log(), "mismatch logged by yubin-tlsd")
    y.control("smtpd_tls_key_file", key)
    next_works(y, "key restored")

t.done()
