#!/usr/bin/env python3
"""smtpd-tables.t — the policy and rewriting tables of a yubin-run instance,
driven with smtplib and swaks from two client addresses (127.0.0.1 is in
mynetworks, 127.0.0.2 is not): check_client/helo/sender/recipient_access
with every action (OK, REJECT text, DEFER, DISCARD, NNN text, DUNNO, HOLD,
WARN) and every key kind (address, domain, parent domain, user@, IP, IP
prefix, net/bits, cidr: table); header_checks and body_checks (REJECT,
DISCARD, HOLD, WARN, REPLACE, PREPEND, IGNORE); canonical, sender_ and
recipient_canonical in the envelope and in the delivered headers;
relocated 550 5.1.6."""
import os, shutil, smtplib, socket, subprocess, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, Instance, maildir_messages, wait_for, wait_messages

t = Tap()
t.need("policy tables", "yubin-run", "yubin-smtpd", "yubin-map", "yubin-user", "yubin-ctl", "yubin-local",
       "yubin-qmgr")


def smtp(y, src="127.0.0.1", helo="client.test"):
    s = smtplib.SMTP(timeout=30, source_address=(src, 0))
    s.connect("127.0.0.1", y.port("smtp"))
    s.ehlo(helo)
    return s


def rcpt_reply(y, sender, rcpt, src="127.0.0.1", helo="client.test"):
    """(code, text) of RCPT TO after MAIL FROM (or of MAIL when it fails)"""
    s = smtp(y, src, helo)
    try:
        code, text = s.mail(sender)
        if code != 250:
            return code, text.decode()
        code, text = s.rcpt(rcpt)
        return code, text.decode()
    finally:
        s.close()


def send(y, sender, rcpts, body, src="127.0.0.1"):
    """(code, text) of the end of DATA, or of the first refusal"""
    s = smtp(y, src)
    try:
        code, text = s.mail(sender)
        if code != 250:
            return code, text.decode()
        for r in rcpts:
            code, text = s.rcpt(r)
            if code != 250:
                return code, text.decode()
        code, text = s.data(body)
        return code, text.decode()
    except smtplib.SMTPDataError as e:
        return e.smtp_code, e.smtp_error.decode()
    finally:
        try:
            s.quit()
        except Exception:
            pass


def held(y):
    try:
        return os.listdir(os.path.join(y.root, "queue", "hold"))
    except OSError:
        return []


