#!/usr/bin/env python3
"""qmgr-agent: yubin-qmgr against a fake yubin-local (tests/lib/qmgrutil.py)
in a private queue: delivery and removal, bounces (RFC 3464, parsed with
python's email package; RET=HDRS; NOTIFY=NEVER; null sender to postmaster
once; a failed postmaster notice dropped), retries, maximal_queue_lifetime=0,
remote recipients deferred while yubin-remote is missing, an agent that
dies mid-job, flush and ETRN, delay warnings, the lock, SIGTERM."""
import email, email.policy, os, signal, subprocess, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, wait_for
from qmgrutil import Sandbox

t = Tap()
t.need("qmgr with a fake agent", "yubin-qmgr", "yubin-queue")


def msg(subject, body="hello\n", extra=""):
    return (f"From: sender@example.test\nTo: someone\nSubject: {subject}\n"
            f"Message-ID: <{subject.replace(' ', '-')}@test>\n{extra}\n{body}").encode()


def one(d):
    return next(iter(d.values())) if d else None


def parse(b):
    return email.message_from_bytes(b, policy=email.policy.default)


s = Sandbox({"virtual_mailbox_domains": "example.test flush.test"})
try:
    s.start()
    t.ok(wait_for(lambda: "started yubin-local" in s.log(), 20), "qmgr starts and spawns yubin-local")

    # second manager on the same queue
    r = subprocess.run([os.path.join(s.bin, "yubin-qmgr")], env=s.env, capture_output=True, timeout=20)
    t.ok(r.returncode != 0 and b"another yubin-qmgr" in r.stderr, "a second qmgr refuses to start",
         r.stderr)

    # plain delivery, then removal
    qid = s.inject("sender@example.test", ["a@example.test", "b@example.test"], msg("plain"))
    t.ok(wait_for(lambda: len(s.delivered("a@example.test")) == 1 and len(s.delivered("b@example.test")) == 1),
         "both recipients delivered")
    t.ok(wait_for(lambda: f"{qid}: removed" in s.log()), "message removed when every recipient is done")
    t.ok(f"{qid}: from=<sender@example.test>, size=" in s.log() and "nrcpt=2 (queue active)" in s.log(),
         "log line: from=, size=, nrcpt= (queue active)")
    t.eq(s.queued(), 0, "queue empty afterwards")
    t.eq(one(s.delivered("a@example.test")), msg("plain"), "agent saw the message byte for byte")

    # permanent failure -> RFC 3464 bounce to the sender
    qid = s.inject("sender@example.test", [("perm1@example.test", "", "rfc822;orig+2Bx@example.test"),
                                           "ok1@example.test"],
                   msg("bounce me", "8-bit body \xe9\n".encode("latin-1").decode("latin-1")),
                   records=["Eenv-123"])
    t.ok(wait_for(lambda: s.delivered("sender@example.test")), "bounce delivered to the sender")
    t.ok(f"{qid}: sender non-delivery notification: " in s.log(), "log: sender non-delivery notification")
    b = parse(one(s.delivered("sender@example.test")) or b"")
    t.eq(b.get_content_type(), "multipart/report", "bounce is multipart/report")
    t.eq(b.get_param("report-type"), "delivery-status", "report-type=delivery-status")
    t.ok(b["From"].startswith("MAILER-DAEMON@localhost"), "From: MAILER-DAEMON@myhostname", b["From"])
    parts = list(b.iter_parts()) if b.is_multipart() else []
    t.eq([p.get_content_type() for p in parts], ["text/plain", "message/delivery-status", "message/rfc822"],
         "parts: text/plain, message/delivery-status, message/rfc822")
    if len(parts) == 3:
        ds = parts[1].get_payload()
        per_msg, per_rcpt = ds[0], ds[1:]
        t.eq(per_msg["Reporting-MTA"], "dns; localhost", "Reporting-MTA")
        t.ok(per_msg["Arrival-Date"], "Arrival-Date present")
        t.eq(per_msg["Original-Envelope-Id"], "env-123", "Original-Envelope-Id")
        t.eq(len(per_rcpt), 1, "one recipient block (only the failed one)")
        rb = per_rcpt[0] if per_rcpt else {}
        t.eq(rb.get("Final-Recipient"), "rfc822; perm1@example.test", "Final-Recipient")
        t.eq(rb.get("Original-Recipient"), "rfc822; orig+x@example.test", "Original-Recipient (xtext decoded)")
        t.eq(rb.get("Action"), "failed", "Action: failed")
        t.eq(rb.get("Status"), "5.1.1", "Status")
        t.eq(rb.get("Remote-MTA"), "dns; mx.test", "Remote-MTA")
        t.ok(str(rb.get("Diagnostic-Code", "")).startswith("smtp; 550 5.1.1"), "Diagnostic-Code: smtp; ...",
             rb.get("Diagnostic-Code"))
        orig = parts[2].get_payload()[0]
        t.eq(orig["Subject"], "bounce me", "original message attached")
    t.ok(wait_for(lambda: f"{qid}: removed" in s.log()), "bounced message removed")
    t.eq(len(s.delivered("ok1@example.test")), 1, "other recipient delivered once")

    # RET=HDRS: headers only
    qid = s.inject("hdrs@example.test", ["perm2@example.test"], msg("headers only", "SECRET BODY\n"),
                   records=["NHDRS"])
    t.ok(wait_for(lambda: s.delivered("hdrs@example.test")), "RET=HDRS bounce delivered")
    b = parse(one(s.delivered("hdrs@example.test")) or b"")
    parts = list(b.iter_parts()) if b.is_multipart() else []
    t.ok(len(parts) == 3 and parts[2].get_content_type() == "text/rfc822-headers"
         and b"SECRET BODY" not in (one(s.delivered("hdrs@example.test")) or b""),
         "RET=HDRS returns text/rfc822-headers without the body")

    # NOTIFY=NEVER: no bounce
    qid = s.inject("never@example.test", [("perm3@example.test", "NEVER", "")], msg("never"))
    t.ok(wait_for(lambda: f"{qid}: removed" in s.log()), "NOTIFY=NEVER failure removed")
    t.eq(s.delivered("never@example.test"), {}, "NOTIFY=NEVER: no bounce")

    # null sender failing -> postmaster notice once; a failing notice is dropped
    s.control("double_bounce_recipient", "pm@example.test")
    s.trigger("r")
    time.sleep(0.2)
    qid = s.inject("", ["perm4@example.test"], msg("a bounce"))
    t.ok(wait_for(lambda: s.delivered("pm@example.test")), "failed bounce goes to double_bounce_recipient")
    t.ok(f"{qid}: postmaster non-delivery notification" in s.log(), "log: postmaster notification")
    b = parse(one(s.delivered("pm@example.test")) or b"")
    t.eq(b.get_content_type(), "multipart/report", "postmaster notice is a report too")
    s.control("double_bounce_recipient", "perm-pm@example.test")
    s.trigger("r")
    time.sleep(0.2)
    qid = s.inject("", ["perm5@example.test"], msg("another bounce"))
    t.ok(wait_for(lambda: "undeliverable postmaster notice discarded" in s.log()),
         "a postmaster notice that fails is dropped")
    t.ok(wait_for(lambda: s.queued() == 0), "and nothing loops in the queue", s.log())

    # temporary failure: deferred with a note; then retried and delivered
    qid = s.inject("sender2@example.test", ["temp1@example.test"], msg("temp"))
    t.ok(wait_for(lambda: qid in s.queue("deferred")), "temporary failure: message deferred")
    note = open(os.path.join(s.root, "queue", "defer", qid)).read() if qid in s.queue("defer") else ""
    t.eq(note, "temp1@example.test\t4.2.1\tmailbox busy\n", "defer/ID holds address, dsn, reason")
    qid = s.inject("sender2@example.test", ["flaky1@example.test", "x1@example.test"], msg("flaky"))
    t.ok(wait_for(lambda: s.delivered("flaky1@example.test"), 30), "retried after minimal_backoff_time and delivered")
    t.eq(len(s.delivered("x1@example.test")), 1, "recipient done before the deferral not delivered again")

    # remote recipient without yubin-remote
    qid = s.inject("sender2@example.test", ["someone@remote.test"], msg("remote"))
    t.ok(wait_for(lambda: qid in s.queue("deferred")), "remote recipient deferred")
    note = open(os.path.join(s.root, "queue", "defer", qid)).read() if qid in s.queue("defer") else ""
    t.ok("4.4.0\tremote delivery is not available yet" in note, "reason: remote delivery is not available yet", note)

    # the agent dies mid-job: retried at once, not a deferral
    qid = s.inject("sender2@example.test", ["crash1@example.test"], msg("crash"))
    t.ok(wait_for(lambda: s.delivered("crash1@example.test"), 20), "job of a crashed agent delivered after respawn")
    t.ok("yubin-local died" in s.log() or "yubin-local closed its pipe" in s.log(), "agent death logged")
    # the Maildir file appears before qmgr hears back and removes the message
    t.ok(wait_for(lambda: f"{qid}: removed" in s.log(), 30) and qid not in s.queue("defer"),
         "not counted as a deferral", s.log()[-1500:])

    # maximal_queue_lifetime = 0: one attempt, then bounce 5.4.7
    s.control("maximal_queue_lifetime", "0")
    s.trigger("r")
    time.sleep(0.2)
    qid = s.inject("life@example.test", ["temp2@example.test"], msg("expire"))
    t.ok(wait_for(lambda: s.delivered("life@example.test")), "maximal_queue_lifetime=0: bounced after one attempt")
    b = parse(one(s.delivered("life@example.test")) or b"")
    parts = list(b.iter_parts()) if b.is_multipart() else []
    st = parts[1].get_payload()[1]["Status"] if len(parts) == 3 else None
    t.eq(st, "5.4.7", "expired recipient: Status 5.4.7")
    t.ok("delivery time expired" in (parts[0].get_content() if parts else ""), "human part says why")
    s.control("maximal_queue_lifetime", None)

    # flush (and ETRN) bring deferred mail back now
    s.control("minimal_backoff_time", "1h")
    s.control("maximal_backoff_time", "2h")
    s.control("queue_run_delay", "1h")
    s.trigger("r")
    time.sleep(0.2)
    qid = s.inject("sender3@example.test", ["flaky2@flush.test"], msg("flush"))
    t.ok(wait_for(lambda: qid in s.queue("deferred")), "deferred for an hour")
    s.trigger("fother.test")
    time.sleep(1)
    t.ok(qid in s.queue("deferred"), "ETRN for another domain leaves it alone")
    s.trigger("fflush.test")
    t.ok(wait_for(lambda: f"{qid}: removed" in s.log()), "ETRN for its domain delivers it now")
    qid = s.inject("sender3@example.test", ["flaky3@example.test"], msg("flush2"))
    t.ok(wait_for(lambda: qid in s.queue("deferred")), "deferred again")
    s.trigger("f")
    t.ok(wait_for(lambda: f"{qid}: removed" in s.log()), "flush delivers it now")

    # delay warning
    s.control("delay_warning_time", "1s")
    s.control("minimal_backoff_time", "1s")
    s.control("maximal_backoff_time", "1s")
    s.control("queue_run_delay", "1s")
    s.trigger("r")
    time.sleep(0.2)
    qid = s.inject("warn@example.test", ["temp3@example.test"], msg("warn"))
    t.ok(wait_for(lambda: s.delivered("warn@example.test"), 30), "delay warning sent")
    b = parse(one(s.delivered("warn@example.test")) or b"")
    parts = list(b.iter_parts()) if b.is_multipart() else []
    act = parts[1].get_payload()[1]["Action"] if len(parts) == 3 else None
    t.eq(act, "delayed", "Action: delayed")
    time.sleep(3)
    t.eq(len(s.delivered("warn@example.test")), 1, "only one warning")
    s.control("delay_warning_time", None)

    # as root: a queue file written by a yubin-queue that was not setuid
    # (yubin-setup or make touching it) is given back to yubinq, not stuck
    q = os.path.join(s.bin, "yubin-queue")
    if os.geteuid() == 0 and os.stat(q).st_mode & 0o4000:
        os.chmod(q, 0o711)
        qid = s.inject("sender4@example.test", ["rootfile@example.test"], msg("root file"))
        os.chmod(q, 0o4711)
        t.ok(wait_for(lambda: s.delivered("rootfile@example.test"), 20), "root-owned queue file delivered")
    else:
        t.skip("root-owned queue file delivered", "not root, or no yubinq account")

    # SIGTERM: clean stop, agent gone
    agent_pids = subprocess.run(["pgrep", "-f", os.path.join(s.bin, "yubin-local")], capture_output=True,
                                text=True).stdout.split()
    t.eq(s.stop(), 0, "SIGTERM: qmgr exits 0")
    t.ok(wait_for(lambda: not any(os.path.exists(f"/proc/{p}") for p in agent_pids), 10),
         "its agent is gone too")
finally:
    if t.failed:
        t.diag(s.log()[-6000:])
    s.cleanup()
t.done()
