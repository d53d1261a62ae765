#!/usr/bin/env python3
"""Open-relay tricks from an untrusted client. control/mynetworks names a
network that does not hold 127.0.0.1, so the test client is a stranger:
every address that hides another destination inside a local-looking one
(percent hack, bang path, quoted local part with '@', source route) or
names a remote host directly (IP literal, mixed case, trailing dot) must
be refused at RCPT with a 5xx code, never accepted and relayed. The two
plain local addresses at the end prove the refusals are not blanket."""
import os, sys
sys.path.insert(0, os.path.dirname(__file__))
from seclib import smtp_open  # noqa: E402
from yubintest import Tap, Instance  # noqa: E402

TRICKS = [
    # (why it is dangerous, the RCPT argument)
    ("plain remote domain", "<victim@remote.example>"),
    ("mixed-case remote domain", "<victim@REMOTE.Example>"),
    ("remote domain with trailing dot", "<victim@remote.example.>"),
    ("percent hack: user%remote@local", "<victim%remote.example@example.test>"),
    ("percent hack to localhost", "<victim%remote.example@localhost>"),
    ("bang path: remote!user@local", "<remote.example!victim@example.test>"),
    ("quoted local part hiding @", "<\"victim@remote.example\"@example.test>"),
    ("quoted local part, no domain", "<\"victim@remote.example\">"),
    ("source route through us", "<@example.test:victim@remote.example>"),
    ("source route, two hops", "<@example.test,@localhost:victim@remote.example>"),
    ("IP literal destination", "<victim@[192.0.2.99]>"),
    ("IPv6 literal destination", "<victim@[IPv6:2001:db8::99]>"),
    ("double @", "<victim@remote.example@example.test>"),
    ("local domain as subdomain of remote", "<victim@example.test.remote.example>"),
    ("unbracketed with percent", "victim%remote.example@example.test"),
    ("mixed-case percent hack", "<Victim%Remote.Example@EXAMPLE.TEST>"),
]

t = Tap()
with Instance() as y:
    y.control("mynetworks", "192.0.2.0/24")
    c = smtp_open(y.port("smtp"))
    r = c.cmd("MAIL FROM:<stranger@client.test>")
    t.ok(r and r[-1].startswith("250"), "a stranger may send MAIL", r)
    for why, arg in TRICKS:
        r = c.cmd("RCPT TO:" + arg)
        t.ok(r and r[-1][:1] == "5", f"refused: {why} {arg}", r)
    for arg in ("<demo@example.test>", "<DEMO@Example.TEST>"):
        r = c.cmd("RCPT TO:" + arg)
        t.ok(r and r[-1].startswith("250"), f"accepted: local {arg}", r)
    c.cmd("QUIT")
    c.close()
t.done()
