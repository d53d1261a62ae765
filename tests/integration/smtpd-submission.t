#!/usr/bin/env python3
"""yubin-submission (587 STARTTLS, 465 implicit TLS) and AUTH on port 25,
with real clients: python smtplib (starttls + login, SMTP_SSL), swaks
(--tls, AUTH PLAIN and LOGIN), msmtp (tls_starttls on and off), curl
smtps:// --user. And the refusals: AUTH and MAIL before TLS (530), MAIL
before AUTH (530 5.7.0), a wrong password (535 5.7.8 and a fail2ban log
line), too many failures (421), a sender the login does not own (553
5.7.1). Submission adds Date, Message-ID and From when missing; an
authenticated client may relay through port 25 with
permit_sasl_authenticated."""
import os, shutil, smtplib, socket, ssl, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Tap, Instance, wait_for, maildir_messages

t = Tap()
USER, PASS = "demo@example.test", "demo"


def ctx():
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def delivered(y, marker, timeout=60):
    box = y.maildir(USER)
    wait_for(lambda: any(marker in m for m in maildir_messages(box).values()), timeout)
    return [m for m in maildir_messages(box).values() if marker in m]


def starttls_login(y, port_name="submission", user=USER, password=PASS):
    s = smtplib.SMTP("127.0.0.1", y.port(port_name), timeout=60)
    s.ehlo("client.example.org")
    s.starttls(context=ctx())
    s.ehlo("client.example.org")
    if user:
        s.login(user, password)
    return s


def swaks(y, port_name, *args):
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(y.port(port_name)), "--helo", "swaks.example.org",
                        "--timeout", "60"] + list(args), capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout + r.stderr


