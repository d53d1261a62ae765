#!/usr/bin/env python3
"""smtpd-authchecks.t — SPF, DKIM and DMARC on received mail, end to end:
the test re-runs itself inside `unshare --net --mount` (a private
loopback, /etc/resolv.conf bind-mounted), runs dnsmasq there with
published SPF, DKIM and DMARC records (and a zone whose server fails), a
yubin-run instance with control/smtpd_authentication_checks = spf dkim
dmarc, and sends with smtplib from several 127.0.0.x addresses, signing
with an independent signer (Debian's python3-dkim). Proves: SPF
pass/fail/softfail/none, dkim=pass and a tampered body's dkim=fail,
DMARC pass and fail in advice mode (delivered, the header says so) and
enforced (550 p=reject, queue/hold for p=quarantine), DNS failures are
temperror and never a permanent refusal, a forged Authentication-Results
with our authserv-id is removed, BDAT chunks get the same checks,
mynetworks, logged-in clients and an empty setting are not checked, one
log line per message."""
import atexit, base64, email, os, re, shutil, signal, smtplib, socket, ssl, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import netns
from yubintest import Tap, Instance, maildir_messages, wait_for

netns.enter(__file__, also=[(lambda: subprocess.run(["/usr/bin/python3", "-c", "import dkim"], capture_output=True).returncode == 0,
                           "python3-dkim is not installed (tools/need-packages python3-dkim)"),
                          (lambda: shutil.which("openssl") is not None, "openssl missing")])

# ---- from here on we are inside our own network and mount namespace ----
t = Tap()
tmp = tempfile.mkdtemp(prefix="yubin-authchecks-")
netns.local_resolver(tmp)

# the signer's key, and its public half for DNS
key = os.path.join(tmp, "dkim.key")
subprocess.run(["openssl", "genrsa", "-traditional", "-out", key, "2048"], check=True, capture_output=True)
der = subprocess.run(["openssl", "rsa", "-in", key, "-pubout", "-outform", "DER"], check=True,
                     capture_output=True).stdout
pub = "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()
# TXT strings are at most 255 bytes: publish the record as two of them
txt = '"%s","%s"' % (pub[:200], pub[200:])

conf = netns.dnsmasq_conf(tmp, [
    'txt-record=a.test,"v=spf1 ip4:127.0.0.2 -all"',
    f"txt-record=sel._domainkey.a.test,{txt}",
    'txt-record=_dmarc.a.test,"v=DMARC1; p=reject"',
    'txt-record=soft.test,"v=spf1 ip4:127.0.0.2 ~all"',
    'txt-record=q.test,"v=spf1 ip4:127.0.0.2 -all"',
    'txt-record=_dmarc.q.test,"v=DMARC1; p=quarantine"',
    'txt-record=nospf.test,"nothing to see"',
    "server=/broken.test/127.0.0.9",
    "server=/gone._domainkey.a.test/127.0.0.9",
])
dns = subprocess.Popen(["dnsmasq", "-k", "-C", conf], stderr=subprocess.DEVNULL)
running = []  # the instance, once started


def cleanup():
    """stop what we started, also when the test dies midway"""
    for y in running:
        y.stop()
        if os.environ.get("KEEP_TEST_ROOT"):
            print(f"# kept {y.tmp}", flush=True)
        else:
            shutil.rmtree(y.tmp, ignore_errors=True)
    dns.terminate()
    dns.wait()
    shutil.rmtree(tmp, ignore_errors=True)


atexit.register(cleanup)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))


def dns_up():
    """a TXT query for a.test, by hand, answered with the SPF record"""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.5)
    q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x04test\x00\x00\x10\x00\x01"
    try:
        s.sendto(q, ("127.0.0.1", 53))
        return b"v=spf1" in s.recv(4096)
    except OSError:
        return False
    finally:
        s.close()


t.ok(wait_for(dns_up, 30, 0.1), "dnsmasq answers inside the namespace")

SIGN = r'''
import sys, dkim
key = open(sys.argv[1], "rb").read()
msg = sys.stdin.buffer.read()
sig = dkim.sign(msg, sys.argv[3].encode(), sys.argv[2].encode(), key,
                include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
sys.stdout.buffer.write(sig + msg)
'''


def message(frm, subject, body="Hello,\r\nthis is a test.\r\n", extra=""):
    return (f"From: <{frm}>\r\nTo: <demo@example.test>\r\nSubject: {subject}\r\n"
            f"Date: Mon, 23 Nov 2026 01:00:00 +0000\r\nMessage-ID: <{subject.replace(' ', '-')}@t>\r\n"
            f"{extra}\r\n{body}").encode()


def sign(msg, domain="a.test", selector="sel"):
    r = subprocess.run(["/usr/bin/python3", "-c", SIGN, key, domain, selector], input=msg,
                       capture_output=True, check=True)
    return r.stdout


