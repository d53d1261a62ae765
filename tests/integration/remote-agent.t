#!/usr/bin/env python3
"""remote-agent.t — bin/yubin-remote driven directly through the deliver.h
job protocol (no qmgr): queue files written by hand into a scratch
YUBIN_ROOT, third-party servers played by tests/lib/smtpsink.py on
loopback. Proves batching (one transaction for the jobs of a message),
pipelining, per-recipient results, dot-stuffing and CRLF, SIZE, 8BITMIME,
DSN parameters, EHLO->HELO, refusals, connection reuse and idle close,
stale cached connections, AUTH rules, loop detection, parallel sessions,
and that a dead worker's jobs are deferred, not lost."""
import os, sys, time, socket, signal
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, BIN, wait_for
from smtpsink import Sink
from remoteagent import Root, Agent

t = Tap()
R = Root()
control, table, maillog = R.control, R.table, R.maillog


def route(domain, port):
    table("transport", "%s smtp:[127.0.0.1]:%d" % (domain, port))


def deliver(agent, rcpts, **kw):
    return agent.deliver(R, rcpts, **kw)


control("myhostname", "client.test")
control("mydestination", "localhost")
control("smtp_connection_cache_time_limit", "2s")
a = Agent(R)

# --- one transaction for a message's recipients, pipelined ---------------
s = Sink()
route("sink.test", s.port)
body = b"Subject: dots\n\n.leading dot\n..two dots\n.\nlast line without newline"
qid, jobs, r = deliver(a, ["a@sink.test", "b@sink.test", "c@sink.test"], body=body)
t.ok(all(r.get(j, ("",))[0] == "K" for j in jobs), "three recipients delivered", r)
t.eq(len(s.messages), 1, "in one transaction")
t.eq(s.messages[0]["rcpts"] if s.messages else None, ["a@sink.test", "b@sink.test", "c@sink.test"], "all RCPTs")
data = s.messages[0]["data"] if s.messages else b""
t.eq(data, body.replace(b"\n", b"\r\n") + b"\r\n", "LF became CRLF, dots stuffed (and unstuffed by the server)")
t.ok(r[jobs[0]][2].startswith("250 2.0.0 Ok"), "result carries the server's reply", r[jobs[0]])
t.ok(s.messages and s.messages[0]["mail"].startswith("MAIL FROM:<alice@example.org> SIZE="), "SIZE passed",
     s.messages[0]["mail"] if s.messages else "")
cmds = list(s.commands)
t.ok(cmds[:6] == ["EHLO client.test", cmds[1], "RCPT TO:<a@sink.test>", "RCPT TO:<b@sink.test>",
                  "RCPT TO:<c@sink.test>", "DATA"], "EHLO with myhostname, then MAIL..DATA", cmds)
log = maillog()
t.ok("%s: to=<a@sink.test>, relay=127.0.0.1[127.0.0.1]:%d, delay=" % (qid, s.port) in log and
     "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued)" in log, "maillog line in Postfix form", log[-600:])

# --- the next message reuses the connection; idle close afterwards -------
qid2, jobs2, r2 = deliver(a, ["d@sink.test"])
t.ok(r2.get(jobs2[0], ("",))[0] == "K", "second message delivered")
t.eq(s.connections, 1, "over the cached connection")
t.ok("conn_use=2" in maillog(), "log says conn_use=2")
t.ok(wait_for(lambda: "QUIT" in s.commands, timeout=20), "idle cached connection closed with QUIT")
s.close()

# --- per-recipient verdicts ----------------------------------------------
s = Sink(rcpt={"gone@sink.test": "550 5.1.1 <gone@sink.test>: Recipient address rejected",
               "busy@sink.test": "450 4.2.0 mailbox busy"})
route("sink.test", s.port)
qid, jobs, r = deliver(a, ["ok@sink.test", "gone@sink.test", "busy@sink.test"])
t.eq([r.get(j, ("?",))[0] for j in jobs], ["K", "D", "Z"], "accepted, bounced, deferred per recipient")
t.eq(r[jobs[1]][1] if jobs[1] in r else None, "5.1.1", "bounce status from the reply")
t.ok(jobs[1] in r and r[jobs[1]][2] == "host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <gone@sink.test>: "
     "Recipient address rejected (in reply to RCPT TO command)", "Postfix-style diagnostic", r.get(jobs[1]))
t.ok("status=bounced" in maillog() and "status=deferred" in maillog(), "bounced and deferred logged")
qid, jobs, r = deliver(a, ["gone@sink.test"])
t.eq(r.get(jobs[0], ("?",))[0], "D", "all recipients refused: bounced")
t.ok("RSET" in s.commands, "RSET after a transaction without recipients")
s.close()

