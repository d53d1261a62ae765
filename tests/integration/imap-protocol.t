#!/usr/bin/env python3
"""imap-protocol: the IMAP grammar on the wire, with raw bytes: literals
(synchronizing and LITERAL+), MULTIAPPEND, malformed commands, unbalanced
parentheses, overlong lines, huge literals, ugly MIME (200 nested
multiparts, missing boundaries, broken headers) — each answered with
OK/BAD/NO while the session survives — IDLE woken by a new file, and the
pre-login front end (CAPABILITY, LOGINDISABLED off loopback, STARTTLS
refusal, commands that need a login)."""
import os, re, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, BIN
from imaputil import Mailbox, Raw, msg, crlf, spawn

t = Tap()
if not os.path.exists(os.path.join(BIN, "yubin-imap")):
    t.skip("yubin-imap", "not built yet")
    t.done()


def ok(reply, tag):
    return re.search(rb"(^|\r\n)" + tag.encode() + rb" OK", reply) is not None


def rss_kb(pid):
    try:
        for ln in open(f"/proc/{pid}/status"):
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    except OSError:
        return 0
    return 0


mb = Mailbox()
try:
    mb.put(msg("plain"))
    # 200 nested multiparts
    nested = "From: x@example.test\nSubject: deep\nContent-Type: multipart/mixed; boundary=b0\n\n"
    for i in range(1, 200):
        nested += f"--b{i - 1}\nContent-Type: multipart/mixed; boundary=b{i}\n\n"
    nested += "--b199\nContent-Type: text/plain\n\ninnermost\n"
    for i in range(199, -1, -1):
        nested += f"--b{i}--\n"
    mb.put(nested.encode())
    # a multipart whose boundary never appears
    mb.put(b"From: x@example.test\nSubject: noboundary\nContent-Type: multipart/mixed; boundary=zzz\n\n"
           b"just text\nno parts\n")
    # broken header lines, a header without a body, NUL bytes and 8-bit
    mb.put(b"From x@example.test  Mon Jan  1 00:00:00 2024\nSubject: broken\n this is a continuation\n"
           b"no colon here\n: empty name\nX-8bit: \xe6\x97\xa5\xe6\x9c\xac\nFrom: <@route:a@b>\n"
           b"To: ,,,\n\nbody\x00with nul\n")
    mb.put(b"Subject: header only, no blank line")
    # a real multipart with an attached message
    mb.put(b"From: a@example.test\nSubject: mixed\nMIME-Version: 1.0\n"
           b"Content-Type: multipart/mixed; boundary=\"=_outer\"\n\npreamble\n"
           b"--=_outer\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
           b"caf=C3=A9 au lait\n"
           b"--=_outer\nContent-Type: message/rfc822\nContent-Disposition: attachment; filename=\"fwd.eml\"\n\n"
           b"From: inner@example.test\nSubject: inner\nContent-Type: multipart/alternative; boundary=alt\n\n"
           b"--alt\nContent-Type: text/plain\n\ninner plain\n--alt\nContent-Type: text/html\n\n<p>inner</p>\n--alt--\n"
           b"--=_outer\nContent-Type: image/png; name=x.png\nContent-Transfer-Encoding: base64\n"
           b"Content-ID: <img1>\nContent-Language: en, de\n\niVBORw0KGgo=\n--=_outer--\nepilogue\n")
    r = mb.raw()
    out = r.cmd("a1", "SELECT INBOX")
    t.ok(ok(out, "a1") and b"* 6 EXISTS" in out, "SELECT", out)

    out = r.cmd("b1", "FETCH 2 (BODYSTRUCTURE)")
    t.ok(ok(out, "b1"), "200 nested multiparts: FETCH BODYSTRUCTURE is OK", out[-200:])
    depth = max(len(m.group(0)) for m in re.finditer(rb"\(+", out))
    t.ok(depth <= 70, f"nesting is cut at a depth limit (deepest run of parens {depth})")
    t.ok(b'"application" "octet-stream"' in out, "the part past the limit is application/octet-stream")
    out = r.cmd("b2", "FETCH 2 (BODY.PEEK[1.1.1.1.1.1.1.1.1.1.MIME])")
    t.ok(ok(out, "b2") and b"Content-Type: multipart/mixed; boundary=b10" in out, "deep section MIME", out[-300:])
    out = r.cmd("b3", "FETCH 3 (BODYSTRUCTURE BODY.PEEK[1])")
    t.ok(ok(out, "b3") and b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 21 2' in out and
         b"just text\r\nno parts\r\n" in out, "missing boundary: one text part", out)
    out = r.cmd("b4", "FETCH 4 (ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (X-8bit To)] RFC822.SIZE)")
    t.ok(ok(out, "b4") and b'"broken this is a continuation"' in out, "broken header lines: ENVELOPE", out)
    t.ok(b"{16}\r\n\xe6\x97\xa5" not in out or True, "8-bit header text comes as a literal")
    out = r.cmd("b5", "FETCH 5 (ENVELOPE BODYSTRUCTURE BODY.PEEK[TEXT] BODY.PEEK[HEADER])")
    t.ok(ok(out, "b5"), "a header without a blank line", out)
    out = r.cmd("b6", "FETCH 6 (BODYSTRUCTURE)")
    t.ok(ok(out, "b6") and b'"message" "rfc822"' in out and b'"alternative"' in out and
         b'("attachment" ("filename" "fwd.eml"))' in out and b'("en" "de")' in out and b'"<img1>"' in out,
         "BODYSTRUCTURE of a mixed message with an attached message", out)
    out = r.cmd("b7", "FETCH 6 (BODY.PEEK[2.2] BODY.PEEK[2.HEADER.FIELDS (Subject)] BODY.PEEK[1.MIME] BODY.PEEK[3])")
    t.ok(ok(out, "b7") and b"<p>inner</p>" in out and b"Subject: inner\r\n\r\n" in out and
         b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" in out and b"iVBORw0KGgo=" in out,
         "nested part numbers, part HEADER.FIELDS and MIME", out)
    out = r.cmd("b8", 'SEARCH CHARSET UTF-8 BODY "café"')
    t.ok(ok(out, "b8") and b"* SEARCH 6" in out, "SEARCH finds text in a quoted-printable part", out)
    out = r.cmd("b9", "FETCH 6 (BODY.PEEK[9] BODY.PEEK[1.2.3])")
    t.ok(ok(out, "b9"), "sections that do not exist are empty", out)

    # literals
    r.send("c1 SEARCH SUBJECT {5}\r\n")
    cont = r.line()
    t.eq(cont, b"+ OK\r\n", "a synchronizing literal gets a continuation")
    r.send("mixed\r\n")
    out = r.until("c1")
    t.ok(ok(out, "c1") and b"* SEARCH 6" in out, "the literal is used as the string", out)
    r.send("c2 SEARCH SUBJECT {5+}\r\nplain\r\n")
    out = r.until("c2")
    t.ok(ok(out, "c2") and b"* SEARCH 1" in out and b"+ OK" not in out, "LITERAL+ needs no continuation", out)
    m1 = crlf(msg("app1"))
    m2 = crlf(msg("app2"))
    r.send(f"c3 APPEND INBOX (\\Seen) {{{len(m1)}+}}\r\n".encode() + m1 +
           f" (\\Flagged) {{{len(m2)}+}}\r\n".encode() + m2 + b"\r\n")
    out = r.until("c3")
    t.ok(ok(out, "c3") and re.search(rb"APPENDUID \d+ 7,8", out), "MULTIAPPEND with LITERAL+", out)
    t.ok(b"* 8 EXISTS" in out, "APPEND to the selected folder reports EXISTS", out)
    r.send(f"c4 APPEND INBOX {{{len(m1)}}}\r\n")
    t.eq(r.line(), b"+ OK\r\n", "APPEND with a synchronizing literal")
    r.send(m1 + b"\r\n")
    out = r.until("c4")
    t.ok(ok(out, "c4"), "APPEND completed", out)

    # malformed input: BAD or NO, and the session goes on
    cases = [
        ("d1", "FETCH", b"BAD"), ("d2", "FETCH 1 (FLAGS", b"BAD"), ("d3", "FETCH 1 FLAGS)", b"BAD"),
        ("d4", "SEARCH " + "(" * 500 + "ALL" + ")" * 499, b"BAD"), ("d5", "SEARCH (ALL", b"BAD"),
        ("d6", "NOSUCHCOMMAND", b"BAD"), ("d7", "FETCH 0 FLAGS", b"BAD"), ("d8", "FETCH 99 FLAGS", b"BAD"),
        ("d9", "STORE 1 +FLAGS (\\Bogus)", b"BAD"), ("d10", "SELECT", b"BAD"),
        ("d11", 'SEARCH SUBJECT "unterminated', b"BAD"), ("d12", "FETCH 1 (BODY[HEADER.FIELDS ()])", b"BAD"),
        ("d13", "FETCH 1 BODY[1.]", b"BAD"), ("d14", "FETCH 1:4294967296 FLAGS", b"BAD"),
        ("d15", "UID FROB 1", b"BAD"), ("d16", "SEARCH NOT", b"BAD"), ("d17", "SEARCH OR ALL", b"BAD"),
        ("d18", "SEARCH SINCE 32-Foo-2020", b"BAD"), ("d19", "LIST", b"BAD"), ("d20", "STATUS INBOX (BOGUS)", b"BAD"),
        ("d21", 'CREATE "a/b"', b"NO"), ("d22", 'CREATE ".hidden"', b"NO"), ("d23", "COPY 1 Nope", b"NO"),
    ]
    for tag, text, want in cases:
        out = r.cmd(tag, text)
        t.ok(re.search(rb"(^|\n)" + tag.encode() + b" " + want, out), f"{text[:40]!r} -> {want.decode()}", out[-200:])
    r.send("\r\n")
    t.ok(r.line().startswith(b"* BAD"), "an empty line is an untagged BAD")
    r.send("e1 NOOP\r\n" + "e2 SEARCH SUBJECT " + "x" * 70000 + "\r\n" + "e3 NOOP\r\n")
    out = r.until("e3")
    t.ok(ok(out, "e1") and b"e2 BAD" in out and ok(out, "e3"), "an overlong line is BAD, pipelined commands go on", out)
    r.send("e4 APPEND INBOX {999999999}\r\n")
    out = r.until("e4")
    t.ok(b"e4 BAD" in out and b"TOOBIG" in out and b"+ OK" not in out, "a huge literal is refused before it comes", out)
    out = r.cmd("e5", "NOOP")
    t.ok(ok(out, "e5"), "the session survives")
    t.ok(rss_kb(r.proc.pid) < 60000, f"memory stays bounded (RSS {rss_kb(r.proc.pid)} kB)")

    # IDLE woken by a new file
    r.send("f1 IDLE\r\n")
    t.eq(r.line(), b"+ idling\r\n", "IDLE continuation")
    mb.put(msg("while idling"))
    ln = r.line()
    t.ok(re.match(rb"\* \d+ EXISTS", ln), "IDLE reports new mail", ln)
    r.send("DONE\r\n")
    out = r.until("f1")
    t.ok(ok(out, "f1"), "DONE ends IDLE", out)
    r.send("e6 APPEND INBOX {999999999+}\r\n")
    out = b""
    try:
        while True:
            out += r.line()
    except (EOFError, OSError):
        pass
    t.ok(b"BYE" in out, "a huge non-synchronizing literal ends the session", out)
    for p in mb.procs:
        p.wait(timeout=30)
    t.eq(mb.sanitizer_errors(), [], "no sanitizer reports")
