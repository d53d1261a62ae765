#!/usr/bin/env python3
"""imap-clients: a real yubin-run instance driven by real IMAP clients:
python imaplib (LOGIN, wrong password and retry, STARTTLS, IMAP4_SSL,
AUTHENTICATE PLAIN with SASL-IR, IDLE seeing a message delivered by
sendmail, UID stability across reconnects), curl imap:// and imaps://
(list, fetch by UID, search), fetchmail over IMAP with STARTTLS and over
993, openssl s_client -starttls imap."""
import base64, imaplib, os, re, socket, ssl, subprocess, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, Instance, BIN, wait_for, wait_messages
from imaputil import crlf

t = Tap()
t.need("IMAP with real clients", "yubin-run", "yubin-imapd", "yubin-imap", "yubin-checkpassword")

USER, PASS = "demo@example.test", "demo"
NOVERIFY = ssl.create_default_context()
NOVERIFY.check_hostname = False
NOVERIFY.verify_mode = ssl.CERT_NONE


def put(md, name, data):
    st = os.stat(md)
    path = os.path.join(md, "new", name)
    with open(path, "wb") as f:
        f.write(data)
    if os.geteuid() == 0:
        os.chown(path, st.st_uid, st.st_gid)


def login(y, port="imap"):
    m = imaplib.IMAP4("127.0.0.1", y.port(port), timeout=60)
    m.login(USER, PASS)
    return m