# --- MAIL and DATA verdicts ----------------------------------------------
s = Sink(mail="452 4.3.1 insufficient system storage")
route("sink.test", s.port)
qid, jobs, r = deliver(a, ["x@sink.test", "y@sink.test"])
t.eq([r.get(j, ("?",))[0] for j in jobs], ["Z", "Z"], "MAIL 452 defers every recipient")
t.ok("(in reply to MAIL FROM command)" in r.get(jobs[0], ("", "", ""))[2], "MAIL named in the reason")
s.close()
s = Sink(done="554 5.6.0 content rejected")
route("sink.test", s.port)
qid, jobs, r = deliver(a, ["x@sink.test", "y@sink.test"])
t.eq([r.get(j, ("?",))[0] for j in jobs], ["D", "D"], "554 after the dot bounces the accepted recipients")
t.ok("(in reply to end of DATA command)" in r.get(jobs[0], ("", "", ""))[2], "end of DATA named")
s.close()

# --- without PIPELINING, and EHLO refused -> HELO -------------------------
s = Sink(caps=["8BITMIME"], ehlo_ok=False)
route("sink.test", s.port)
qid, jobs, r = deliver(a, ["h@sink.test", "i@sink.test"], body="Subject: ü\n\nGrüße\n".encode())
t.ok(all(r.get(j, ("",))[0] == "K" for j in jobs), "delivered after HELO fallback", r)
t.ok("HELO client.test" in s.commands, "HELO sent after EHLO was refused")
t.ok(s.messages and " BODY=" not in s.messages[0]["mail"] and " SIZE=" not in s.messages[0]["mail"],
     "no ESMTP parameters to a HELO server")
t.ok("8-bit message sent as is" in maillog(), "8-bit to a server without 8BITMIME is logged")
s.close()
s = Sink(caps=["8BITMIME", "DSN"])
route("sink.test", s.port)
qid, jobs, r = deliver(a, [("n@sink.test", "SUCCESS,FAILURE", "rfc822;orig+x=y@example.org")],
                       body="Subject: x\n\nbody ÿ\n".encode(), extra="NHDRS\nEenv id=1\n")
m = s.messages[0] if s.messages else {"mail": "", "rcpt_lines": [""]}
t.ok(" BODY=8BITMIME" in m["mail"], "BODY=8BITMIME for an 8-bit message", m["mail"])
t.ok(" RET=HDRS" in m["mail"] and " ENVID=env+20id+3D1" in m["mail"], "RET and ENVID (xtext) passed on", m["mail"])
t.ok(m["rcpt_lines"][0] == "RCPT TO:<n@sink.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;orig+2Bx+3Dy@example.org",
     "NOTIFY and ORCPT passed on", m["rcpt_lines"])
s.close()

# --- SIZE limit -----------------------------------------------------------
s = Sink(caps=["PIPELINING", "SIZE 100"])
route("sink.test", s.port)
qid, jobs, r = deliver(a, ["big@sink.test"], body=b"Subject: big\n\n" + b"x" * 500 + b"\n")
t.ok(r.get(jobs[0], ("",))[0] == "D" and r[jobs[0]][1] == "5.3.4", "message over the server's SIZE bounces 5.3.4",
     r.get(jobs[0]))
t.ok(not any(c.startswith("MAIL") for c in s.commands), "without sending MAIL")
s.close()

# --- servers that cannot be used ------------------------------------------
s = Sink(greeting="554 5.7.1 go away")
route("sink.test", s.port)
qid, jobs, r = deliver(a, ["x@sink.test"])
t.ok(r.get(jobs[0], ("",))[0] == "Z" and "refused to talk to me: 554 5.7.1 go away" in r[jobs[0]][2],
     "554 greeting defers (refused to talk to me)", r.get(jobs[0]))
s.close()
dead = socket.socket()
dead.bind(("127.0.0.1", 0))
dead_port = dead.getsockname()[1]
dead.close()
route("sink.test", dead_port)
qid, jobs, r = deliver(a, ["x@sink.test"])
t.ok(r.get(jobs[0], ("",))[0] == "Z" and r[jobs[0]][1] == "4.4.1" and "Connection refused" in r[jobs[0]][2],
     "connection refused defers 4.4.1", r.get(jobs[0]))

# --- a cached connection the server closed: a fresh one is used -------------
s = Sink(close_after=1)
route("sink.test", s.port)
qid, jobs, r = deliver(a, ["p@sink.test"])
qid, jobs2, r2 = deliver(a, ["q@sink.test"])
t.ok(r.get(jobs[0], ("",))[0] == "K" and r2.get(jobs2[0], ("",))[0] == "K",
     "server closing after each message: both delivered", (r, r2))
t.eq(s.connections, 2, "the dead cached connection was replaced")
s.close()

