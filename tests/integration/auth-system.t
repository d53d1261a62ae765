#!/usr/bin/env python3
"""System-account logins (saslauthd MECH=shadow's job) through a yubin-run
instance: a user made with useradd logs in with SMTP AUTH on 587 and with
POP3, although the network programs cannot read /etc/shadow themselves
(they ask the setuid yubin-checkpassword). Needs root; skipped otherwise."""
import os, poplib, pwd, shutil, smtplib, ssl, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Tap, Instance, BIN, wait_for

t = Tap()
if os.geteuid() != 0 or not shutil.which("useradd"):
    t.skip("system account logins", "needs root and useradd (the test creates a user)")
    t.done()

NAME = "yubintestsys"
PASSWORD = "Sys-pass-42"
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE

subprocess.run(["userdel", "-r", NAME], capture_output=True)
home_base = tempfile.mkdtemp(prefix="yubin-home-")
os.chmod(home_base, 0o755)
home = os.path.join(home_base, NAME)
subprocess.run(["useradd", "-m", "-d", home, "-s", "/bin/sh", NAME], check=True, capture_output=True)
subprocess.run(["chpasswd"], input=f"{NAME}:{PASSWORD}\n".encode(), check=True, capture_output=True)
try:
    with Instance() as y:
        with smtplib.SMTP("127.0.0.1", y.port("submission"), timeout=60) as s:
            s.starttls(context=ctx)
            try:
                code, _ = s.login(NAME, PASSWORD)
            except smtplib.SMTPException as e:
                code = getattr(e, "smtp_code", str(e))
            t.eq(code, 235, "SMTP AUTH with a system account and its shadow password")
        t.ok(wait_for(lambda: f"user=<{NAME}> mech=PLAIN backend=system" in y.log(), 10),
             "logged as a system-account login", y.log()[-2000:])
        with smtplib.SMTP("127.0.0.1", y.port("submission"), timeout=60) as s:
            s.starttls(context=ctx)
            try:
                s.login(NAME, "wrong")
                code = 235
            except smtplib.SMTPAuthenticationError as e:
                code = e.smtp_code
            t.eq(code, 535, "wrong system password: 535")
        t.ok(wait_for(lambda: f"user=<{NAME}> mech=PLAIN reason=bad password" in y.log(), 10),
             "and a fail2ban line")
        with smtplib.SMTP("127.0.0.1", y.port("submission"), timeout=60) as s:
            s.starttls(context=ctx)
            try:
                s.login("root", "anything")
                code = 235
            except smtplib.SMTPAuthenticationError as e:
                code = e.smtp_code
            t.eq(code, 535, "root never logs in")

        if os.path.exists(os.path.join(BIN, "yubin-pop3d")):
            try:
                p = poplib.POP3("127.0.0.1", y.port("pop3"), timeout=60)
                p.stls(context=ctx)
                p.user(NAME)
                p.pass_(PASSWORD)
                count, _ = p.stat()
                p.quit()
                ok = True
            except (poplib.error_proto, OSError) as e:
                ok, count = False, str(e)
            t.ok(ok and count == 0, "POP3 login of the system account", count)
            md = os.path.join(home, "Maildir", "new")
            u = pwd.getpwnam(NAME)
            t.ok(os.path.isdir(md) and os.stat(md).st_uid == u.pw_uid, "its ~/Maildir, owned by the user")
        else:
            t.skip("POP3 login of the system account", "no bin/yubin-pop3d")
finally:
    subprocess.run(["userdel", "-r", NAME], capture_output=True)
    shutil.rmtree(home_base, ignore_errors=True)
t.done()