y = Instance()
running.append(y)
y.control("myhostname", "mx.yubin.test")
y.control("mynetworks", "127.0.0.1/32")
box = y.maildir("demo@example.test")


def send(ip, sender, msg, helo="client.test", bdat=False):
    """(code, text) of the reply to the end of DATA (or of BDAT LAST)"""
    c = smtplib.SMTP("127.0.0.1", y.port("smtp"), local_hostname=helo, source_address=(ip, 0), timeout=60)
    try:
        c.ehlo()
        code, text = c.mail(sender)
        if code != 250:
            return code, text
        code, text = c.rcpt("demo@example.test")
        if code != 250:
            return code, text
        if bdat:
            half = len(msg) // 2
            c.putcmd("BDAT %d" % half)
            c.send(msg[:half])
            code, text = c.getreply()
            if code != 250:
                return code, text
            c.putcmd("BDAT %d LAST" % (len(msg) - half))
            c.send(msg[half:])
            return c.getreply()
        return c.data(msg)
    except smtplib.SMTPResponseException as e:
        return e.smtp_code, e.smtp_error
    finally:
        try:
            c.quit()
        except Exception:
            pass


def delivered(subject, timeout=30):
    """the delivered message with this Subject, as an email.message, or None"""
    def find():
        for raw in maildir_messages(box).values():
            m = email.message_from_bytes(raw)
            if m.get("Subject") == subject:
                return m
        return None
    return wait_for(find, timeout)


def ar(m):
    v = m.get_all("Authentication-Results") if m else None
    return " ".join(" ".join(x.split()) for x in v) if v else ""


# ---- the setting empty: today's path ----
code, _ = send("127.0.0.3", "bob@a.test", message("bob@a.test", "unchecked"))
m = delivered("unchecked")
t.ok(code == 250 and m is not None and ar(m) == "", "no setting: delivered without Authentication-Results", (code, _, ar(m)))

y.control("smtpd_authentication_checks", "spf dkim dmarc")

# ---- advice mode ----
code, _ = send("127.0.0.2", "alice@a.test", sign(message("alice@a.test", "all pass")))
m = delivered("all pass")
r = ar(m)
t.ok(code == 250 and m is not None, "signed mail from the SPF-listed address delivered")
t.ok(r.startswith("mx.yubin.test;"), "Authentication-Results with authserv-id = myhostname", r)
t.ok("spf=pass" in r and "smtp.mailfrom=alice@a.test" in r, "spf=pass", r)
t.ok(re.search(r"dkim=pass \([^)]*\) header.d=a.test header.s=sel", r), "dkim=pass by python3-dkim's signature", r)
t.ok("dmarc=pass" in r and "header.from=a.test" in r, "dmarc=pass", r)
if m is not None:
    keys = [k.lower() for k in m.keys()]
    i_ar, i_rcv = keys.index("authentication-results"), keys.index("received")
    t.ok(i_ar < i_rcv, "the field sits above our Received header", keys)
else:
    t.ok(False, "the field sits above our Received header")
log = y.log()
t.ok(re.search(r"\b[0-9A-Za-z]+: authentication: spf=pass .*dkim=pass .*dmarc=pass .*action=accept", log),
     "one log line with the results, queue id first", log[-1500:])

code, _ = send("127.0.0.3", "bob@a.test", message("bob@a.test", "spf fail"))
r = ar(delivered("spf fail"))
t.ok(code == 250 and "spf=fail" in r, "spf=fail from an address the record excludes (advice: delivered)", r)
t.ok("dkim=none" in r and "dmarc=fail (p=reject)" in r, "unsigned: dkim=none, dmarc=fail (p=reject) delivered", r)

code, _ = send("127.0.0.3", "carol@soft.test", message("carol@soft.test", "softfail"))
r = ar(delivered("softfail"))
t.ok(code == 250 and "spf=softfail" in r, "spf=softfail for ~all", r)

code, _ = send("127.0.0.4", "dave@nospf.test", message("dave@nospf.test", "none"))
r = ar(delivered("none"))
t.ok(code == 250 and "spf=none" in r and "dmarc=none" in r, "spf=none, dmarc=none without records", r)

code, _ = send("127.0.0.3", "alice@a.test", sign(message("alice@a.test", "dkim only")))
r = ar(delivered("dkim only"))
t.ok(code == 250 and "spf=fail" in r and "dkim=pass" in r and "dmarc=pass" in r,
     "SPF fails but the aligned DKIM signature passes DMARC", r)

signed = sign(message("alice@a.test", "tampered"))
code, _ = send("127.0.0.3", "alice@a.test", signed.replace(b"this is a test", b"this is a TEST"))
r = ar(delivered("tampered"))
t.ok(code == 250 and "dkim=fail" in r and "dmarc=fail" in r, "a changed body: dkim=fail, dmarc=fail", r)