with Instance() as y:
    y.run("yubin-user", "add", "bob@example.test", input=b"bobpw\n")
    y.run("yubin-user", "add", "carol@example.test", input=b"carolpw\n")
    demo, bob, carol = (y.maildir(a) for a in ("demo@example.test", "bob@example.test", "carol@example.test"))
    y.control("mynetworks", "127.0.0.1/32")
    y.control("smtpd_recipient_restrictions",
              "check_client_access cidr:clients, check_client_access client_access, "
              "check_helo_access helo_access, check_sender_access sender_access, "
              "check_recipient_access rcpt_access, permit_mynetworks, reject_unauth_destination")
    y.control("clients.cidr", "# cidr: table\n127.0.0.4/32 REJECT cidr says no\n")
    y.map("client_access", "")
    y.map("helo_access", "bad.helo.test REJECT bad helo\nparent.helo.test 450 4.7.1 parent of your helo\n")
    y.map("sender_access", "\n".join([
        "rejectme@example.org REJECT go away",
        "rejectplain@example.org REJECT",
        "deferme@example.org DEFER try later",
        "discard@example.org DISCARD",
        "hold@example.org HOLD held for review",
        "warn@example.org WARN odd sender",
        "example.net 553 5.7.1 no mail from example.net",
        "parent.test REJECT parent domain",
        "spammer@ REJECT local part",
        "relayok@example.org OK",
        "dunno@example.net DUNNO",
    ]) + "\n")
    y.map("rcpt_access", "bob@example.test REJECT bob is away\n")

    # --- sender keys and actions ------------------------------------------
    code, text = rcpt_reply(y, "rejectme@example.org", "demo@example.test")
    t.ok(code == 554 and "5.7.1" in text and "go away" in text and "Sender address rejected" in text,
         "REJECT text: 554 5.7.1 with the table's text", (code, text))
    code, text = rcpt_reply(y, "rejectplain@example.org", "demo@example.test")
    t.ok(code == 554 and "Access denied" in text, "REJECT without text: Access denied", (code, text))
    code, text = rcpt_reply(y, "deferme@example.org", "demo@example.test")
    t.ok(code == 450 and "4.7.1" in text and "try later" in text, "DEFER: 450 4.7.1", (code, text))
    code, text = rcpt_reply(y, "x@example.net", "demo@example.test")
    t.ok(code == 553 and text.startswith("5.7.1 no mail from example.net"), "NNN text from a domain key",
         (code, text))
    code, text = rcpt_reply(y, "dunno@example.net", "demo@example.test")
    t.eq(code, 250, "DUNNO on the address stops the lookup: the domain key is not tried")
    code, text = rcpt_reply(y, "a@mx.sub.parent.test", "demo@example.test")
    t.ok(code == 554 and "parent domain" in text, "parent domain key matches a subdomain", (code, text))
    code, text = rcpt_reply(y, "spammer@anywhere.test", "demo@example.test")
    t.ok(code == 554 and "local part" in text, "user@ key", (code, text))
    code, text = rcpt_reply(y, "spammer+tag@anywhere.test", "demo@example.test")
    t.ok(code == 554 and "local part" in text, "user@ key without the extension", (code, text))
    code, text = rcpt_reply(y, "relayok@example.org", "someone@remote.test", src="127.0.0.2")
    t.ok(code == 250, "OK permits: relaying allowed for that sender", (code, text))
    code, text = rcpt_reply(y, "other@example.org", "someone@remote.test", src="127.0.0.2")
    t.ok(code == 554 and "Relay access denied" in text, "without it the same relay is denied", (code, text))

    # --- recipient, helo, client ------------------------------------------
    code, text = rcpt_reply(y, "x@example.org", "bob@example.test")
    t.ok(code == 554 and "bob is away" in text and "Recipient address rejected" in text,
         "check_recipient_access REJECT", (code, text))
    code, text = rcpt_reply(y, "x@example.org", "carol@example.test", helo="bad.helo.test")
    t.ok(code == 554 and "bad helo" in text and "Helo command rejected" in text, "check_helo_access REJECT",
         (code, text))
    code, text = rcpt_reply(y, "x@example.org", "carol@example.test", helo="mx.parent.helo.test")
    t.ok(code == 450 and "parent of your helo" in text, "check_helo_access parent domain, 450 text", (code, text))
    y.map("client_access", "127.0.0.2 REJECT by address\n")
    code, text = rcpt_reply(y, "x@example.org", "carol@example.test", src="127.0.0.2")
    t.ok(code == 554 and "by address" in text and "Client host rejected" in text, "client by address", (code, text))
    code, text = rcpt_reply(y, "x@example.org", "carol@example.test", src="127.0.0.1")
    t.eq(code, 250, "another address is not affected")
    y.map("client_access", "127.0.0 REJECT by prefix\n")
    code, text = rcpt_reply(y, "x@example.org", "carol@example.test", src="127.0.0.3")
    t.ok(code == 554 and "by prefix" in text, "client by IP prefix", (code, text))
    y.map("client_access", "127.0.0.0/30 REJECT by net\n")
    code, text = rcpt_reply(y, "x@example.org", "carol@example.test", src="127.0.0.3")
    t.ok(code == 554 and "by net" in text, "client by net/bits key", (code, text))
    code, text = rcpt_reply(y, "x@example.org", "carol@example.test", src="127.0.0.5")
    t.eq(code, 250, "outside that net: accepted")
    code, text = rcpt_reply(y, "x@example.org", "carol@example.test", src="127.0.0.4")
    t.ok(code == 554 and "cidr says no" in text, "cidr: table", (code, text))
    y.map("client_access", "")

    # --- DISCARD, HOLD, WARN ------------------------------------------------
    before = len(maildir_messages(carol))
    code, text = send(y, "discard@example.org", ["carol@example.test"], b"Subject: discard\r\n\r\nbye\r\n")
    t.ok(code == 250 and "queued as" in text, "DISCARD: the client hears 250 queued", (code, text))
    t.ok(wait_for(lambda: "discarded:" in y.log() and "triggers DISCARD action" in y.log(), 10),
         "DISCARD logged", y.log()[-1500:])
    code, text = send(y, "hold@example.org", ["carol@example.test"], b"Subject: held\r\n\r\nwait\r\n")
    t.ok(code == 250, "HOLD: accepted", (code, text))
    t.ok(wait_for(lambda: len(held(y)) == 1, 10), "HOLD: the message is in queue/hold", held(y))
    t.ok("NOQUEUE: hold: RCPT from" in y.log() and "held for review" in y.log(), "HOLD logged with its text",
         y.log()[-1500:])
    q = y.run("yubin-ctl", "queue", check=False).stdout.decode(errors="replace")
    t.ok("carol@example.test" in q, "yubin-ctl queue lists the held message", q)
    time.sleep(1)
    t.eq(len(maildir_messages(carol)), before, "neither the discarded nor the held message was delivered")
    y.run("yubin-ctl", "release", held(y)[0], check=False)
    got = wait_messages(carol, before + 1, 30)
    t.ok(any(b"Subject: held" in m for m in got.values()), "released, the held message is delivered")
    code, text = send(y, "warn@example.org", ["carol@example.test"], b"Subject: warned\r\n\r\nhi\r\n")
    t.ok(code == 250 and "NOQUEUE: warn: RCPT from" in y.log() and "odd sender" in y.log(),
         "WARN: accepted and logged", y.log()[-800:])

    # --- swaks against the access table -----------------------------------
    if shutil.which("swaks"):
        r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(y.port("smtp")), "--from",
                            "rejectme@example.org", "--to", "demo@example.test", "--helo", "swaks.test"],
                           capture_output=True, text=True, timeout=60)
        t.ok("554 5.7.1" in r.stdout and "go away" in r.stdout, "swaks sees the REJECT", r.stdout[-600:])
    else:
        t.skip("swaks sees the REJECT", "swaks not installed")

    # --- header_checks and body_checks ---------------------------------------
    y.control("header_checks", "\n".join([
        "/^Subject: reject me/ REJECT no thanks",
        "/^Subject: discard me/ DISCARD",
        "/^Subject: hold me/ HOLD checked later",
        "/^Subject: warn me/ WARN suspicious subject",
        "/^X-Secret: / REPLACE X-Secret: [removed]",
        "/^X-Junk:/ IGNORE",
        "/^Subject: prepend me/ PREPEND X-Prepended: yes",
    ]) + "\n")
    y.control("body_checks", "/^forbidden body line/ REJECT body says no\n/^password: / REPLACE password: ***\n")
    code, text = send(y, "a@example.org", ["demo@example.test"], b"Subject: reject me\r\n\r\nx\r\n")
    t.ok(code == 550 and text.startswith("5.7.1 no thanks"), "header REJECT: 550 5.7.1 text", (code, text))
    t.ok(wait_for(lambda: "reject: header Subject: reject me from" in y.log(), 5),
         "logged as Postfix does", y.log()[-800:])
    code, text = send(y, "a@example.org", ["demo@example.test"], b"Subject: ok\r\n\r\nforbidden body line\r\n")
    t.ok(code == 550 and "body says no" in text, "body REJECT", (code, text))
    n0 = len(maildir_messages(demo))
    code, text = send(y, "a@example.org", ["demo@example.test"], b"Subject: discard me\r\n\r\nx\r\n")
    t.ok(code == 250 and wait_for(lambda: "discard: header Subject: discard me" in y.log(), 5),
         "header DISCARD: 250 and logged", (code, text))
    h0 = len(held(y))
    code, text = send(y, "a@example.org", ["demo@example.test"], b"Subject: hold me\r\n\r\nx\r\n")
    t.ok(code == 250 and wait_for(lambda: len(held(y)) == h0 + 1, 10), "header HOLD: into queue/hold",
         (code, text, held(y)))
    code, text = send(y, "a@example.org", ["demo@example.test"],
                      b"Subject: warn me\r\nX-Secret: hunter2\r\nX-Junk: drop\r\n\tcontinued\r\n"
                      b"X-Keep: yes\r\n\r\npassword: hunter2\r\nplain line\r\n")
    t.ok(code == 250 and wait_for(lambda: "warning: header Subject: warn me" in y.log(), 5),
         "header WARN: accepted and logged", (code, text))
    code, text = send(y, "a@example.org", ["demo@example.test"], b"Subject: prepend me\r\n\r\nx\r\n")
    got = wait_messages(demo, n0 + 2, 30)
    msgs = list(got.values())
    warned = [m for m in msgs if b"Subject: warn me" in m]
    t.ok(warned and b"X-Secret: [removed]" in warned[0] and b"hunter2\n" not in warned[0].split(b"\n\n", 1)[0],
         "header REPLACE", warned[0][:600] if warned else got)
    t.ok(warned and b"X-Junk" not in warned[0] and b"continued" not in warned[0] and b"X-Keep: yes" in warned[0],
         "header IGNORE drops the whole folded header")
    t.ok(warned and b"password: ***\n" in warned[0] and b"plain line" in warned[0], "body REPLACE")
    pre = [m for m in msgs if b"Subject: prepend me" in m]
    t.ok(pre and b"X-Prepended: yes\nSubject: prepend me" in pre[0], "header PREPEND", pre[0][:500] if pre else got)
    t.eq(sum(1 for m in msgs if b"discard me" in m or b"hold me" in m), 0, "discarded and held never delivered")
    y.control("header_checks", None)
    y.control("body_checks", None)

    # --- canonical rewriting ------------------------------------------------
    y.map("canonical", "@box.local @example.test\n")
    y.map("recipient_canonical", "old-demo@example.test demo@example.test\n")
    y.map("sender_canonical", "root@box.local postmaster@example.test\n")
    n0 = len(maildir_messages(demo))
    code, text = send(y, "alice@box.local", ["old-demo@example.test"],
                      b"From: Alice <alice@box.local>\r\nTo: Old <old-demo@example.test>, other@box.local\r\n"
                      b"Cc: (x) root@box.local\r\nSender: root@box.local\r\nSubject: canonical\r\n\r\nalice@box.local in the body\r\n")
    t.ok(code == 250, "a recipient known only through recipient_canonical is accepted", (code, text))
    got = wait_messages(demo, n0 + 1, 30)
    m = [v for v in got.values() if b"Subject: canonical" in v]
    hdr = m[0].split(b"\n\n", 1)[0] if m else b""
    t.ok(b"Return-Path: <alice@example.test>" in hdr, "envelope sender rewritten (canonical @domain)", hdr)
    t.ok(b"From: Alice <alice@example.test>" in hdr, "From header rewritten", hdr)
    t.ok(b"To: Old <demo@example.test>, other@example.test" in hdr, "To header rewritten, names kept", hdr)
    t.ok(b"Cc: (x) root@example.test" in hdr, "Cc: recipient header, so canonical but not sender_canonical", hdr)
    t.ok(b"Sender: postmaster@example.test" in hdr, "Sender: sender_canonical applies", hdr)
    t.ok(m and b"alice@box.local in the body" in m[0], "the body is not rewritten")
    y.control("local_header_rewrite_clients", "permit_mynetworks")
    n0 = len(maildir_messages(demo))
    send(y, "alice@box.local", ["demo@example.test"], b"From: <alice@box.local>\r\nSubject: remote\r\n\r\nx\r\n",
         src="127.0.0.2")
    got = wait_messages(demo, n0 + 1, 30)
    m = [v for v in got.values() if b"Subject: remote" in v]
    hdr = m[0].split(b"\n\n", 1)[0] if m else b""
    t.ok(b"From: <alice@box.local>" in hdr and b"Return-Path: <alice@example.test>" in hdr,
         "a client outside local_header_rewrite_clients: envelope rewritten, headers not", hdr)
    for name in ("canonical", "recipient_canonical", "sender_canonical", "local_header_rewrite_clients"):
        y.control(name, None)
        try:
            os.unlink(os.path.join(y.root, "control", name + ".cdb"))
        except OSError:
            pass

    # --- relocated ----------------------------------------------------------
    y.map("relocated", "gone@example.test gone@elsewhere.test\n@oldco.test contact@newco.test\n")
    code, text = rcpt_reply(y, "x@example.org", "gone@example.test")
    t.ok(code == 550 and text.startswith("5.1.6") and "User has moved to gone@elsewhere.test" in text,
         "relocated: 550 5.1.6 user has moved", (code, text))
    y.control("relay_domains", "$mydestination, oldco.test")
    code, text = rcpt_reply(y, "x@example.org", "anyone@oldco.test")
    t.ok(code == 550 and "contact@newco.test" in text, "relocated @domain", (code, text))
    code, text = rcpt_reply(y, "x@example.org", "demo@example.test")
    t.eq(code, 250, "other recipients unaffected")
t.done()
