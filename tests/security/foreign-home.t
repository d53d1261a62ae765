#!/usr/bin/env python3
"""A system account whose home directory is not its own (owned by root or
by another account — a shared or hijacked home, or a service account
pointed at someone else's files) must not get a POP3 or IMAP session:
the mailbox program would run as that user over files it does not own,
reading or creating mail in another's tree. Its login is refused; an
account with its own home logs in (so the refusal is about the home).
Needs root and useradd; skipped otherwise."""
import os, pwd, shutil, subprocess, sys, tempfile
sys.path.insert(0, os.path.dirname(__file__))
from seclib import Conn  # noqa: E402
from yubintest import Tap, Instance, BIN  # noqa: E402

t = Tap()
if os.geteuid() != 0 or not shutil.which("useradd"):
    t.skip("foreign home", "needs root and useradd (the test creates accounts)")
    t.done()

PW = "Home-pass-42"
OWN, FOREIGN = "yubinsecown", "yubinsecfrgn"
base = tempfile.mkdtemp(prefix="yubin-home-")
os.chmod(base, 0o755)
for u in (OWN, FOREIGN):
    subprocess.run(["userdel", "-r", u], capture_output=True)
subprocess.run(["useradd", "-m", "-d", os.path.join(base, OWN), "-s", "/bin/sh", OWN], check=True, capture_output=True)
# the foreign account's home belongs to the other account, with a Maildir in it
subprocess.run(["useradd", "-M", "-d", os.path.join(base, OWN), "-s", "/bin/sh", FOREIGN], check=True,
               capture_output=True)
subprocess.run(["chpasswd"], input=f"{OWN}:{PW}\n{FOREIGN}:{PW}\n".encode(), check=True, capture_output=True)
own = pwd.getpwnam(OWN)
for sub in ("Maildir", "Maildir/new", "Maildir/cur", "Maildir/tmp"):
    p = os.path.join(base, OWN, sub)
    os.makedirs(p, exist_ok=True)
    os.chown(p, own.pw_uid, own.pw_gid)
    os.chmod(p, 0o700)
secret = os.path.join(base, OWN, "Maildir", "new", "1.secret")
with open(secret, "w") as f:
    f.write("Subject: owner's secret\n\nnot for the other account\n")
os.chown(secret, own.pw_uid, own.pw_gid)
try:
    with Instance() as y:
        if os.path.exists(os.path.join(BIN, "yubin-pop3d")):
            for user, want in ((OWN, b"+OK"), (FOREIGN, b"-ERR")):
                c = Conn(y.port("pop3"))
                c.line()
                c.send(f"USER {user}\r\n".encode())
                c.line()
                c.send(f"PASS {PW}\r\n".encode())
                r = c.line(timeout=30)
                c.send(b"STAT\r\n")
                st = c.line(timeout=10)
                ok = r is not None and r.startswith(want) and (want == b"+OK" or not (st or b"").startswith(b"+OK 1"))
                t.ok(ok, f"POP3 {user}: {'own home, logs in' if want == b'+OK' else 'home not its own, refused'}",
                     [r, st])
                c.close()
        else:
            t.skip("POP3 foreign home", "no yubin-pop3d")
        if os.path.exists(os.path.join(BIN, "yubin-imapd")):
            for user, want in ((OWN, "a OK"), (FOREIGN, "a NO")):
                c = Conn(y.port("imap"))
                c.line()
                c.send(f"a LOGIN {user} {PW}\r\n".encode())
                r = c.tag("a", timeout=30)
                t.ok(r and r[-1].startswith(want),
                     f"IMAP {user}: {'own home, logs in' if want == 'a OK' else 'home not its own, refused'}", r)
                c.close()
        else:
            t.skip("IMAP foreign home", "no yubin-imapd")
        md = os.path.join(base, OWN, "Maildir")
        kept = [os.path.join(md, d, f) for d in ("new", "cur") for f in os.listdir(os.path.join(md, d))
                if f.startswith("1.secret")]
        t.ok(len(kept) == 1 and os.stat(kept[0]).st_uid == own.pw_uid,
             "the owner's mail is still there, still the owner's (new/ or cur/)", kept)
finally:
    for u in (FOREIGN, OWN):
        subprocess.run(["userdel", u], capture_output=True)
    shutil.rmtree(base, ignore_errors=True)
t.done()