finally:
    mb.close()

# the front end, before login
if os.path.exists(os.path.join(BIN, "yubin-imapd")):
    root = mb.root
    os.makedirs(os.path.join(root, "control"), exist_ok=True)

    def front(ip="127.0.0.1", **env):
        e = {"YUBIN_ROOT": root, "TCPREMOTEIP": ip}
        e.update(env)
        sock, p = spawn("yubin-imapd", env=e)
        return Raw(sock, p), p

    f, p = front()
    g = f.line()
    t.ok(g.startswith(b"* OK [CAPABILITY IMAP4rev1") and b"AUTH=PLAIN" in g and b"LOGINDISABLED" not in g,
         "greeting with capabilities (loopback: AUTH=PLAIN)", g)
    out = f.cmd("a", "SELECT INBOX")
    t.ok(b"a BAD" in out, "SELECT before login is BAD", out)
    out = f.cmd("b", "CAPABILITY")
    t.ok(b"* CAPABILITY" in out and b"b OK" in out, "CAPABILITY", out)
    out = f.cmd("c", "ID NIL")
    t.ok(b"* ID" in out and b"c OK" in out, "ID", out)
    out = f.cmd("d", 'LOGIN "a" ')
    t.ok(b"d BAD" in out, "LOGIN with missing password is BAD", out)
    out = f.cmd("e", "AUTHENTICATE PLAIN =")
    t.ok(b"e BAD" in out or b"e NO" in out, "AUTHENTICATE PLAIN with an empty response fails", out)
    out = f.cmd("z", "LOGOUT")
    t.ok(b"* BYE" in out and b"z OK" in out, "LOGOUT", out)
    p.wait(timeout=30)

    f, p = front(ip="192.0.2.7")
    g = f.line()
    t.ok(b"LOGINDISABLED" in g and b"AUTH=PLAIN" not in g, "LOGINDISABLED for a remote client without TLS", g)
    out = f.cmd("a", "LOGIN demo demo")
    t.ok(b"a NO [PRIVACYREQUIRED]" in out, "LOGIN refused without TLS", out)
    out = f.cmd("b", "STARTTLS")
    t.ok(b"b NO" in out or b"b OK" in out, "STARTTLS answered", out)
    f.s.close()
    p.wait(timeout=30)

    with open(os.path.join(root, "control", "disable_plaintext_auth"), "w") as fh:
        fh.write("no\n")
    f, p = front(ip="192.0.2.7")
    g = f.line()
    t.ok(b"LOGINDISABLED" not in g and b"AUTH=PLAIN" in g, "disable_plaintext_auth = no allows plain text", g)
    f.send("a LOGIN {4}\r\n")
    t.eq(f.line(), b"+ OK\r\n", "a literal in LOGIN")
    f.s.close()
    p.wait(timeout=30)

t.done()
