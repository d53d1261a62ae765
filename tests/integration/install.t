#!/usr/bin/env python3
# install.t — `make install PREFIX=/opt/yubin DESTDIR=tmp` lays out a
# complete tree (programs, man pages, units, queue) that `yubin-ctl check`
# accepts; `yubin-setup --dry-run` prints the whole plan and changes
# nothing; and, as root, a real yubin-setup run inside a private mount
# namespace (a copy of /etc bound over /etc, so accounts it makes vanish
# with the namespace) makes the accounts, owners and modes that
# `yubin-ctl check` then finds right — twice, idempotently.
import os, pwd, shutil, stat, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, TOP

t = Tap()
tmp = tempfile.mkdtemp(prefix="yubin-install-")
os.chmod(tmp, 0o755)
stage = os.path.join(tmp, "stage")
root = os.path.join(stage, "opt", "yubin")
bindir = os.path.join(root, "bin")

env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
r = subprocess.run(["make", "-C", TOP, "install", "PREFIX=/opt/yubin", f"DESTDIR={stage}"],
                   capture_output=True, env=env, timeout=1800)
t.ok(r.returncode == 0, "make install PREFIX=/opt/yubin DESTDIR=tmp", r.stderr.decode()[-2000:])
if r.returncode != 0:
    t.done()

progs = ["yubin-smtpd", "yubin-submission", "yubin-queue", "yubin-qmgr", "yubin-local", "yubin-remote",
         "yubin-ctl", "yubin-map", "yubin-user", "yubin-run", "yubin-setup", "yubin-logsumm", "sendmail",
         "mailq", "newaliases", "yubin-create-queue"]
missing = [p for p in progs if not os.access(os.path.join(bindir, p), os.X_OK)]
t.ok(not missing, "programs in PREFIX/bin", missing)
t.ok(os.path.islink(os.path.join(bindir, "mailq")) and os.readlink(os.path.join(bindir, "mailq")) == "sendmail",
     "mailq stays a link to sendmail")
mandir = os.path.join(root, "man")
pages = ["man8/yubin-smtpd.8", "man8/yubin-submission.8", "man8/yubin-ctl.8", "man8/yubin-setup.8",
         "man1/sendmail.1", "man1/yubin-map.1", "man5/yubin-control.5", "man5/yubin-log.5"]
t.ok(all(os.path.isfile(os.path.join(mandir, p)) for p in pages), "man pages in PREFIX/man/manN",
     [p for p in pages if not os.path.isfile(os.path.join(mandir, p))])
r = subprocess.run(["man", "--warnings", "-l", "man8/yubin-submission.8"], cwd=mandir, capture_output=True,
                   env=dict(os.environ, MANWIDTH="80")) if shutil.which("man") else None
t.ok(r is None or (r.returncode == 0 and b"yubin-submission" in r.stdout and not r.stderr),
     "an installed .so page resolves to its target")
if shutil.which("manpath"):
    r = subprocess.run(["manpath", "-q"], capture_output=True,
                       env=dict(os.environ, PATH=bindir + ":" + os.environ.get("PATH", ""), MANPATH=""))
    t.ok(mandir in r.stdout.decode(), "man(1) finds PREFIX/man for PREFIX/bin on PATH", r.stdout)
units = os.path.join(stage, "usr", "lib", "systemd", "system")
t.ok(os.path.isfile(os.path.join(units, "yubin-smtpd.socket")) and os.path.isfile(os.path.join(units, "yubin-qmgr.service")),
     "systemd units under DESTDIR/usr/lib/systemd/system")
qdirs = ["incoming", "active", "deferred", "hold", "defer", "tmp", "lock"]
t.ok(all(os.path.isdir(os.path.join(root, "queue", d)) for d in qdirs)
     and stat.S_ISFIFO(os.stat(os.path.join(root, "queue", "trigger")).st_mode), "the queue is created")
t.ok(all(os.path.isdir(os.path.join(root, d)) for d in ("control", "mail", "log")), "control, mail and log folders")

# yubin-ctl check on the fresh tree; as root only an unprivileged caller
# skips the owner checks, which yubin-setup has not done yet
ienv = dict(env, YUBIN_ROOT=root)
as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] \
    if os.geteuid() == 0 and shutil.which("setpriv") else []
r = subprocess.run(as_nobody + [os.path.join(bindir, "yubin-ctl"), "check"], capture_output=True, env=ienv)
t.ok(r.returncode == 0, "yubin-ctl check accepts the installed configuration", r.stdout + r.stderr)
if os.geteuid() == 0:
    r = subprocess.run([os.path.join(bindir, "yubin-ctl"), "check"], capture_output=True, env=ienv)
    t.ok(r.returncode == 1 and b"run yubin-setup" in r.stdout, "as root, check asks for yubin-setup before it has run",
         r.stdout)

