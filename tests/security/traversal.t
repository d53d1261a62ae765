#!/usr/bin/env python3
"""Path traversal through IMAP mailbox names and through login names. A
mailbox name is turned into a directory under the user's Maildir and a
login into a mailbox path, so "../", an absolute path, "%2e%2e" (an
encoded dot-dot some code decodes), "." and "/" tricks must never make
or reach anything outside the user's own Maildir: the commands fail (or
stay inside), and the instance's file tree outside the Maildir is
unchanged afterwards. Traversing logins are refused like unknown users."""
import os, sys
sys.path.insert(0, os.path.dirname(__file__))
from seclib import Conn  # noqa: E402
from yubintest import Tap, Instance, BIN  # noqa: E402

NAMES = ["../evil", "../../evil", "/tmp/yubin-sec-evil", "%2e%2e/evil", "%2e%2e%2fevil", "..", ".", "...",
         "INBOX/../../evil", "a/../../../evil", ".../evil", "..\\evil", "~root/evil", "INBOX/../.."]
t = Tap()
if not os.path.exists(os.path.join(BIN, "yubin-imapd")):
    t.skip("IMAP traversal", "no yubin-imapd")
    t.done()


def tree(root, skip):
    out = set()
    for d, dirs, files in os.walk(root):
        if os.path.abspath(d).startswith(skip):
            continue
        for f in dirs + files:
            p = os.path.abspath(os.path.join(d, f))
            if not p.startswith(skip) and "/log/" not in p and "/queue/" not in p:
                out.add(p)
    return out


with Instance() as y:
    box = os.path.abspath(y.maildir("demo@example.test"))
    c = Conn(y.port("imap"))
    c.line()
    c.send(b"a LOGIN demo@example.test demo\r\n")
    got = c.tag("a")
    t.ok(got and got[-1].startswith("a OK"), "IMAP login", got)
    before = tree(y.root, box)
    parent_before = set(os.listdir(os.path.dirname(y.root)))
    for i, name in enumerate(NAMES):
        q = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        results = []
        for cmd in (f"CREATE {q}", f"SELECT {q}", f"RENAME INBOX {q}", f"SUBSCRIBE {q}", f"DELETE {q}",
                    f"APPEND {q} {{4+}}\r\nx\r\n", f"STATUS {q} (MESSAGES)"):
            tag = f"t{i}"
            c.send(f"{tag} {cmd}\r\n".encode())
            r = c.tag(tag, timeout=20)
            results.append((cmd.split()[0], r[-1] if r else None))
        # RENAME INBOX moves mail into a new folder inside the Maildir, which is
        # fine; everything else about a traversing name must fail
        t.diag(f"{name!r}: " + ", ".join(f"{k}={(v or '-').split(' ')[1]}" for k, v in results))
        leaked = [x for x in results if x[1] is None]
        t.ok(not leaked, f"mailbox {name!r}: every command answered", results)
        c.send(b"u SELECT INBOX\r\n")
        c.tag("u")
    for pat in ('"" "../*"', '"../" "*"', '"/" "*"', '"" "/*"', '"~root" "*"', '"" "%2e%2e*"'):
        c.send(f"l LIST {pat}\r\n".encode())
        r = c.tag("l", timeout=20)
        outside = [ln for ln in r if ln.startswith("* LIST") and ("evil" in ln or "etc" in ln or "root" in ln)]
        t.ok(r and not outside, f"LIST {pat} shows nothing outside", r)
    c.send(b"z LOGOUT\r\n")
    c.close()
    after = tree(y.root, box)
    t.eq(sorted(after - before), [], "nothing created in the instance outside the Maildir")
    t.ok(not os.path.exists("/tmp/yubin-sec-evil"), "nothing created at an absolute path")
    t.eq(sorted(set(os.listdir(os.path.dirname(y.root))) - parent_before - {"run.out"}), [],
         "nothing created beside the instance")
    inside = sorted(os.path.relpath(p, box) for p in tree(box, "/nonexistent")
                    if os.path.isdir(p) and os.path.basename(p) not in ("new", "cur", "tmp"))
    t.ok(not any(".." in p.split(os.sep) for p in inside), "no '..' component inside the Maildir", inside)

    # logins that traverse: refused like any unknown user (IMAP and POP3)
    for login in ("../demo@example.test", "demo@example.test/../../etc", "demo@../example.test",
                  "/etc/passwd", "..%2fdemo@example.test"):
        c = Conn(y.port("imap"))
        c.line()
        q = '"' + login + '"'
        c.send(f"a LOGIN {q} demo\r\n".encode())
        r = c.tag("a", timeout=30)
        t.ok(r and r[-1].startswith("a NO"), f"IMAP LOGIN {login!r} refused", r)
        c.close()
    if os.path.exists(os.path.join(BIN, "yubin-pop3d")):
        c = Conn(y.port("pop3"))
        c.line()
        c.send(b"USER ../../demo@example.test\r\n")
        c.line()
        c.send(b"PASS demo\r\n")
        r = c.line(timeout=30)
        t.ok(r and r.startswith(b"-ERR"), "POP3 USER ../../demo refused", r)
        c.close()
t.done()
