#!/usr/bin/env python3
"""dkim.t — DKIM signing end to end: `yubin-ctl dkim-keygen` on instance A
makes the key, the dkim_keys entry and the TXT record; mail A relays to
instance B arrives signed, and an independent verifier (Debian's
python3-dkim, fed the printed TXT record through its DNS hook) accepts
the signature. Mail from a domain without a key goes out unsigned."""
import os, re, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, Instance, maildir_messages, wait_messages

t = Tap()
t.need("dkim signing", "yubin-run", "sendmail", "yubin-remote", "yubin-user", "yubin-ctl", "yubin-map")
if subprocess.run(["/usr/bin/python3", "-c", "import dkim"], capture_output=True).returncode != 0:
    t.skip("dkim signing", "python3-dkim is not installed (tools/need-packages python3-dkim)")
    t.done()

VERIFY = r'''
import sys, dkim
rec = open(sys.argv[1], "rb").read()
def dns(name, timeout=5):
    return rec if name == sys.argv[2].encode() else None
msg = sys.stdin.buffer.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
print("pass" if dkim.verify(msg, dnsfunc=dns) else "fail")
'''


def verify(msg, record_file, name):
    r = subprocess.run(["/usr/bin/python3", "-c", VERIFY, record_file, name], input=msg, capture_output=True)
    return r.stdout.decode().strip() + r.stderr.decode()[-300:]


with Instance() as b, Instance() as a:
    b.run("yubin-user", "add", "bob@other.test", input=b"bobpw\n")
    a.map("transport", "other.test smtp:[127.0.0.1]:%d\n" % b.port("smtp"))
    box = b.maildir("bob@other.test")

    out = a.run("yubin-ctl", "dkim-keygen", "example.test", "s2026").stdout.decode()
    key = os.path.join(a.root, "control", "dkim", "example.test.s2026.key")
    t.ok(os.path.exists(key), "dkim-keygen wrote control/dkim/example.test.s2026.key")
    t.eq(os.stat(key).st_mode & 0o077 & ~0o040, 0, "the key is not readable by others")
    m = re.search(r'^s2026\._domainkey\.example\.test\. IN TXT \((.*)\)$', out, re.M)
    t.ok(m, "it prints the TXT record for s2026._domainkey.example.test", out)
    record = "".join(re.findall(r'"([^"]*)"', m.group(1))) if m else ""
    t.ok(record.startswith("v=DKIM1; k=rsa; p=MII"), "record is v=DKIM1; k=rsa; p=<key>", record)
    q = a.run("yubin-map", "-q", "example.test", os.path.join(a.root, "control", "dkim_keys"), check=False)
    t.eq(q.stdout.decode().strip(), "s2026:control/dkim/example.test.s2026.key", "dkim_keys entry compiled")
    again = a.run("yubin-ctl", "dkim-keygen", "example.test", "s2026").stdout.decode()
    t.ok("keeping the existing key" in again and record in "".join(re.findall(r'"([^"]*)"', again)),
         "running it again keeps the key and prints the same record")
    rec_file = os.path.join(a.root, "dkim-record.txt")
    with open(rec_file, "w") as f:
        f.write(record)

    a.sendmail("-f", "demo@example.test", "bob@other.test",
               message=b"From: Demo <demo@example.test>\nTo: bob@other.test\nSubject: signed  mail\n"
                       b"Message-ID: <dkim-1@example.test>\n\nHello  Bob,\n.dot line\n\n\n")
    got = wait_messages(box, 1, timeout=60)
    msg = b"".join(got.values())
    t.ok(re.search(rb"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\s+d=example.test;\s+s=s2026;", msg),
         "the relayed message carries our DKIM-Signature", msg[:800])
    t.ok(b"h=from:from:" in msg, "From is oversigned")
    res = verify(msg, rec_file, "s2026._domainkey.example.test.")
    t.ok(res.startswith("pass"), "python3-dkim verifies our signature", res)
    t.ok("dkim: signed d=example.test s=s2026" in a.log(), "A's log says it signed")
    tampered = msg.replace(b"Hello  Bob", b"Hello  Eve")
    t.ok(verify(tampered, rec_file, "s2026._domainkey.example.test.").startswith("fail"),
         "a changed body fails the same verifier")

    a.sendmail("-f", "demo@example.test", "bob@other.test",
               message=b"From: someone@elsewhere.test\nTo: bob@other.test\nSubject: no key\n\nplain\n")
    got = wait_messages(box, 2, timeout=60)
    unsigned = [m for m in got.values() if b"Subject: no key" in m]
    t.ok(unsigned and b"DKIM-Signature" not in unsigned[0], "a From domain without a key goes out unsigned")
    # dns-check: no DNS is published for example.test here, so it must say so and fail
    r = a.run("yubin-ctl", "dns-check", "example.test", check=False)
    o = r.stdout.decode()
    t.ok(r.returncode == 1 and re.search(r"^FAIL DKIM +s2026\._domainkey\.example\.test: (no record|lookup failed)", o, re.M)
         and re.search(r"^(FAIL|warn) +SPF", o, re.M) and re.search(r"^FAIL DMARC", o, re.M),
         "dns-check reports the unpublished SPF, DKIM and DMARC records and exits 1", o)
    if os.environ.get("DKIM_DEBUG"):
        t.diag(a.log()[-3000:])
t.done()
