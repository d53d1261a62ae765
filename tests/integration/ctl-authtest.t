#!/usr/bin/env python3
# ctl-authtest.t — yubin-ctl auth-test LOGIN (password on stdin), the
# seeds' testsaslauthd / doveadm auth test: each backend answers and is
# named (virtual, system, checkpassword), bad and unknown logins exit 1,
# the attempt is logged in the servers' format; as root, a system account
# checked by an unprivileged caller goes through yubin-checkpassword.
import os, pwd, shutil, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, Instance, BIN

t = Tap()

CHECKPW = """#!/usr/bin/env python3
import os, sys
data = os.read(3, 600).split(b"\\0")
if data[0] == b"extuser" and data[1] == b"ext-secret":
    os.execvp(sys.argv[1], sys.argv[1:])
sys.exit(1)
"""

with Instance() as y:
    def auth(login, password, *opts, user=None):
        cmd = [os.path.join(BIN, "yubin-ctl"), "auth-test", *opts, login]
        if user:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={pwd.getpwnam(user).pw_gid}", "--clear-groups"] + cmd
        r = subprocess.run(cmd, input=password.encode() + b"\n", capture_output=True, env=y.env, timeout=60)
        return r.returncode, r.stdout.decode(), r.stderr.decode()

    rc, out, err = auth("demo@example.test", "demo")
    t.eq(rc, 0, "virtual user, right password: exit 0")
    t.eq(out, "auth ok: user=<demo@example.test> backend=virtual\n", "says the virtual backend answered")
    t.ok("auth ok: service=ctl rip=local user=<demo@example.test> mech=TEST backend=virtual" in err,
         "logged as the servers log a login", err)
    rc, out, err = auth("Demo@Example.TEST", "demo")
    t.eq(rc, 0, "the login is case-insensitive, as for the servers")
    rc, out, err = auth("demo@example.test", "wrong")
    t.eq(rc, 1, "wrong password: exit 1")
    t.eq(out, "auth failed: user=<demo@example.test> backend=virtual reason=bad password\n", "names the reason")
    t.ok("auth failed: service=ctl rip=local user=<demo@example.test> mech=TEST reason=bad password" in err,
         "fail2ban-ready failure line", err)
    rc, out, err = auth("nobody-here@example.test", "x")
    t.ok(rc == 1 and "reason=unknown user" in out, "unknown virtual user: exit 1, unknown user", out)
    rc, out, err = auth("demo@example.test", "demo", "-s", "imap")
    t.ok(rc == 0 and "service=imap" in err, "-s names the service in the log line", err)
    r = subprocess.run([os.path.join(BIN, "yubin-ctl"), "auth-test"], capture_output=True, env=y.env)
    t.eq(r.returncode, 100, "no login: usage, exit 100")
    rc, out, err = auth("demo@example.test", "x" * 5000)
    t.ok(rc != 0, "an over-long password is refused", out + err)

    # the checkpassword hook answers for logins nobody else knows
    prog = os.path.join(y.tmp, "checkpw")
    with open(prog, "w") as f:
        f.write(CHECKPW)
    os.chmod(prog, 0o755)
    y.control("checkpassword", prog)
    rc, out, err = auth("extuser", "ext-secret")
    t.eq(out, "auth ok: user=<extuser> backend=checkpassword\n", "checkpassword backend named")
    t.eq(rc, 0, "... exit 0")
    rc, out, err = auth("extuser", "nope")
    t.ok(rc == 1 and "reason=checkpassword refused" in out, "checkpassword refusal: exit 1", out)
    y.control("checkpassword", None)

    if os.geteuid() != 0 or not shutil.which("useradd"):
        t.skip("system accounts", "needs root and useradd")
    else:
        name, password = "yubinauthtst", "Auth-test-7"
        subprocess.run(["userdel", "-r", name], capture_output=True)
        home = tempfile.mkdtemp(prefix="yubin-home-")
        subprocess.run(["useradd", "-M", "-d", home, "-s", "/bin/sh", name], check=True, capture_output=True)
        subprocess.run(["chpasswd"], input=f"{name}:{password}\n".encode(), check=True, capture_output=True)
        try:
            rc, out, err = auth(name, password)
            t.eq(out, f"auth ok: user=<{name}> backend=system\n", "system account: shadow + crypt, backend system")
            rc, out, err = auth(name, "wrong")
            t.ok(rc == 1 and "backend=system reason=bad password" in out, "system account, wrong password", out)
            rc, out, err = auth("root", "whatever")
            t.ok(rc == 1 and "reason=root login refused" in out, "root never logs in", out)
            helper = os.path.join(BIN, "yubin-checkpassword")
            st = os.stat(helper)
            if shutil.which("setpriv") and st.st_uid == 0 and st.st_mode & 0o4000 and \
                    pwd.getpwnam("yubind") and os.stat(y.root).st_uid == 0:
                rc, out, err = auth(name, password, user="yubind")
                t.eq(out, f"auth ok: user=<{name}> backend=system (via yubin-checkpassword --check)\n",
                     "an unprivileged caller is answered by the setuid helper, and says so")
                rc, out, err = auth(name, "wrong", user="yubind")
                t.ok(rc == 1 and "reason=bad password" in out, "... and refused by it", out + err)
            else:
                t.skip("helper path", "yubin-checkpassword is not installed setuid root")
        finally:
            subprocess.run(["userdel", name], capture_output=True)
            shutil.rmtree(home, ignore_errors=True)
t.done()
