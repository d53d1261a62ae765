#!/usr/bin/env python3
"""remote-tls.t — yubin-remote's STARTTLS client (yubin-tlsd -c) against a
sink that offers STARTTLS with a certificate for "localhost" issued by a
test CA made here with openssl: smtp_tls_security_level may / encrypt /
verify / none, a wrong CA and a wrong name deferred without sending mail,
a required TLS the server does not offer, and AUTH allowed once the
connection is encrypted."""
import os, sys, subprocess
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, BIN
from smtpsink import Sink
from remoteagent import Root, Agent

t = Tap()
if not os.path.exists(os.path.join(BIN, "yubin-tlsd")) or not os.path.exists(os.path.join(BIN, "yubin-remote")):
    t.skip("STARTTLS client", "bin/yubin-tlsd or bin/yubin-remote not built")
    t.done()

R = Root()
d = R.tmp


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True)


def make_ca(name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.pem", "-days", "30", "-subj", f"/CN=yubin test {name}",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")


make_ca("ca")
make_ca("otherca")
openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{d}/server.key", "-out", f"{d}/server.csr", "-subj", "/CN=localhost")
with open(f"{d}/ext.cnf", "w") as f:
    f.write("subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
openssl("x509", "-req", "-in", f"{d}/server.csr", "-CA", f"{d}/ca.pem", "-CAkey", f"{d}/ca.key",
        "-CAcreateserial", "-out", f"{d}/server.pem", "-days", "30", "-extfile", f"{d}/ext.cnf")
for f in os.listdir(d):
    os.chmod(os.path.join(d, f), 0o644)

R.control("myhostname", "client.test")
R.control("mydestination", "localhost.localdomain")
R.control("smtp_host_lookup", "native")
a = Agent(R)
s = Sink(tls=(f"{d}/server.pem", f"{d}/server.key"))
plain = Sink()
R.table("transport", "tls.test smtp:[localhost]:%d\nip.test smtp:[127.0.0.1]:%d\nplain.test smtp:[localhost]:%d"
        % (s.port, s.port, plain.port))


def code(r, jobs):
    return r.get(jobs[0], ("?", "", ""))


# may (the default): TLS when offered
qid, jobs, r = a.deliver(R, ["x@tls.test"])
t.eq(code(r, jobs)[0], "K", "may: delivered")
t.ok("TLS-OK" in s.commands and s.commands[s.commands.index("TLS-OK") + 1].startswith("EHLO"),
     "may: STARTTLS used, EHLO sent again", s.commands)
t.ok("TLS connection established to localhost[127.0.0.1]" in R.maillog(), "TLS logged", R.maillog()[-800:])
qid, jobs, r = a.deliver(R, ["x@plain.test"])
t.eq(code(r, jobs)[0], "K", "may: plain text to a server without STARTTLS")

# encrypt
R.control("smtp_tls_security_level", "encrypt")
qid, jobs, r = a.deliver(R, ["y@plain.test"])
t.ok(code(r, jobs)[0] == "Z" and code(r, jobs)[1] == "4.7.4" and "TLS is required, but was not offered" in
     code(r, jobs)[2], "encrypt: a server without STARTTLS is deferred", r)
t.ok("y@plain.test" not in plain.rcpts(), "and gets nothing")
n = len(s.messages)
qid, jobs, r = a.deliver(R, ["y@ip.test"])
t.ok(code(r, jobs)[0] == "K" and len(s.messages) == n + 1, "encrypt: any certificate will do", r)

# verify
R.control("smtp_tls_security_level", "verify")
R.control("smtp_tls_CAfile", f"{d}/ca.pem")
qid, jobs, r = a.deliver(R, ["z@tls.test"])
t.ok(code(r, jobs)[0] == "K", "verify: chain to smtp_tls_CAfile and name localhost", r)
R.control("smtp_tls_CAfile", f"{d}/otherca.pem")
n = len(s.messages)
qid, jobs, r = a.deliver(R, ["w@tls.test"])
t.ok(code(r, jobs)[0] == "Z" and code(r, jobs)[1] == "4.7.5", "verify: untrusted chain deferred", r)
t.eq(len(s.messages), n, "no mail over an unverified connection")
R.control("smtp_tls_CAfile", f"{d}/ca.pem")
qid, jobs, r = a.deliver(R, ["v@ip.test"])
t.ok(code(r, jobs)[0] == "Z" and code(r, jobs)[1] == "4.7.5", "verify: a name the certificate lacks is deferred", r)

# none
R.control("smtp_tls_security_level", "none")
k = s.commands.count("TLS-OK")
qid, jobs, r = a.deliver(R, ["u@ip.test"])
t.ok(code(r, jobs)[0] == "K" and s.commands.count("TLS-OK") == k, "none: no STARTTLS", r)
s.close()

# AUTH over TLS with the default smtp_sasl_security_options (noplaintext)
s = Sink(tls=(f"{d}/server.pem", f"{d}/server.key"), caps=["PIPELINING", "AUTH PLAIN LOGIN"], auth=("me", "pw"))
R.table("transport", "tls.test smtp:[localhost]:%d" % s.port)
R.table("sasl_passwd", "[localhost]:%d me:pw" % s.port)
R.control("smtp_sasl_auth_enable", "yes")
R.control("smtp_tls_security_level", "may")
qid, jobs, r = a.deliver(R, ["a@tls.test"])
t.ok(code(r, jobs)[0] == "K" and "AUTH-OK" in s.commands and
     s.commands.index("TLS-OK") < s.commands.index("AUTH-OK"), "AUTH after STARTTLS", (r, s.commands))
s.close()
plain.close()
a.stop()
R.cleanup()
t.done()
