#!/usr/bin/env python3
"""ctl-dnscheck.t — `yubin-ctl dns-check DOMAIN` against a real DNS server:
re-runs itself inside `unshare --net --mount` (as remote-mx.t does) with
dnsmasq as the only resolver, and publishes MX, A, PTR, SPF, DMARC,
MTA-STS and TLSRPT records for good.test. Proves the PTR checks (FCrDNS)
for each MX address and for myhostname: a PTR that resolves back is ok;
a missing PTR and one naming a host with another address are FAILs; and
that the optional MTA-STS and TLSRPT records are reported."""
import os, sys, re, shutil, subprocess, socket, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import netns
from yubintest import Tap, BIN

netns.enter(__file__)

# ---- from here on we are inside our own network and mount namespace ----
t = Tap()
tmp = tempfile.mkdtemp(prefix="yubin-dnscheck-")
root = os.path.join(tmp, "root")
os.makedirs(os.path.join(root, "control"))
netns.local_resolver(tmp)
conf = netns.dnsmasq_conf(tmp, [
    "local=/127.in-addr.arpa/",
    "host-record=mx1.good.test,127.0.0.2",
    "address=/mx2.good.test/127.0.0.3",
    "address=/mx3.good.test/127.0.0.4",
    "host-record=liar.other.test,127.0.0.9",
    "host-record=out.good.test,127.0.0.5",
    "mx-host=good.test,mx1.good.test,10",
    "mx-host=good.test,mx2.good.test,20",
    "mx-host=good.test,mx3.good.test,30",
    "ptr-record=2.0.0.127.in-addr.arpa,mx1.good.test",
    "ptr-record=4.0.0.127.in-addr.arpa,liar.other.test",
    "ptr-record=5.0.0.127.in-addr.arpa,out.good.test",
    'txt-record=good.test,"v=spf1 mx -all"',
    'txt-record=_dmarc.good.test,"v=DMARC1; p=none"',
    'txt-record=_mta-sts.good.test,"v=STSv1; id=2026112301"',
    'txt-record=_smtp._tls.good.test,"v=TLSRPTv1; rua=mailto:tls-reports@good.test"',
    'txt-record=_mta-sts.bad.test,"v=STSv1; id=not-valid"',
    "mx-host=bad.test,mx1.good.test,10",
])
dns, up = netns.dnsmasq(conf, "mx1.good.test", "127.0.0.2")
t.ok(up, "dnsmasq answers inside the namespace")
with open(os.path.join(root, "control", "myhostname"), "w") as f:
    f.write("out.good.test\n")


def dns_check(domain):
    r = subprocess.run([os.path.join(BIN, "yubin-ctl"), "dns-check", domain], capture_output=True,
                       env=dict(os.environ, YUBIN_ROOT=root), timeout=120)
    return r.returncode, r.stdout.decode()


rc, o = dns_check("good.test")
t.ok(re.search(r"^ok +PTR +127\.0\.0\.2 \(MX\) -> mx1\.good\.test -> 127\.0\.0\.2: forward-confirmed", o, re.M),
     "PTR of an MX address that resolves back: ok", o)
t.ok(re.search(r"^FAIL PTR +127\.0\.0\.3 \(MX\): no PTR record", o, re.M), "MX address without PTR: FAIL", o)
t.ok(re.search(r"^FAIL PTR +127\.0\.0\.4 \(MX\) -> liar\.other\.test, which does not resolve back to 127\.0\.0\.4",
               o, re.M), "PTR naming a host with another address: FAIL", o)
t.ok(re.search(r"^ok +PTR +127\.0\.0\.5 \(myhostname out\.good\.test\) -> out\.good\.test -> 127\.0\.0\.5", o, re.M),
     "myhostname's address checked too", o)
t.ok(re.search(r"^ok +MTA-STS _mta-sts\.good\.test: v=STSv1; id=2026112301", o, re.M), "MTA-STS record reported", o)
t.ok(re.search(r"^ok +TLSRPT _smtp\._tls\.good\.test: v=TLSRPTv1; rua=mailto:tls-reports@good\.test", o, re.M),
     "TLSRPT record reported", o)
t.ok(re.search(r"^ok +SPF +v=spf1 mx -all", o, re.M) and re.search(r"^ok +DMARC", o, re.M), "SPF and DMARC still", o)
t.eq(rc, 1, "exit 1: there were FAILs")

rc, o = dns_check("bad.test")
t.ok(re.search(r"^FAIL MTA-STS _mta-sts\.bad\.test: v=STSv1; id=not-valid \(malformed", o, re.M),
     "malformed MTA-STS record: FAIL", o)
t.ok(re.search(r"^note TLSRPT _smtp\._tls\.bad\.test: none published \(optional", o, re.M), "no TLSRPT: a note", o)

dns.terminate()
dns.wait()
if os.environ.get("KEEP_TEST_ROOT"):
    print("# kept " + tmp)
else:
    shutil.rmtree(tmp, ignore_errors=True)
t.done()