# the dry-run plan: every step named, nothing done
before = sorted(os.listdir(os.path.join(root, "control")))
r = subprocess.run([os.path.join(bindir, "yubin-setup"), "--dry-run", "--root", root], capture_output=True, env=ienv)
plan = r.stdout.decode()
t.eq(r.returncode, 0, "yubin-setup --dry-run exits 0")
want = [f"yubin-setup: {bindir}/yubin-create-queue {root} yubinq",
        f"yubin-setup: chown yubinq:yubinq {bindir}/yubin-queue",
        f"yubin-setup: chmod 4711 {bindir}/yubin-queue",
        f"yubin-setup: chown root:yubind {bindir}/yubin-checkpassword",
        f"yubin-setup: chmod 4750 {bindir}/yubin-checkpassword",
        f"yubin-setup: chmod 2711 {bindir}/yubin-tlsd",
        f"yubin-setup: chown yubinv:yubinv {root}/mail",
        "yubin-setup: control/virtual_user = yubinv",
        "yubin-setup: openssl req -x509",
        "yubin-setup: done"]
t.ok(all(w in plan for w in want), "the plan names the queue, setuid helpers, mailbox owner and certificate",
     "\n".join(w for w in want if w not in plan) + "\n---\n" + plan)
for u in ("yubind", "yubinq", "yubinr", "yubinv"):
    try:
        pwd.getpwnam(u)
        exists = True
    except KeyError:
        exists = False
    if not exists:
        t.ok(f"useradd --system" in plan and u in plan, f"the plan creates the missing account {u}")
t.eq(sorted(os.listdir(os.path.join(root, "control"))), before, "--dry-run changed nothing in control/")
t.ok(not os.stat(os.path.join(bindir, "yubin-queue")).st_mode & stat.S_ISUID, "--dry-run set no setuid bit")

# a real run, as root, in a private mount namespace with its own /etc
if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("useradd"):
    t.skip("real yubin-setup run", "needs root, unshare and useradd")
    t.done()
script = r"""
set -e
cp -a /etc "$T/etc"
mount --bind "$T/etc" /etc
for u in yubind yubinq yubinr yubinv; do userdel -f "$u" 2>/dev/null || true; done  # -f: other instances run as them
for g in yubind yubinq yubinr yubinv yubint; do groupdel "$g" 2>/dev/null || true; done
echo "== accounts before: $(getent passwd yubind yubinq yubinr yubinv | wc -l)"
echo "== setup 1"
"$BIN/yubin-setup" --root "$R"
echo "== accounts after: $(getent passwd yubind yubinq yubinr yubinv | wc -l)"
echo "== check"
YUBIN_ROOT="$R" "$BIN/yubin-ctl" check && echo "== check ok"
echo "== setup 2"
"$BIN/yubin-setup" --root "$R"
echo "== owners $(stat -c '%U:%G %a' "$BIN/yubin-queue" "$BIN/yubin-checkpassword" "$BIN/yubin-tlsd" "$R/queue/incoming" "$R/mail" | tr '\n' ' ')"
"""
r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                   capture_output=True, env=dict(env, T=tmp, BIN=bindir, R=root), timeout=600)
out = r.stdout.decode()
t.ok(r.returncode == 0, "yubin-setup runs in a private mount namespace", out + r.stderr.decode())
t.ok("== accounts before: 0" in out and "== accounts after: 4" in out, "it creates the four accounts", out)
first = out.split("== setup 1", 1)[-1].split("== check", 1)[0]
t.ok("useradd --system" in first and "openssl req" in first and "chmod 4711" in first, "and says what it did", first)
t.ok("== check ok" in out, "yubin-ctl check as root finds accounts, owners and modes right", out)
second = out.split("== setup 2", 1)[-1].split("== owners", 1)[0]
t.ok("useradd" not in second and "groupadd" not in second and "openssl" not in second,
     "a second run creates nothing again (idempotent)", second)
owners = out.split("== owners", 1)[-1].split()
t.eq(owners[:10], ["yubinq:yubinq", "4711", "root:yubind", "4750", "root:yubint", "2711",
                   "yubinq:yubinq", "2750", "yubinv:yubinv", "755"],
     "setuid queue writer, login helper, TLS helper, queue and mailbox owners")
t.ok(os.path.isfile(os.path.join(root, "control", "cert.pem")), "a self-signed certificate was made")
try:
    pwd.getpwnam("yubind")
    t.ok(True, "the host's accounts are untouched outside the namespace")
except KeyError:
    t.ok(os.path.exists("/etc/passwd"), "the host's accounts are untouched outside the namespace")
shutil.rmtree(tmp, ignore_errors=True)
t.done()
