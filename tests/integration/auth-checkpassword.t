#!/usr/bin/env python3
"""bin/yubin-checkpassword: the DJB checkpassword interface (credentials on
fd 3) for POP3/IMAP. Good and bad logins, malformed input, the Maildir it
creates and enters, the environment it sets, the account it becomes (the
virtual_user when root; a system account with its own home), and the log
lines it leaves."""
import fcntl, os, pwd, shutil, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Tap, BIN

t = Tap()
CP = os.path.join(BIN, "yubin-checkpassword")
tmp = tempfile.mkdtemp(prefix="yubin-cp-")
os.chmod(tmp, 0o755)
root = os.path.join(tmp, "root")
os.makedirs(os.path.join(root, "control"))
os.makedirs(os.path.join(root, "mail"))
env = dict(os.environ, YUBIN_ROOT=root, TCPREMOTEIP="192.0.2.7", YUBIN_SERVICE="pop3", YUBIN_AUTH_MECH="USER")
subprocess.run([os.path.join(BIN, "yubin-user"), "add", "demo@example.test"], input=b"demo\n",
               env=env, check=True, capture_output=True)
is_root = os.geteuid() == 0
REPORT = "id -u; pwd; echo \"$MAILDIR|$USER|$HOME|$YUBIN_LOGIN\""


def control(name, value):
    path = os.path.join(root, "control", name)
    if value is None:
        if os.path.exists(path):
            os.unlink(path)
    else:
        with open(path, "w") as f:
            f.write(value + "\n")


def run(data, prog=("/bin/sh", "-c", REPORT), user=None, cp=CP):
    """run checkpassword with data on fd 3; returns (rc, stdout, stderr)"""
    r, w = os.pipe()
    os.write(w, data)
    os.close(w)

    def child():
        os.dup2(fcntl.fcntl(r, fcntl.F_DUPFD_CLOEXEC, 10), 3)   # r may itself be 3
        if user is not None:
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
    p = subprocess.run([cp] + list(prog), env=env, capture_output=True, preexec_fn=child,
                       close_fds=False, timeout=60)
    os.close(r)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


maildir = os.path.join(root, "mail", "example.test", "demo")
owner = None
if is_root:
    # the account that owns virtual mailboxes must exist; missing -> 111 naming the setting
    control("virtual_user", "no-such-account-xyz")
    rc, out, err = run(b"demo@example.test\0demo\x00123\x00")
    t.ok(rc == 111 and "control/virtual_user" in err and "no-such-account-xyz" in err,
         "missing virtual_user account: 111 naming the setting", (rc, err))
    owner = pwd.getpwnam("nobody")
    control("virtual_user", "nobody")
    os.chown(os.path.join(root, "mail"), owner.pw_uid, owner.pw_gid)

rc, out, err = run(b"demo@example.test\0demo\x00123\x00")
lines = out.splitlines()
t.eq(rc, 0, "good virtual login runs the program")
if rc == 0:
    t.eq(lines[1], maildir, "program runs inside the Maildir")
    t.eq(lines[2], f"{maildir}|demo@example.test|{maildir}|demo@example.test", "MAILDIR USER HOME YUBIN_LOGIN set")
    if is_root:
        t.eq(int(lines[0]), owner.pw_uid, "runs as control/virtual_user when started by root")
    for sub in ("", "cur", "new", "tmp"):
        st = os.stat(os.path.join(maildir, sub))
        t.ok(st.st_mode & 0o777 == 0o700 and (not is_root or st.st_uid == owner.pw_uid),
             f"Maildir{'/' + sub if sub else ''} made mode 700 by its owner")
t.ok("auth ok: service=pop3 rip=192.0.2.7 user=<demo@example.test> mech=USER backend=virtual" in err,
     "success logged", err)

rc, out, err = run(b"DEMO@Example.Test\0demo\0\0")
t.ok(rc == 0 and out.splitlines()[1] == maildir, "login case-insensitive, same Maildir", (rc, out, err))

rc, out, err = run(b"demo@example.test\0wrong\x00123\x00")
t.ok(rc == 1 and out == "", "bad password: exit 1, program not run", (rc, out))
t.ok("auth failed: service=pop3 rip=192.0.2.7 user=<demo@example.test> mech=USER reason=bad password" in err,
     "failure logged for fail2ban", err)