with Instance() as y:
    # --- smtplib: STARTTLS + login on 587, SMTP_SSL on 465 ------------------
    s = smtplib.SMTP("127.0.0.1", y.port("submission"), timeout=60)
    s.ehlo("client.example.org")
    t.ok(s.has_extn("starttls") and not s.has_extn("auth"), "587 before TLS: STARTTLS offered, AUTH not")
    code, text = s.docmd("AUTH PLAIN AGRlbW9AZXhhbXBsZS50ZXN0AGRlbW8=")
    t.eq((code, text), (530, b"5.7.0 Must issue a STARTTLS command first"), "AUTH before TLS refused on 587")
    code, text = s.docmd("MAIL FROM:<demo@example.test>")
    t.eq(code, 530, "MAIL before TLS refused on 587")
    s.starttls(context=ctx())
    s.ehlo("client.example.org")
    t.ok("PLAIN" in s.esmtp_features.get("auth", "") and "LOGIN" in s.esmtp_features.get("auth", ""),
         "after STARTTLS: AUTH PLAIN LOGIN offered")
    code, text = s.docmd("MAIL FROM:<demo@example.test>")
    t.eq((code, text), (530, b"5.7.0 Authentication required"), "MAIL before AUTH: 530 5.7.0")
    code, text = s.login(USER, PASS)
    t.eq((code, text), (235, b"2.7.0 Authentication successful"), "smtplib login (PLAIN) after STARTTLS: 235")
    refused = s.sendmail(USER, [USER], b"To: demo@example.test\r\nSubject: sub-smtplib\r\n\r\nno date, no id, no from\r\n")
    s.quit()
    t.eq(refused, {}, "authenticated submission accepted")
    got = delivered(y, b"sub-smtplib")
    m = got[0] if got else b""
    head = m.split(b"\n\n", 1)[0]
    t.ok(b"with ESMTPSA id " in head and b"(using TLSv1.2 with cipher" in head, "Received: with ESMTPSA, (using TLSv1.2 ...)", head)
    t.ok(b"\nDate: " in head and b"\nMessage-ID: <" in head and b"\nFrom: <demo@example.test>" in head,
         "submission added Date, Message-ID and From", head)
    t.ok(b"Authenticated sender" not in head, "the login is not in the header by default")
    t.ok(wait_for(lambda: "sasl_method=PLAIN, sasl_username=demo@example.test" in y.log(), 10),
         "log: QID: client=..., sasl_method=PLAIN, sasl_username=...")

    s = smtplib.SMTP_SSL("127.0.0.1", y.port("submissions"), timeout=60, context=ctx())
    s.ehlo("client.example.org")
    t.ok(not s.has_extn("starttls") and s.has_extn("auth"), "465: inside TLS from the start, AUTH offered, no STARTTLS")
    s.login(USER, PASS)
    refused = s.sendmail(USER, [USER], b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <keep@example.test>\r\n"
                                       b"From: Demo <demo@example.test>\r\nSubject: sub-465\r\n\r\nx\r\n")
    s.quit()
    t.eq(refused, {}, "SMTP_SSL on 465 + login + send")
    got = delivered(y, b"sub-465")
    head = got[0].split(b"\n\n", 1)[0] if got else b""
    t.ok(head.count(b"\nDate: ") == 1 and b"Message-ID: <keep@example.test>" in head and head.count(b"\nFrom: ") == 1,
         "existing Date, Message-ID and From are kept, not doubled", head)

    # --- swaks: --tls with AUTH PLAIN and LOGIN ------------------------------
    for mech in ("PLAIN", "LOGIN"):
        code, out = swaks(y, "submission", "--tls", "--auth", mech, "--auth-user", USER, "--auth-password", PASS,
                          "--from", USER, "--to", USER, "--header", f"Subject: sub-swaks-{mech}")
        t.ok(code == 0 and "235 2.7.0 Authentication successful" in out and "250 2.0.0 Ok: queued as" in out,
             f"swaks --tls --auth {mech} on 587", out[-1500:])
        t.eq(len(delivered(y, f"sub-swaks-{mech}".encode())), 1, f"swaks {mech} message delivered")

    # --- msmtp: STARTTLS on 587 and implicit TLS on 465 ----------------------
    if shutil.which("msmtp"):
        for name, port, starttls in (("starttls", y.port("submission"), "on"), ("implicit", y.port("submissions"), "off")):
            conf = os.path.join(y.tmp, f"msmtprc-{name}")
            with open(conf, "w") as f:
                f.write(f"account default\nhost 127.0.0.1\nport {port}\nfrom {USER}\nauth on\nuser {USER}\n"
                        f"password {PASS}\ntls on\ntls_starttls {starttls}\ntls_certcheck off\n")
            os.chmod(conf, 0o600)
            r = subprocess.run(["msmtp", "-C", conf, USER], input=f"Subject: sub-msmtp-{name}\n\nfrom msmtp\n".encode(),
                               capture_output=True, timeout=120)
            t.ok(r.returncode == 0, f"msmtp tls_starttls {starttls} sends", r.stderr)
            t.eq(len(delivered(y, f"sub-msmtp-{name}".encode())), 1, f"msmtp ({name}) message delivered")
    else:
        t.skip("msmtp sends over submission", "msmtp is not installed")

    # --- curl smtps:// --user -------------------------------------------------
    with tempfile.NamedTemporaryFile("wb", suffix=".eml", delete=False) as f:
        f.write(b"From: demo@example.test\r\nTo: demo@example.test\r\nSubject: sub-curl\r\n\r\nfrom curl\r\n")
    r = subprocess.run(["curl", "-sS", "-k", "--max-time", "60", f"smtps://127.0.0.1:{y.port('submissions')}/curl.example.org",
                        "--user", f"{USER}:{PASS}", "--mail-from", USER, "--mail-rcpt", USER, "-T", f.name],
                       capture_output=True, text=True, timeout=120)
    t.ok(r.returncode == 0, "curl smtps:// --user sends", r.stderr)
    t.eq(len(delivered(y, b"sub-curl")), 1, "curl message delivered")

    # --- wrong password, failure limit ----------------------------------------
    s = starttls_login(y, user=None)
    try:
        s.login(USER, "wrong")
        t.ok(False, "wrong password refused")
    except smtplib.SMTPAuthenticationError as e:
        t.eq((e.smtp_code, e.smtp_error), (535, b"5.7.8 Error: authentication failed: authentication failure"),
             "wrong password: 535 5.7.8")
    t.ok(wait_for(lambda: "auth failed: service=submission rip=127.0.0.1 user=<demo@example.test> mech=" in y.log(), 10),
         "log: fail2ban-ready 'auth failed' line with rip and user", y.log()[-1500:])
    s.close()
    # smtplib tried PLAIN and then LOGIN: a fresh session counts three by hand
    s = starttls_login(y, user=None)
    bad = "AGRlbW9AZXhhbXBsZS50ZXN0AHdyb25n"  # \0demo@example.test\0wrong
    t.eq(s.docmd("AUTH PLAIN " + bad)[0], 535, "first failure 535")
    t.eq(s.docmd("AUTH PLAIN " + bad)[0], 535, "second failure 535")
    t.eq(s.docmd("AUTH PLAIN " + bad)[0], 535, "third failure 535")
    try:
        code, text = s.getreply()
    except smtplib.SMTPServerDisconnected:
        code, text = 0, b""
    t.eq((code, text), (421, b"4.7.0 localhost Error: too many authentication failures"),
         "smtpd_auth_failure_limit (3) reached: 421")
    try:
        code = s.getreply()[0]
    except smtplib.SMTPServerDisconnected:
        code = -1
    t.eq(code, -1, "and the server hung up")
    s.close()
    code, _ = starttls_login(y).noop()
    t.eq(code, 250, "the next connection can log in")
    s = starttls_login(y, user=None)
    t.eq(s.docmd("AUTH CRAM-MD5")[0], 504, "unknown mechanism 504")
    t.eq(s.docmd("AUTH PLAIN")[0], 334, "AUTH PLAIN without initial response: 334 continuation")
    t.eq(s.docmd("*")[0], 501, "'*' cancels: 501")
    t.eq(s.docmd("AUTH PLAIN !!!notbase64")[0], 501, "bad base64: 501")
    s.close()

    # --- sender ownership ------------------------------------------------------
    s = starttls_login(y)
    code, text = s.docmd("MAIL FROM:<boss@example.test>")
    t.eq((code, text), (553, b"5.7.1 <boss@example.test>: Sender address rejected: not owned by user demo@example.test"),
         "MAIL FROM an address the login does not own: 553 5.7.1")
    t.eq(s.docmd("MAIL FROM:<Demo@Example.Test>")[0], 250, "its own address (any case) is fine")
    s.docmd("RSET")
    y.map("sender_login", "boss@example.test demo@example.test, other@example.test\n@team.example demo@example.test\n")
    y.control("smtpd_sender_login_maps", "sender_login")
    s.close()
    s = starttls_login(y)
    t.eq(s.docmd("MAIL FROM:<boss@example.test>")[0], 250, "smtpd_sender_login_maps grants boss@ to demo")
    s.docmd("RSET")
    t.eq(s.docmd("MAIL FROM:<anyone@team.example>")[0], 250, "an @domain entry grants the whole domain")
    s.quit()
    y.control("smtpd_sender_login_maps", None)

    # --- header options --------------------------------------------------------
    y.control("submission_hide_client", "yes")
    y.control("smtpd_sasl_authenticated_header", "yes")
    s = starttls_login(y)
    s.sendmail(USER, [USER], b"Subject: sub-hidden\r\n\r\nx\r\n")
    s.quit()
    got = delivered(y, b"sub-hidden")
    head = got[0].split(b"\n\n", 1)[0] if got else b""
    rcv = head[head.find(b"Received: "):].split(b"\nSubject")[0]
    t.ok(rcv.startswith(b"Received: (Authenticated sender: demo@example.test)\n\tby localhost with ESMTPSA id")
         and b"127.0.0.1" not in rcv, "submission_hide_client: no client address; the login when asked for", rcv)
    y.control("submission_hide_client", None)
    y.control("smtpd_sasl_authenticated_header", None)

    # --- port 25: AUTH after STARTTLS, relaying with permit_sasl_authenticated ---
    y.control("mynetworks", "192.0.2.0/24")
    y.control("smtpd_recipient_restrictions", "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination")
    s = smtplib.SMTP("127.0.0.1", y.port("smtp"), timeout=60)
    s.ehlo("client.example.org")
    t.ok(not s.has_extn("auth"), "port 25 offers no AUTH before TLS (smtpd_tls_auth_only = yes)")
    s.mail("x@example.org")
    t.eq(s.rcpt("someone@remote.example")[0], 554, "untrusted and not logged in: relay denied")
    s.rset()
    s.starttls(context=ctx())
    s.ehlo("client.example.org")
    s.login(USER, PASS)
    s.mail(USER)
    t.eq(s.rcpt("someone@remote.example")[0], 250, "untrusted but authenticated: permit_sasl_authenticated lets it relay")
    s.rset()
    s.quit()
    y.control("smtpd_tls_auth_only", "no")
    s = smtplib.SMTP("127.0.0.1", y.port("smtp"), timeout=60)
    s.ehlo("client.example.org")
    t.ok(s.has_extn("auth"), "smtpd_tls_auth_only = no: AUTH offered in plaintext to a loopback client")
    s.quit()
    y.control("broken_sasl_auth_clients", "yes")
    s = socket.create_connection(("127.0.0.1", y.port("smtp")), timeout=60)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"EHLO old.outlook\r\n")
    lines = []
    while True:
        l = f.readline().decode().rstrip()
        lines.append(l)
        if l[3] != "-":
            break
    s.sendall(b"QUIT\r\n")
    f.close()
    s.close()
    t.ok("250-AUTH=PLAIN LOGIN" in lines, "broken_sasl_auth_clients adds the AUTH= line", lines)
    for n in ("mynetworks", "smtpd_recipient_restrictions", "smtpd_tls_auth_only", "broken_sasl_auth_clients"):
        y.control(n, None)
t.done()
