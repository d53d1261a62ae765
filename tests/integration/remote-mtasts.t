#!/usr/bin/env python3
"""remote-mtasts.t — MTA-STS (RFC 8461) in yubin-remote against a real DNS
server and a real HTTPS policy server: the test re-runs itself inside
`unshare --net --mount` (as remote-mx.t does), publishes MX and
_mta-sts TXT records with dnsmasq, serves the policies from a python3
https server on 127.0.0.10:443 with a certificate from a test CA
(smtp_tls_CAfile points at it), and plays the MX hosts with STARTTLS
sinks. Proves: enforce + listed MX with a valid certificate => delivered
over verified TLS; enforce + unlisted MX => deferred with a log line
naming the domain and policy; enforce + MX without STARTTLS => deferred;
testing => delivered and the mismatch logged; the policy is fetched once
and then served from the cache; no TXT => today's behaviour, no fetch;
a policy host with a certificate from another CA => not used; a new id
whose policy host never answers => the fetch gives up (time limit) and
the cached policy stays in force."""
import os, sys, shutil, subprocess, socket, ssl, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import netns
from yubintest import Tap

netns.enter(__file__)

# ---- from here on we are inside our own network and mount namespace ----
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from smtpsink import Sink
from remoteagent import Root, Agent

t = Tap()
R = Root()
d = R.tmp
netns.local_resolver(d)


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True)


def make_ca(name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.pem", "-days", "30", "-subj", f"/CN=yubin test {name}",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")


def make_cert(name, ca, names):
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.csr", "-subj", "/CN=" + names[0])
    with open(f"{d}/{name}.cnf", "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
                % ",".join("DNS:" + n for n in names))
    openssl("x509", "-req", "-in", f"{d}/{name}.csr", "-CA", f"{d}/{ca}.pem", "-CAkey", f"{d}/{ca}.key",
            "-CAcreateserial", "-out", f"{d}/{name}.pem", "-days", "30", "-extfile", f"{d}/{name}.cnf")


make_ca("ca")
make_ca("otherca")
domains = ("enf", "bad", "tst", "notls", "tst2", "badcert")
make_cert("server", "ca", ["mx.enf.test", "mx.bad.test", "mx.tst.test"] + ["mta-sts.%s.test" % x for x in domains])
make_cert("rogue", "otherca", ["mta-sts.rogue.test"])
for f in os.listdir(d):
    if os.path.isfile(os.path.join(d, f)):
        os.chmod(os.path.join(d, f), 0o644)

POLICY = "version: STSv1\nmode: %s\nmx: %s\nmax_age: 86400\n"
policies = {
    "mta-sts.enf.test": POLICY % ("enforce", "mx.enf.test"),
    "mta-sts.bad.test": POLICY % ("enforce", "*.enf.test"),
    "mta-sts.tst.test": POLICY % ("testing", "mx.elsewhere.test"),
    "mta-sts.notls.test": POLICY % ("enforce", "mx.notls.test"),
    "mta-sts.rogue.test": POLICY % ("enforce", "nowhere.test"),
    "mta-sts.tst2.test": POLICY % ("testing", "mx.tst2.test"),
    "mta-sts.badcert.test": POLICY % ("enforce", "mx.badcert.test"),
}
hits = {}
hits_lock = threading.Lock()


class PolicyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        host = (self.headers.get("Host") or "").lower()
        with hits_lock:
            hits[host] = hits.get(host, 0) + 1
        body = policies.get(host)
        if self.path != "/.well-known/mta-sts.txt" or body is None:
            self.send_error(404)
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def https_server(ip, cert):
    srv = ThreadingHTTPServer((ip, 443), PolicyHandler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(f"{d}/{cert}.pem", f"{d}/{cert}.key")
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


web = https_server("127.0.0.10", "server")
rogue = https_server("127.0.0.11", "rogue")

zone = [
    "host-record=mx.enf.test,127.0.0.2",
    "host-record=mx.bad.test,127.0.0.3",
    "host-record=mx.tst.test,127.0.0.3",
    "host-record=mx.notls.test,127.0.0.4",
    "host-record=mx.rogue.test,127.0.0.3",
    "host-record=mx.nosts.test,127.0.0.3",
    "host-record=mx.tst2.test,127.0.0.3",
    "host-record=mx.badcert.test,127.0.0.3",
    "mx-host=tst2.test,mx.tst2.test,10",
    "mx-host=badcert.test,mx.badcert.test,10",
    "host-record=mta-sts.tst2.test,127.0.0.10",
    "host-record=mta-sts.badcert.test,127.0.0.10",
    'txt-record=_mta-sts.tst2.test,"v=STSv1; id=1"',
    'txt-record=_mta-sts.badcert.test,"v=STSv1; id=1"',
    "mx-host=enf.test,mx.enf.test,10",
    "mx-host=bad.test,mx.bad.test,10",
    "mx-host=tst.test,mx.tst.test,10",
    "mx-host=notls.test,mx.notls.test,10",
    "mx-host=rogue.test,mx.rogue.test,10",
    "mx-host=nosts.test,mx.nosts.test,10",
    "host-record=mta-sts.enf.test,127.0.0.10",
    "host-record=mta-sts.bad.test,127.0.0.10",
    "host-record=mta-sts.tst.test,127.0.0.10",
    "host-record=mta-sts.notls.test,127.0.0.10",
    "host-record=mta-sts.rogue.test,127.0.0.11",
    'txt-record=_mta-sts.enf.test,"v=STSv1; id=20261123a"',
    'txt-record=_mta-sts.bad.test,"v=STSv1; id=1"',
    'txt-record=_mta-sts.tst.test,"v=STSv1; id=1"',
    'txt-record=_mta-sts.notls.test,"v=STSv1; id=1"',
    'txt-record=_mta-sts.rogue.test,"v=STSv1; id=1"',
    'txt-record=_mta-sts.nosts.test,"v=spf1 -all"',
]


def start_dns(records, probe, want):
    return netns.dnsmasq(netns.dnsmasq_conf(d, records), probe, want)


dns, up = start_dns(zone, "mx.enf.test", "127.0.0.2")
t.ok(up, "dnsmasq answers inside the namespace")

tls = (f"{d}/server.pem", f"{d}/server.key")
sink_enf = Sink(host="127.0.0.2", port=25, tls=tls)
sink_other = Sink(host="127.0.0.3", port=25, tls=tls)
sink_plain = Sink(host="127.0.0.4", port=25)

R.control("myhostname", "client.test")
R.control("mydestination", "localhost")
R.control("smtp_connect_timeout", "5s")
R.control("smtp_tls_CAfile", f"{d}/ca.pem")
a = Agent(R)


def res(r, jobs):
    return r.get(jobs[0], ("?", "", ""))


# enforce, the MX is listed and has a valid certificate for its name
qid, jobs, r = a.deliver(R, ["x@enf.test"])
t.ok(res(r, jobs)[0] == "K" and "x@enf.test" in sink_enf.rcpts(), "enforce + listed MX: delivered", r)
t.ok("TLS-OK" in sink_enf.commands, "over TLS", sink_enf.commands)
log = R.maillog()
t.ok("MTA-STS policy of enf.test fetched: id=20261123a mode=enforce" in log, "policy fetch logged", log[-1500:])
t.ok(os.path.exists(os.path.join(R.path, "mta-sts", "enf.test")), "policy cached in $YUBIN_ROOT/mta-sts/")
t.eq(hits.get("mta-sts.enf.test"), 1, "one HTTPS request so far")

# the cache: a second message does not fetch again
qid, jobs, r = a.deliver(R, ["y@enf.test"])
t.ok(res(r, jobs)[0] == "K" and "y@enf.test" in sink_enf.rcpts(), "second message delivered", r)
time.sleep(2.5)   # past the connection cache: the next one opens a new connection
qid, jobs, r = a.deliver(R, ["z@enf.test"])
t.ok(res(r, jobs)[0] == "K", "third message delivered on a new connection", r)
t.eq(hits.get("mta-sts.enf.test"), 1, "policy served from the cache: still one HTTPS request")

# enforce, the MX is not in the policy
qid, jobs, r = a.deliver(R, ["x@bad.test"])
c = res(r, jobs)
t.ok(c[0] == "Z" and c[1] == "4.7.5" and "MTA-STS policy of bad.test (mode enforce, id 1)" in c[2]
     and "not in the policy's mx list" in c[2], "enforce + unlisted MX: deferred 4.7.5", r)
t.ok("x@bad.test" not in sink_other.rcpts(), "nothing sent to the unlisted MX")
t.ok(("%s: MTA-STS policy of bad.test (mode enforce, id 1): MX host mx.bad.test is not in the policy's mx list"
      % qid) in R.maillog(), "log line names the domain, the policy and the host", R.maillog()[-1500:])

# enforce, the MX offers no STARTTLS
qid, jobs, r = a.deliver(R, ["x@notls.test"])
c = res(r, jobs)
t.ok(c[0] == "Z" and "MTA-STS policy of notls.test (mode enforce" in c[2] and "TLS is required" in c[2],
     "enforce + MX without STARTTLS: deferred", r)
t.ok("x@notls.test" not in sink_plain.rcpts(), "nothing sent in plain text")

# testing: delivered anyway, the mismatch logged
qid, jobs, r = a.deliver(R, ["x@tst.test"])
t.ok(res(r, jobs)[0] == "K" and "x@tst.test" in sink_other.rcpts(), "testing + unlisted MX: delivered", r)
t.ok("MTA-STS policy of tst.test (mode testing, id 1): MX host mx.tst.test is not in the policy's mx list; "
     "delivering anyway" in R.maillog(), "and logged", R.maillog()[-1500:])

# the MX's certificate does not name it: enforce defers, testing delivers and logs
qid, jobs, r = a.deliver(R, ["x@badcert.test"])
c = res(r, jobs)
t.ok(c[0] == "Z" and c[1].startswith("4.7.") and "MTA-STS policy of badcert.test (mode enforce, id 1): TLS handshake"
     in c[2], "enforce + certificate not naming the MX: deferred", r)
t.ok("x@badcert.test" not in sink_other.rcpts(), "nothing sent")
qid, jobs, r = a.deliver(R, ["x@tst2.test"])
t.ok(res(r, jobs)[0] == "K" and "x@tst2.test" in sink_other.rcpts(), "testing + certificate not naming the MX: delivered",
     r)
t.ok("MTA-STS policy (mode testing): TLS with mx.tst2.test[127.0.0.3] does not meet the policy" in R.maillog(),
     "and the certificate problem logged", R.maillog()[-1500:])

# a policy host whose certificate does not chain to our CA is not believed
qid, jobs, r = a.deliver(R, ["x@rogue.test"])
t.ok(res(r, jobs)[0] == "K" and "x@rogue.test" in sink_other.rcpts(), "untrusted policy host: no policy, delivered", r)
t.ok("MTA-STS policy of rogue.test (id=1) not fetched: TLS with mta-sts.rogue.test" in R.maillog(),
     "the failed fetch logged", R.maillog()[-1500:])
t.ok(not hits.get("mta-sts.rogue.test"), "no request reached the untrusted server")
qid, jobs, r = a.deliver(R, ["y@rogue.test"])
t.eq(R.maillog().count("MTA-STS policy of rogue.test (id=1) not fetched"), 1,
     "a failed fetch is not retried for every message")

# no MTA-STS record: today's behaviour
qid, jobs, r = a.deliver(R, ["x@nosts.test"])
t.ok(res(r, jobs)[0] == "K" and "x@nosts.test" in sink_other.rcpts(), "no _mta-sts record: delivered as before", r)
t.ok("nosts.test" not in "".join(hits), "and nothing fetched")

# a new id, and the policy host accepts connections but never answers:
# the fetch ends at its time limit and the cached policy stays in force
stall = socket.socket()
stall.bind(("127.0.0.12", 443))
stall.listen(8)
dns.terminate()
dns.wait()
moved = {"host-record=mta-sts.bad.test,127.0.0.10": "host-record=mta-sts.bad.test,127.0.0.12",
         'txt-record=_mta-sts.bad.test,"v=STSv1; id=1"': 'txt-record=_mta-sts.bad.test,"v=STSv1; id=2"'}
dns, up = start_dns([moved.get(r, r) for r in zone], "mta-sts.bad.test", "127.0.0.12")
t.ok(up, "dnsmasq restarted with a new id for bad.test")
qid = R.qfile(["z@bad.test"])
jobs = a.send(qid, [0])
r = a.results(jobs, timeout=150)
c = res(r, jobs)
t.ok(c[0] == "Z" and "MTA-STS policy of bad.test (mode enforce, id 1)" in c[2], "cached policy still enforced", r)
t.ok("MTA-STS policy of bad.test (id=2) not fetched: mta-sts.bad.test[127.0.0.12]: no answer within 20 s; "
     "using the cached policy" in R.maillog(),
     "the failed fetch logged, the cache used", R.maillog()[-1500:])
stall.close()

# switched off
R.control("smtp_mta_sts", "no")
qid, jobs, r = a.deliver(R, ["y@bad.test"])
t.ok(res(r, jobs)[0] == "K" and "y@bad.test" in sink_other.rcpts(), "smtp_mta_sts = no: policy ignored", r)

a.stop()
web.shutdown()
rogue.shutdown()
dns.terminate()
dns.wait()
R.cleanup()
t.done()