rc, out, err = run(b"nobody-here@example.test\0demo\x00123\x00")
t.ok(rc == 1 and "reason=unknown user" in err, "unknown user: exit 1", (rc, err))
rc, out, err = run(b"demo@example.test")
t.ok(rc == 1 and out == "", "no NUL on fd 3: exit 1", (rc, err))
rc, out, err = run(b"demo@example.test\0demo")
t.ok(rc == 1 and out == "", "password without its NUL: exit 1", (rc, err))
rc, out, err = run(b"x" * 5000)
t.ok(rc == 1 and out == "", "oversized input: exit 1", (rc, err))
rc, out, err = run(b"demo@example.test\0demo\0\0", prog=())
t.eq(rc, 100, "no program: usage, exit 100")
rc, out, err = run(b"../../etc\0demo\0\0")
t.ok(rc == 1, "path tricks are just unknown users", (rc, err))

# a system account (root only): ~/Maildir as that user, home must be theirs
if is_root and shutil.which("useradd"):
    name = "yubintestcp"
    subprocess.run(["userdel", "-r", name], capture_output=True)
    home = os.path.join(tmp, "home-" + name)
    subprocess.run(["useradd", "-m", "-d", home, "-s", "/bin/sh", name], check=True, capture_output=True)
    subprocess.run(["chpasswd"], input=f"{name}:Sys-pass1\n".encode(), check=True, capture_output=True)
    try:
        u = pwd.getpwnam(name)
        rc, out, err = run(f"{name}\0Sys-pass1\0\0".encode())
        lines = out.splitlines()
        t.ok(rc == 0 and lines[0] == str(u.pw_uid) and lines[1] == os.path.join(home, "Maildir") and
             lines[2] == f"{home}/Maildir|{name}|{home}|{name}", "system account: ~/Maildir as the user", (rc, out, err))
        t.ok(os.stat(os.path.join(home, "Maildir", "new")).st_uid == u.pw_uid, "Maildir owned by the user")
        rc, out, err = run(f"{name}\0wrong\0\0".encode())
        t.ok(rc == 1 and "reason=bad password" in err, "system account, bad password", (rc, err))
        os.chown(home, 0, 0)
        rc, out, err = run(f"{name}\0Sys-pass1\0\0".encode())
        t.ok(rc == 111 and "not owned" in err, "home not owned by the user: refused", (rc, err))
        os.chown(home, u.pw_uid, u.pw_gid)
        rc, out, err = run(b"root\0whatever\0\0")
        t.ok(rc == 1 and "root login refused" in err, "root cannot log in", (rc, err))
    finally:
        subprocess.run(["userdel", "-r", name], capture_output=True)
else:
    t.skip("system account login", "needs root and useradd")

# not root: the invoking user only (virtual users need readable users.cdb)
if is_root:
    nobody = pwd.getpwnam("nobody")
    copy = os.path.join(tmp, "yubin-checkpassword")   # the checkout may not be reachable by nobody
    shutil.copy(CP, copy)
    os.chmod(copy, 0o755)
    rc, out, err = run(b"daemon\0x\0\0", user=nobody, cp=copy)
    t.ok(rc == 1 and "shadow unreadable" in err, "unprivileged: system passwords unreadable, said so", (rc, err))
    # installed setuid root (yubin-setup): works for a root-owned instance only
    os.chmod(copy, 0o4755)
    control("virtual_user", "nobody")
    rc, out, err = run(b"demo@example.test\x00demo\x00\x00", user=nobody, cp=copy)
    t.ok(rc == 0 and out.splitlines()[0] == str(nobody.pw_uid), "setuid root: virtual login as virtual_user", (rc, out, err))
    fake = os.path.join(tmp, "fake")
    os.makedirs(os.path.join(fake, "control"))
    os.chown(os.path.join(fake, "control"), nobody.pw_uid, nobody.pw_gid)
    env["YUBIN_ROOT"] = fake
    rc, out, err = run(b"demo@example.test\x00demo\x00\x00", user=nobody, cp=copy)
    env["YUBIN_ROOT"] = root
    t.ok(rc == 111 and "owned by root" in err, "setuid root: a caller's own instance is refused", (rc, err))
else:
    t.skip("unprivileged run", "already unprivileged")

shutil.rmtree(tmp, ignore_errors=True)
t.done()