forged = message("alice@a.test", "forged ar", extra="Authentication-Results: mx.yubin.test; dkim=pass header.d=a.test\r\n"
                 "Authentication-Results: (comment) MX.Yubin.Test;\r\n\tspf=pass\r\n"
                 "Authentication-Results: other.example; spf=pass\r\n")
code, _ = send("127.0.0.2", "alice@a.test", sign(forged))
m = delivered("forged ar")
fields = m.get_all("Authentication-Results") if m else []
ours = [f for f in fields if " ".join(f.split()).lower().startswith("mx.yubin.test")]
t.ok(code == 250 and len(ours) == 1 and "spf=pass" in ours[0] and "dkim=pass" in ours[0],
     "forged fields claiming our authserv-id removed, ours added", fields)
t.ok(any(f.startswith("other.example") for f in fields), "another authserv-id's field is kept", fields)
t.ok("removed 2 Authentication-Results fields" in y.log(), "the removal is logged")

code, _ = send("127.0.0.2", "", message("mailer-daemon@a.test", "null sender"), helo="a.test")
r = ar(delivered("null sender"))
t.ok(code == 250 and "spf=pass" in r and "smtp.helo=a.test" in r, "null sender: SPF of the HELO name", r)

code, _ = send("127.0.0.2", "alice@a.test", message("alice@a.test", "all header", body="")[:-2])
r = ar(delivered("all header"))
t.ok(code == 250 and "spf=pass" in r and "dmarc=pass" in r, "a message that is all header", r)

code, _ = send("127.0.0.3", "x@broken.test", message("x@broken.test", "temperror"))
r = ar(delivered("temperror"))
t.ok(code == 250 and "spf=temperror" in r and "dmarc=temperror" in r,
     "DNS failure: temperror, delivered in advice mode", r)

code, _ = send("127.0.0.1", "bob@a.test", message("bob@a.test", "mynetworks"))
m = delivered("mynetworks")
t.ok(code == 250 and m is not None and ar(m) == "", "mynetworks clients are not checked", ar(m))

code, _ = send("127.0.0.3", "alice@a.test", sign(message("alice@a.test", "bdat")), bdat=True)
r = ar(delivered("bdat"))
t.ok(code == 250 and "spf=fail" in r and "dkim=pass" in r and "dmarc=pass" in r,
     "BDAT: the chunks reach the same checks", (code, r))

c = smtplib.SMTP("127.0.0.1", y.port("submission"), local_hostname="client.test", source_address=("127.0.0.3", 0),
                 timeout=60)
c.starttls(context=ssl._create_unverified_context())
c.login("demo@example.test", "demo")
c.sendmail("demo@example.test", ["demo@example.test"], message("demo@example.test", "submitted"))
c.quit()
m = delivered("submitted")
t.ok(m is not None and ar(m) == "", "logged-in clients (submission) are not checked", ar(m))

# ---- enforced ----
y.control("smtpd_dmarc_enforce", "yes")
code, text = send("127.0.0.3", "bob@a.test", message("bob@a.test", "rejected"))
t.ok(code == 550 and b"5.7.1" in text, "enforced: DMARC fail with p=reject gets 550 5.7.1", (code, text))
t.ok(re.search(r"reject: END-OF-MESSAGE from \S+\[127\.0\.0\.3\]: 550 5\.7\.1", y.log()), "and a log line")

code, _ = send("127.0.0.3", "alice@a.test", sign(message("alice@a.test", "enforced pass")))
t.ok(code == 250 and delivered("enforced pass") is not None, "enforced: a DMARC pass is delivered")

code, text = send("127.0.0.3", "x@broken.test", message("x@broken.test", "enforced temperror"))
t.ok(400 <= code < 500, "enforced: a DMARC temperror is 4xx, never permanent", (code, text))

code, text = send("127.0.0.3", "alice@a.test", sign(message("alice@a.test", "key gone"), selector="gone"))
t.ok(400 <= code < 500, "enforced: an aligned DKIM key lookup that failed makes p=reject 4xx", (code, text))

code, text = send("127.0.0.3", "alice@a.test", sign(message("alice@a.test", "unaligned"), domain="broken.test"))
t.ok(code == 550, "enforced: an unaligned signature's DNS failure does not save a forgery", (code, text))

hold = os.path.join(y.root, "queue", "hold")
before = len(os.listdir(hold))
code, _ = send("127.0.0.3", "erin@q.test", message("erin@q.test", "quarantined"))
t.ok(code == 250 and len(os.listdir(hold)) == before + 1, "enforced: p=quarantine goes to queue/hold", code)
t.ok(re.search(r"hold: END-OF-MESSAGE from \S+: DMARC policy quarantine of q.test", y.log()), "and says why")

t.done()