with Instance() as y:
    md = y.maildir(USER)
    m = imaplib.IMAP4("127.0.0.1", y.port("imap"), timeout=60)
    t.ok("IMAP4REV1" in m.capabilities and "AUTH=PLAIN" in m.capabilities, "greeting capabilities", m.capabilities)
    try:
        m.login(USER, "wrong")
        t.ok(False, "a wrong password is refused")
    except imaplib.IMAP4.error as e:
        t.ok("AUTHENTICATIONFAILED" in str(e), "a wrong password is refused", e)
    try:
        typ, dat = m.login(USER, PASS)
        t.ok(typ == "OK" and b"CAPABILITY" in dat[0], "the same connection then logs in", dat)
    except Exception as e:
        t.ok(False, "the same connection then logs in", f"{e}\n{y.log()[-2000:]}")
        t.done()
    t.ok(re.search(r"auth failed: service=imap rip=127\.0\.0\.1 user=<demo@example\.test>", y.log()),
         "fail2ban-ready log line for the failure", y.log()[-1000:])
    t.ok(all(os.path.isdir(os.path.join(md, d)) for d in ("new", "cur", "tmp")), "first login creates the Maildir")
    t.eq(m.select("INBOX"), ("OK", [b"0"]), "empty INBOX")
    m.logout()

    put(md, "1700000001.M1P1Q1.test", b"From: a@example.test\nSubject: hello curl\n\nfirst body\n")
    put(md, "1700000002.M2P2Q2.test", b"From: b@example.test\nSubject: second\n\nsecond body\n")

    # IDLE sees a message delivered by sendmail
    m = login(y)
    m.select("INBOX")
    uids1 = m.uid("SEARCH", "ALL")[1][0]
    if os.path.exists(os.path.join(BIN, "sendmail")) and os.path.exists(os.path.join(BIN, "yubin-local")):
        tag = m._new_tag().decode()
        m.send(f"{tag} IDLE\r\n".encode())
        t.eq(m.readline(), b"+ idling\r\n", "IDLE")
        y.sendmail("-f", "sender@example.test", USER,
                   message=b"From: sender@example.test\nSubject: via sendmail\n\ndelivered\n")
        m.sock.settimeout(60)
        line = m.readline()
        t.ok(re.match(rb"\* 3 EXISTS", line), "IDLE wakes up for mail delivered by sendmail", line + y.log()[-800:].encode())
        m.send(b"DONE\r\n")
        while True:
            ln = m.readline()
            if ln.startswith(tag.encode()):
                break
        t.ok(b" OK" in ln, "DONE", ln)
        typ, dat = m.fetch("3", "(BODY.PEEK[HEADER.FIELDS (SUBJECT DELIVERED-TO)])")
        t.ok(b"via sendmail" in dat[0][1] and b"Delivered-To" in dat[0][1], "the delivered message", dat)
    else:
        t.skip("IDLE sees a message delivered by sendmail", "sendmail or yubin-local not built")
    m.store("1", "+FLAGS", "(\\Flagged \\Seen)")
    m.logout()

    # UIDs stay across reconnects, flags persist in the file names
    m = login(y)
    m.select("INBOX")
    t.eq(m.uid("SEARCH", "ALL")[1][0][:len(uids1)], uids1, "UIDs stable across reconnects")
    t.ok(any(f.endswith(":2,FS") for f in os.listdir(os.path.join(md, "cur"))), "flags in the Maildir name")
    m.logout()

    # SASL-IR and AUTHENTICATE PLAIN
    m = imaplib.IMAP4("127.0.0.1", y.port("imap"), timeout=60)
    ir = base64.b64encode(f"\0{USER}\0{PASS}".encode()).decode()
    typ, dat = m._simple_command("AUTHENTICATE", "PLAIN", ir)
    t.ok(typ == "OK", "AUTHENTICATE PLAIN with SASL-IR", dat)
    m.logout()
    m = imaplib.IMAP4("127.0.0.1", y.port("imap"), timeout=60)
    typ, dat = m.authenticate("PLAIN", lambda _: f"\0{USER}\0{PASS}".encode())
    t.eq(typ, "OK", "AUTHENTICATE PLAIN with a continuation")
    m.logout()

    if "STARTTLS" in imaplib.IMAP4("127.0.0.1", y.port("imap"), timeout=60).capabilities:
        m = imaplib.IMAP4("127.0.0.1", y.port("imap"), timeout=60)
        m.starttls(ssl_context=NOVERIFY)
        t.ok("STARTTLS" not in m.capabilities, "no STARTTLS after STARTTLS", m.capabilities)
        t.eq(m.login(USER, PASS)[0], "OK", "LOGIN after STARTTLS")
        t.eq(m.select("INBOX")[0], "OK", "SELECT over TLS")
        m.logout()
        m = imaplib.IMAP4_SSL("127.0.0.1", y.port("imaps"), ssl_context=NOVERIFY, timeout=60)
        t.eq(m.login(USER, PASS)[0], "OK", "imaps (993): LOGIN")
        typ, dat = m.select("INBOX")
        t.eq(typ, "OK", "imaps: SELECT")
        m.logout()

        r = subprocess.run(["openssl", "s_client", "-starttls", "imap", "-connect", f"127.0.0.1:{y.port('imap')}",
                            "-quiet", "-crlf"], input=f"a LOGIN {USER} {PASS}\nb SELECT INBOX\nc LOGOUT\n".encode(),
                           capture_output=True, timeout=60)
        t.ok(b"a OK" in r.stdout and b"b OK [READ-WRITE]" in r.stdout and b"c OK" in r.stdout,
             "openssl s_client -starttls imap", r.stdout + r.stderr)

        base = f"imap://127.0.0.1:{y.port('imap')}"
        sbase = f"imaps://127.0.0.1:{y.port('imaps')}"
        r = subprocess.run(["curl", "-sS", "-k", f"{sbase}/", "-u", f"{USER}:{PASS}"], capture_output=True, timeout=60)
        t.ok(r.returncode == 0 and b"INBOX" in r.stdout and b"Sent" in r.stdout, "curl imaps:// lists folders",
             r.stdout + r.stderr)
        r = subprocess.run(["curl", "-sS", "-k", "--ssl-reqd", f"{base}/INBOX;UID=1", "-u", f"{USER}:{PASS}"],
                           capture_output=True, timeout=60)
        t.eq(r.stdout, crlf(b"From: a@example.test\nSubject: hello curl\n\nfirst body\n"),
             "curl imap:// with STARTTLS fetches by UID")
        r = subprocess.run(["curl", "-sS", f"{base}/INBOX?SUBJECT%20second", "-u", f"{USER}:{PASS}"],
                           capture_output=True, timeout=60)
        t.ok(r.returncode == 0 and r.stdout.strip() == b"* SEARCH 2", "curl imap:// search", r.stdout + r.stderr)
        r = subprocess.run(["curl", "-sS", f"{base}/INBOX;UID=2;SECTION=TEXT", "-u", f"{USER}:{PASS}"],
                           capture_output=True, timeout=60)
        t.eq(r.stdout, b"second body\r\n", "curl imap:// fetches a section")

        # fetchmail: everything into an mbox, over STARTTLS and over 993
        for mode, port, opts in (("STARTTLS", "imap", ["--sslproto", "tls1.2+"]), ("993", "imaps", ["--ssl"])):
            put(md, f"17000001{port}.M9P9Q9.test", b"Subject: for fetchmail " + mode.encode() + b"\n\nbody\n")
            mbox = os.path.join(y.tmp, f"mbox-{port}")
            rc = os.path.join(y.tmp, f"fetchmailrc-{port}")
            with open(rc, "w") as f:
                f.write(f'poll 127.0.0.1 service {y.port(port)} protocol imap user "{USER}" password "{PASS}"\n')
            os.chmod(rc, 0o600)
            r = subprocess.run(["fetchmail", "-f", rc, "--idfile", rc + ".ids", "--nosslcertck", "-a", "--keep",
                                "--mda", f"/bin/sh -c 'echo From fetchmail >> {mbox}; cat >> {mbox}'"] + opts,
                               capture_output=True, timeout=120, env=dict(os.environ, HOME=y.tmp))
            got = open(mbox, "rb").read() if os.path.exists(mbox) else b""
            t.ok(r.returncode == 0 and b"for fetchmail " + mode.encode() in got,
                 f"fetchmail over IMAP {mode}", (r.stdout + r.stderr)[-1500:])
    else:
        t.skip("TLS clients (STARTTLS, imaps, openssl, curl, fetchmail)", "STARTTLS not offered")

t.done()
