#!/usr/bin/env python3
"""map-user.t — bin/yubin-map (compile, -q, errors) and bin/yubin-user
(add, passwd, del, list) against a temporary YUBIN_ROOT; nothing is
started."""
import os, sys, subprocess, concurrent.futures
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Tap, Instance

try:
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # deprecated but present in 3.11; uses the system libcrypt
except ImportError:
    crypt = None

t = Tap()


def control_files(root):
    return sorted(os.listdir(os.path.join(root, "control")))


with Instance(start=False) as y:
    ctl = os.path.join(y.root, "control")
    os.makedirs(ctl)
    y.control("mydestination", "localhost")

    def run(prog, *args, input=b""):
        return y.run(prog, *args, input=input, check=False)

    def query(key, name):
        return run("yubin-map", "-q", key, os.path.join(ctl, name))

    # --- yubin-map -------------------------------------------------------
    y.control("access", "# test\nFoo@Example.com  REJECT no thanks\nbar OK\n  continued\n")
    r = run("yubin-map", os.path.join(ctl, "access"))
    t.ok(r.returncode == 0 and r.stdout == b"" and r.stderr == b"", "compile prints nothing, exit 0", r)
    t.ok(os.path.exists(os.path.join(ctl, "access.cdb")), "access.cdb written")
    r = query("foo@example.COM", "access")
    t.eq((r.returncode, r.stdout), (0, b"REJECT no thanks\n"), "-q prints the value (key case ignored)")
    r = query("bar", "access")
    t.eq(r.stdout, b"OK continued\n", "continuation line joined")
    r = query("nobody", "access")
    t.eq((r.returncode, r.stdout), (1, b""), "-q of a missing key: nothing, exit 1")

    y.control("broken", "good value\nbadline\n")
    r = run("yubin-map", os.path.join(ctl, "broken"))
    t.ok(r.returncode == 100 and b"broken:2:" in r.stderr, "syntax error names file:line, exit 100", r.stderr)
    t.ok(not os.path.exists(os.path.join(ctl, "broken.cdb")), "no .cdb from a broken table")
    r = run("yubin-map", os.path.join(ctl, "nonexistent"))
    t.eq(r.returncode, 100, "missing text file: exit 100")
    r = run("yubin-map")
    t.eq(r.returncode, 100, "no arguments: usage, exit 100")
    r = run("yubin-map", "-q", "onlykey")
    t.eq(r.returncode, 100, "-q without a file: usage, exit 100")

    y.control("aliases", "postmaster: demo\nroot: admin,\n  other@example.org\n")
    r = run("yubin-map", os.path.join(ctl, "aliases"))
    t.eq(r.returncode, 0, "aliases compile by name")
    t.eq(query("ROOT", "aliases").stdout, b"admin, other@example.org\n", "alias with continuation")

    y.control("checks.regexp", "/^Subject: (.*)$/ PREPEND X-Was: $1\n")
    r = run("yubin-map", os.path.join(ctl, "checks.regexp"))
    t.eq(r.returncode, 0, "regexp table checked")
    t.eq(query("Subject: hello", "checks.regexp").stdout, b"PREPEND X-Was: hello\n", "-q on a regexp table")
    y.control("bad.regexp", "/(/ x\n")
    r = run("yubin-map", os.path.join(ctl, "bad.regexp"))
    t.ok(r.returncode == 100 and b"bad.regexp:1:" in r.stderr, "bad regexp: file:line, exit 100", r.stderr)

    # rebuild is atomic: a reader never sees a missing or half table
    y.control("access", "\n".join(f"key{i} value{i}" for i in range(20000)) + "\n")
    r = run("yubin-map", os.path.join(ctl, "access"))
    t.eq(query("key19999", "access").stdout, b"value19999\n", "large table compiles and answers")
    t.ok(not [f for f in control_files(y.root) if ".cdb." in f or ".tmp" in f], "no temp files left")

    # --- yubin-user ------------------------------------------------------
    secret = b"correct horse"
    r = run("yubin-user", "add", "Alice@Example.TEST", input=secret + b"\n")
    t.ok(r.returncode == 0, "user add", r.stderr)
    t.ok(b"example.test" in r.stderr and b"virtual_mailbox_domains" in r.stderr,
         "add says it added the domain", r.stderr)
    with open(os.path.join(ctl, "virtual_mailbox_domains")) as f:
        t.eq(f.read().split(), ["example.test"], "domain added to virtual_mailbox_domains")
    with open(os.path.join(ctl, "users")) as f:
        users = f.read()
    t.ok(users.startswith("alice@example.test $y$"), "users line: lower-cased address, yescrypt hash", users)
    t.ok(secret.decode() not in users, "password not stored in clear")
    h = query("alice@example.test", "users").stdout.strip().decode()
    t.ok(h.startswith("$y$"), "users.cdb recompiled")
    if crypt:
        t.ok(crypt.crypt(secret.decode(), h) == h, "hash verifies the password")
    else:
        t.skip("hash verifies the password", "no crypt module")
    t.ok(not os.path.exists(os.path.join(y.root, "mail")), "add creates no mailbox")
    mode = os.stat(os.path.join(ctl, "users")).st_mode & 0o777
    t.eq(mode, 0o640, "control/users is not world-readable")
    t.eq(os.stat(os.path.join(ctl, "users.cdb")).st_mode & 0o777, 0o640, "users.cdb has the same mode")

    r = run("yubin-user", "add", "bob@example.test", input=b"pw2\n")
    t.ok(r.returncode == 0 and b"virtual_mailbox_domains" not in r.stderr, "second user: domain already there", r.stderr)
    r = run("yubin-user", "add", "alice@example.test", input=b"x\n")
    t.eq(r.returncode, 100, "adding an existing user: exit 100")
    before = open(os.path.join(ctl, "users")).read()
    r = run("yubin-user", "add", "carol@example.test", "hunter2", input=b"")
    t.ok(r.returncode == 100 and b"stdin" in r.stderr, "password on the command line refused", r.stderr)
    t.eq(open(os.path.join(ctl, "users")).read(), before, "refused add changes nothing")
    r = run("yubin-user", "add", "carol@example.test", input=b"")
    t.eq(r.returncode, 100, "empty password refused")
    for bad in ["../x@example.test", "a@b@c", "-x@example.test", "noat", "a%b@example.test", "x@exa/mple"]:
        r = run("yubin-user", "add", bad, input=b"pw\n")
        t.eq(r.returncode, 100, f"bad address {bad!r} refused")
    r = run("yubin-user", "add", "me@localhost", input=b"pw\n")
    t.ok(r.returncode == 100 and b"mydestination" in r.stderr, "domain in mydestination refused", r.stderr)

    r = run("yubin-user", "list")
    t.eq(r.stdout.decode().split(), ["alice@example.test", "bob@example.test"], "list")

    old = query("alice@example.test", "users").stdout
    r = run("yubin-user", "passwd", "alice@example.test", input=b"new password\n")
    new = query("alice@example.test", "users").stdout
    t.ok(r.returncode == 0 and new != old and new.startswith(b"$y$"), "passwd changes the hash", r.stderr)
    if crypt:
        t.ok(crypt.crypt("new password", new.strip().decode()) == new.strip().decode(), "new password verifies")
    else:
        t.skip("new password verifies", "no crypt module")
    r = run("yubin-user", "passwd", "nobody@example.test", input=b"x\n")
    t.eq(r.returncode, 100, "passwd of an unknown user: exit 100")

    r = run("yubin-user", "del", "bob@example.test")
    t.eq(r.returncode, 0, "del")
    t.eq(query("bob@example.test", "users").returncode, 1, "deleted user gone from users.cdb")
    t.eq(run("yubin-user", "list").stdout.decode().split(), ["alice@example.test"], "list after del")
    t.eq(run("yubin-user", "del", "bob@example.test").returncode, 100, "del of an unknown user: exit 100")

    # concurrent adds serialise on the lock: none is lost
    def add(i):
        return run("yubin-user", "add", f"u{i}@para.test", input=b"pw\n").returncode
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        codes = list(ex.map(add, range(16)))
    listed = run("yubin-user", "list").stdout.decode().split()
    t.ok(codes == [0] * 16 and all(f"u{i}@para.test" in listed for i in range(16)), "16 concurrent adds all kept",
         codes)
    with open(os.path.join(ctl, "virtual_mailbox_domains")) as f:
        t.eq(f.read().split(), ["example.test", "para.test"], "domain added once under concurrency")
    t.ok(not [f for f in control_files(y.root) if ".cdb." in f or ".tmp" in f], "no temp files left")
    t.eq([f for f in control_files(y.root) if f.startswith(("users", "virtual_mailbox"))],
         ["users", "users.cdb", "virtual_mailbox_domains"], "yubin-user creates nothing else in control/")

t.done()
