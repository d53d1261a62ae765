#!/usr/bin/env python3
"""Relay control and recipient checks of yubin-smtpd, with real clients
(python smtplib, swaks, curl) against a yubin-run instance: a trusted
client may relay, an untrusted one gets 554 5.7.1 Relay access denied, also
for every classic trick; relay_domains; unknown users 550 5.1.1; the
restriction words; Postfix's reject log line."""
import os, shutil, smtplib, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Tap, Instance, wait_for

t = Tap()


def rcpt(y, addr, sender="a@example.org"):
    """(code, text) of RCPT TO:<addr> in a fresh smtplib session"""
    s = smtplib.SMTP("127.0.0.1", y.port("smtp"), timeout=60)
    try:
        s.ehlo("client.example.org")
        s.mail(sender)
        code, text = s.docmd("RCPT TO:<%s>" % addr) if not addr.startswith("@") and '"' not in addr \
            else s.docmd("RCPT TO:<%s>" % addr)
        return code, text.decode("latin-1")
    finally:
        s.close()


def swaks(y, to, *extra):
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(y.port("smtp")), "--from", "a@example.org",
                        "--to", to, "--helo", "swaks.example.org", "--timeout", "60"] + list(extra),
                       capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout + r.stderr


with Instance() as y:
    # --- trusted (127.0.0.1 in the default mynetworks) ---------------------
    t.eq(rcpt(y, "someone@remote.example")[0], 250, "trusted client (mynetworks) may relay")
    code, out = swaks(y, "someone@remote.example", "--quit-after", "RCPT")
    t.ok(code == 0 and "<-  250 2.1.5 Ok" in out, "swaks: trusted relay RCPT 250", out)

    # --- untrusted: mynetworks without 127.0.0.1 ---------------------------
    y.control("mynetworks", "192.0.2.0/24, [2001:db8::]/32")
    code, text = rcpt(y, "someone@remote.example")
    t.eq((code, text), (554, "5.7.1 <someone@remote.example>: Relay access denied"),
         "untrusted client: 554 5.7.1 Relay access denied")
    t.ok(wait_for(lambda: "NOQUEUE: reject: RCPT from " in y.log()
                  and "554 5.7.1 <someone@remote.example>: Relay access denied; from=<a@example.org> "
                      "to=<someone@remote.example> proto=ESMTP helo=<client.example.org>" in y.log(), 10),
         "log: Postfix-style NOQUEUE reject line", y.log()[-2000:])
    code, out = swaks(y, "someone@remote.example", "--quit-after", "RCPT")
    t.ok(code != 0 and "<** 554 5.7.1 <someone@remote.example>: Relay access denied" in out,
         "swaks: relay denied", out)
    with tempfile.NamedTemporaryFile("w", suffix=".eml", delete=False) as f:
        f.write("Subject: relay\r\n\r\nx\r\n")
    r = subprocess.run(["curl", "-sS", "--max-time", "60", f"smtp://127.0.0.1:{y.port('smtp')}/curl.example.org",
                        "--mail-from", "a@example.org", "--mail-rcpt", "someone@remote.example", "-T", f.name],
                       capture_output=True, text=True, timeout=120)
    t.ok(r.returncode != 0 and "554" in r.stderr, "curl: relay denied (RCPT failed: 554)", r.stderr)

    tricks = [
        ("percent hack", "user%remote.example@example.test"),
        ("bang path", "remote.example!user@example.test"),
        ("quoted @", '"user@remote.example"@example.test'),
        ("source route", "@example.test:user@remote.example"),
        ("mixed case and trailing dot", "user@Remote.EXAMPLE."),
        ("our domain as a prefix", "user@example.test.remote.example"),
        ("address literal", "user@[192.0.2.1]"),
        ("percent hack with trailing dot", "user%remote.example@EXAMPLE.test."),
    ]
    for name, addr in tricks:
        code, text = rcpt(y, addr)
        t.ok(code == 554 and "Relay access denied" in text, f"relay trick refused: {name} <{addr}>", (code, text))

    code, text = rcpt(y, "postmaster@EXAMPLE.Test.")
    t.eq(code, 250, "our own domain in mixed case with a trailing dot is still ours")
    t.eq(rcpt(y, "postmaster")[0], 250, "RCPT TO:<postmaster> (no domain) is accepted")

    # --- unknown users -------------------------------------------------------
    code, text = rcpt(y, "nobody@example.test")
    t.eq((code, text), (550, "5.1.1 <nobody@example.test>: Recipient address rejected: User unknown in virtual mailbox table"),
         "unknown virtual user: 550 5.1.1")
    code, text = rcpt(y, "nobody-here@localhost")
    t.eq((code, text), (550, "5.1.1 <nobody-here@localhost>: Recipient address rejected: User unknown in local recipient table"),
         "unknown system user: 550 5.1.1")
    y.control("unknown_local_recipient_reject_code", "450")
    t.eq(rcpt(y, "nobody-here@localhost")[0], 450, "unknown_local_recipient_reject_code = 450")
    y.control("unknown_local_recipient_reject_code", None)
    y.control("mynetworks", None)
    y.control("mynetworks", "127.0.0.0/8")
    t.eq(rcpt(y, "nobody@example.test")[0], 550, "unknown local users are refused for trusted clients too")
    code, out = swaks(y, "nobody@example.test", "--quit-after", "RCPT")
    t.ok("<** 550 5.1.1 <nobody@example.test>" in out, "swaks: unknown user 550 5.1.1", out)

    # --- relay_domains ------------------------------------------------------
    y.control("mynetworks", "192.0.2.0/24")
    y.control("relay_domains", "relay.example, .sub.example")
    t.eq(rcpt(y, "x@relay.example")[0], 250, "relay_domains: a listed domain is accepted from anyone")
    t.eq(rcpt(y, "x@deep.relay.example")[0], 554, "relay_domains: a subdomain is not, unless listed as .domain")
    t.eq(rcpt(y, "x@a.sub.example")[0], 250, "relay_domains: .domain covers subdomains")
    y.control("relay_domains", None)

    # --- restriction words ----------------------------------------------------
    y.control("smtpd_recipient_restrictions", "reject_non_fqdn_recipient, permit_mynetworks, reject_unauth_destination")
    code, text = rcpt(y, "x@nodots")
    t.eq((code, text), (504, "5.5.2 <x@nodots>: Recipient address rejected: need fully-qualified address"),
         "reject_non_fqdn_recipient: 504 5.5.2")
    y.control("smtpd_recipient_restrictions", "permit")
    t.eq(rcpt(y, "x@remote.example")[0], 250, "'permit' opens the relay (as in Postfix)")
    y.control("smtpd_recipient_restrictions", "reject")
    code, text = rcpt(y, "postmaster@example.test")
    t.eq((code, text), (554, "5.7.1 <postmaster@example.test>: Recipient address rejected: Access denied"),
         "'reject' refuses everything")
    y.control("smtpd_recipient_restrictions", "reject_unlisted_recipient, permit")
    t.eq(rcpt(y, "nobody@example.test")[0], 550, "reject_unlisted_recipient")
    y.control("smtpd_recipient_restrictions", "frobnicate")
    code, text = rcpt(y, "postmaster@example.test")
    t.eq((code, text[:5]), (451, "4.3.5"), "an unknown restriction word: 451 4.3.5 and a warning")
    t.ok(wait_for(lambda: 'unknown smtpd restriction "frobnicate"' in y.log(), 10), "log: unknown restriction warned")
    y.map("access", "blocked@example.test REJECT go away\nok@remote.example OK\n")
    y.control("smtpd_recipient_restrictions", "check_recipient_access access, permit_mynetworks, reject_unauth_destination")
    t.eq(rcpt(y, "blocked@example.test"), (554, "5.7.1 <blocked@example.test>: Recipient address rejected: go away"),
         "check_recipient_access REJECT text")
    t.eq(rcpt(y, "ok@remote.example")[0], 250, "check_recipient_access OK permits relaying that address")
    y.control("smtpd_client_restrictions", "reject")
    code, text = rcpt(y, "postmaster@example.test")
    t.ok(code == 554 and "Client host rejected: Access denied" in text, "smtpd_client_restrictions = reject (at RCPT)", text)
    y.control("smtpd_client_restrictions", None)
    y.control("smtpd_recipient_restrictions", None)
    y.control("mynetworks", "127.0.0.0/8")
    t.eq(rcpt(y, "someone@remote.example")[0], 250, "trusted again after mynetworks is restored")
t.done()