# --- recipient limit per transaction ---------------------------------------
control("default_destination_recipient_limit", "2")
s = Sink()
route("sink.test", s.port)
qid, jobs, r = deliver(a, ["r%d@sink.test" % i for i in range(5)])
t.ok(all(r.get(j, ("",))[0] == "K" for j in jobs), "five recipients delivered", r)
t.eq(sorted(len(m["rcpts"]) for m in s.messages), [1, 2, 2], "in transactions of at most 2")
control("default_destination_recipient_limit", None)
s.close()

# --- routes answered without SMTP -------------------------------------------
table("transport", "err.test error:5.1.1 no mail for you\nvoid.test discard:\n")
qid, jobs, r = deliver(a, ["x@err.test", "y@void.test"])
t.eq([r.get(j, ("?",))[0] for j in jobs], ["D", "K"], "error: bounces, discard: delivers nowhere")

# --- AUTH -----------------------------------------------------------------
s = Sink(caps=["PIPELINING", "AUTH PLAIN LOGIN"], auth=("user", "s3cret"))
route("sink.test", s.port)
control("smtp_sasl_auth_enable", "yes")
table("sasl_passwd", "[127.0.0.1]:%d user:s3cret" % s.port)
qid, jobs, r = deliver(a, ["x@sink.test"])
t.ok(r.get(jobs[0], ("",))[0] == "Z" and r[jobs[0]][1] == "4.7.0", "no AUTH over plain text by default", r)
t.ok(not any(c.startswith("AUTH") for c in s.commands), "password never sent")
control("smtp_sasl_security_options", "noanonymous")
qid, jobs, r = deliver(a, ["x@sink.test"])
t.ok(r.get(jobs[0], ("",))[0] == "K", "AUTH PLAIN when plain text is allowed", r)
t.ok("AUTH-OK" in s.commands, "server saw a good login")
s.close()
s = Sink(caps=["AUTH LOGIN"], auth=("user", "s3cret"))
route("sink.test", s.port)
table("sasl_passwd", "[127.0.0.1]:%d user:wrong" % s.port)
qid, jobs, r = deliver(a, ["x@sink.test"])
t.ok(r.get(jobs[0], ("",))[0] == "Z" and "SASL authentication failed" in r[jobs[0]][2], "bad password defers", r)
table("sasl_passwd", "[127.0.0.1]:%d user:s3cret" % s.port)
qid, jobs, r = deliver(a, ["x@sink.test"])
t.ok(r.get(jobs[0], ("",))[0] == "K" and "AUTH-OK" in s.commands, "AUTH LOGIN", r)
control("smtp_sasl_auth_enable", None)
control("smtp_sasl_security_options", None)
s.close()

# --- parallel sessions: a slow destination does not hold a fast one --------
class SlowSink(Sink):
    def _serve(self, c):
        time.sleep(4)
        super()._serve(c)

slow, fast = SlowSink(), Sink()
table("transport", "slow.test smtp:[127.0.0.1]:%d\nfast.test smtp:[127.0.0.1]:%d" % (slow.port, fast.port))
j1 = a.send(R.qfile(["x@slow.test"]), [0])
j2 = a.send(R.qfile(["x@fast.test"]), [0])
first = a.q.get(timeout=30)
t.ok(first.startswith("%d K" % j2[0]), "fast destination answered while the slow one waits", first)
rest = a.results(j1)
t.ok(rest.get(j1[0], ("",))[0] == "K", "slow destination delivered too")
slow.close()
fast.close()

# --- a worker killed mid-delivery: its jobs are deferred ------------------
class HangSink(Sink):
    def _serve(self, c):
        time.sleep(60)

h = HangSink()
route("sink.test", h.port)
jobs = a.send(R.qfile(["x@sink.test"]), [0])

wait_for(lambda: h.connections >= 1, timeout=20)
victims = a.children()
# the worker holding the connection to the hanging sink is the busy one;
# kill every worker: idle ones hold no jobs
for p in victims:
    os.kill(p, signal.SIGKILL)
r = a.results(jobs)
t.ok(r.get(jobs[0], ("",))[0] == "Z" and "worker ended" in r[jobs[0]][2], "killed worker's job deferred", r)
h.close()

# --- loop detection: our own listener --------------------------------------
a.stop()
s = Sink()
route("sink.test", s.port)
a = Agent(R, env={"YUBIN_SMTP_LISTEN": "127.0.0.1:%d" % s.port})
qid, jobs, r = deliver(a, ["x@sink.test"])
t.ok(r.get(jobs[0], ("",))[0] == "D" and r[jobs[0]][1] == "5.4.6" and
     "mail for 127.0.0.1 loops back to myself" in r[jobs[0]][2], "own listener: 5.4.6 loop bounce", r)
t.eq(s.connections, 0, "no connection to ourselves")
s.close()

a.stop()
t.ok(a.p.returncode == 0, "yubin-remote exits 0 when qmgr closes its pipe")
R.cleanup()
t.done()
