#!/usr/bin/env python3
"""remote-mx.t — yubin-remote's DNS side against a real DNS server: the
test re-runs itself inside `unshare --net --mount` (a private loopback
and a private /etc/resolv.conf bind-mounted over the real one, so the
machine's DNS is never touched), starts dnsmasq as the only name server
for .test, and plays the MX hosts with sinks on 127.0.0.x port 25.
Proves: MX preference order, a dead first MX skipped, fallback to the
domain's address without MX, a U-label domain found by its A-label, null MX bounces 5.1.10 at once, unknown
domains bounce, CNAMEs followed, our own address as best MX bounces
5.4.6 while a worse one is never tried, inet_protocols, relayhost."""
import os, sys, shutil, subprocess, socket, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import netns
from yubintest import Tap

netns.enter(__file__)

# ---- from here on we are inside our own network and mount namespace ----
from smtpsink import Sink
from remoteagent import Root, Agent

t = Tap()
R = Root()
netns.local_resolver(R.tmp)

conf = netns.dnsmasq_conf(R.tmp, [
    "host-record=mx1.pref.test,127.0.0.2",
    "host-record=mx2.pref.test,127.0.0.3",
    "mx-host=pref.test,mx2.pref.test,20",
    "mx-host=pref.test,mx1.pref.test,10",
    "host-record=dead.deadfirst.test,127.0.0.4",
    "mx-host=deadfirst.test,dead.deadfirst.test,5",
    "mx-host=deadfirst.test,mx2.pref.test,50",
    "host-record=afallback.test,127.0.0.5",
    "dns-rr=nullmx.test,15,000000",
    "cname=alias.test,afallback.test",
    "host-record=self.loop.test,127.0.0.6",
    "mx-host=loop.test,self.loop.test,10",
    "mx-host=loop.test,mx2.pref.test,20",
    "mx-host=loop2.test,dead.deadfirst.test,10",
    "mx-host=loop2.test,self.loop.test,20",
    "mx-host=ghost.test,nowhere.ghost.test,10",
    "host-record=v6.test,::1",
    "host-record=mx.idn.test,127.0.0.7",
    "mx-host=xn--r8jz45g.test,mx.idn.test,10",
])
dns, up = netns.dnsmasq(conf, "mx1.pref.test", "127.0.0.2")
t.ok(up, "dnsmasq answers inside the namespace")

sinks = {ip: Sink(host=ip, port=25) for ip in ("127.0.0.2", "127.0.0.3", "127.0.0.5")}
sinks["127.0.0.7"] = Sink(host="127.0.0.7", port=25, caps=("PIPELINING", "8BITMIME", "SMTPUTF8"))
try:
    v6 = Sink(host="::1", port=25, family=socket.AF_INET6)
except OSError:
    v6 = None

R.control("myhostname", "client.test")
R.control("mydestination", "localhost")
R.control("smtp_connect_timeout", "5s")
a = Agent(R, env={"YUBIN_SMTP_LISTEN": "127.0.0.6:25"})


def got(ip, addr):
    return addr in sinks[ip].rcpts()


qid, jobs, r = a.deliver(R, ["x@pref.test"])
t.ok(r.get(jobs[0], ("",))[0] == "K" and got("127.0.0.2", "x@pref.test"), "best MX (preference 10) used", r)
t.ok(not got("127.0.0.3", "x@pref.test"), "worse MX not used")
t.ok("relay=mx1.pref.test[127.0.0.2]:25" in R.maillog(), "relay named by its MX host name")

qid, jobs, r = a.deliver(R, ["x@deadfirst.test"])
t.ok(r.get(jobs[0], ("",))[0] == "K" and got("127.0.0.3", "x@deadfirst.test"), "dead first MX skipped", r)
t.ok("connect to dead.deadfirst.test[127.0.0.4]:25: Connection refused" in R.maillog(), "and logged")

qid, jobs, r = a.deliver(R, ["x@afallback.test"])
t.ok(r.get(jobs[0], ("",))[0] == "K" and got("127.0.0.5", "x@afallback.test"), "no MX: the domain's A record", r)

qid, jobs, r = a.deliver(R, ["x@alias.test"])
t.ok(r.get(jobs[0], ("",))[0] == "K" and got("127.0.0.5", "x@alias.test"), "CNAME followed", r)

qid, jobs, r = a.deliver(R, ["x@nullmx.test"])
t.ok(r.get(jobs[0], ("",))[0] == "D" and r[jobs[0]][1] == "5.1.10" and "nullMX" in r[jobs[0]][2],
     "null MX bounces 5.1.10 at once", r)

qid, jobs, r = a.deliver(R, ["x@nosuch.test"])
t.ok(r.get(jobs[0], ("",))[0] == "D" and r[jobs[0]][1] == "5.4.4" and "Host not found" in r[jobs[0]][2],
     "unknown domain bounces", r)

qid, jobs, r = a.deliver(R, ["x@ghost.test"])
t.ok(r.get(jobs[0], ("",))[0] == "Z" and r[jobs[0]][1] == "4.4.3", "MX host without address defers", r)

# a U-label domain (SMTPUTF8): its MX is asked for as the A-label xn--r8jz45g.test
qid, jobs, r = a.deliver(R, ["x@例え.test"])
t.ok(r.get(jobs[0], ("",))[0] == "K" and got("127.0.0.7", "x@例え.test".encode().decode("latin-1")),
     "U-label domain: MX looked up by its A-label, delivered with SMTPUTF8", r)

qid, jobs, r = a.deliver(R, ["x@loop.test"])
t.ok(r.get(jobs[0], ("",))[0] == "D" and r[jobs[0]][1] == "5.4.6" and "loops back to myself" in r[jobs[0]][2],
     "we are the best MX: 5.4.6 bounce", r)
t.ok(not got("127.0.0.3", "x@loop.test"), "the worse MX is not tried")

qid, jobs, r = a.deliver(R, ["x@loop2.test"])
t.ok(r.get(jobs[0], ("",))[0] == "Z" and "127.0.0.4" in r[jobs[0]][2], "better MX dead, then ourselves: deferred", r)

if v6:
    R.control("inet_protocols", "ipv4")
    qid, jobs, r = a.deliver(R, ["x@v6.test"])
    t.ok(r.get(jobs[0], ("",))[0] in ("D", "Z") and not v6.rcpts(), "IPv6-only host with inet_protocols=ipv4", r)
    R.control("inet_protocols", "all")
    qid, jobs, r = a.deliver(R, ["y@v6.test"])
    t.ok(r.get(jobs[0], ("",))[0] == "K" and "y@v6.test" in v6.rcpts(), "AAAA used with inet_protocols=all", r)
else:
    t.skip("IPv6-only host with inet_protocols=ipv4", "no IPv6 loopback")
    t.skip("AAAA used with inet_protocols=all", "no IPv6 loopback")

R.control("relayhost", "[mx2.pref.test]")
qid, jobs, r = a.deliver(R, ["z@pref.test"])
t.ok(r.get(jobs[0], ("",))[0] == "K" and got("127.0.0.3", "z@pref.test"), "relayhost [host]: A record, no MX", r)
R.control("relayhost", "pref.test")
qid, jobs, r = a.deliver(R, ["w@elsewhere.test"])
t.ok(r.get(jobs[0], ("",))[0] == "K" and got("127.0.0.2", "w@elsewhere.test"), "relayhost host: its MX", r)

a.stop()
dns.terminate()
dns.wait()
R.cleanup()
t.done()
