#!/usr/bin/env python3
"""The queue on a full filesystem. The whole instance lives on a small
tmpfs mounted in a private mount namespace (unshare --mount, as root; the
mount dies with the instance, nothing leaks onto the host). When the disk
is full SMTP answers 452 4.3.1 (at MAIL or at the end of DATA) and never
250; every message that did get 250 — before the disk filled, or while
it was nearly full — is delivered once space is back. The test reads and
writes inside the namespace through /proc/PID/root."""
import os, re, shutil, signal, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from crashlib import Smtp  # noqa: E402
from yubintest import Tap, BIN, PORTS, free_base, maildir_messages, wait_for  # noqa: E402

t = Tap()
if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("nsenter"):
    t.skip("full filesystem", "needs root, unshare and nsenter (a tmpfs in a private mount namespace)")
    t.done()

tmp = tempfile.mkdtemp(prefix="yubin-full-")
os.chmod(tmp, 0o755)
mnt = os.path.join(tmp, "fs")
os.mkdir(mnt)
base = free_base()
out = open(os.path.join(tmp, "run.out"), "w+")
env = dict(os.environ, YUBIN_ROOT=os.path.join(mnt, "inst"))
script = (f"mount -t tmpfs -o size=8m,mode=755 tmpfs '{mnt}' && "
          f"exec '{BIN}/yubin-run' --root '{mnt}/inst' --base-port {base}")
proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                        stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)
view = f"/proc/{proc.pid}/root{mnt}"  # the tmpfs as the instance sees it


def ctl(*args):
    return subprocess.run(["nsenter", "--target", str(proc.pid), "--mount", "--", os.path.join(BIN, "yubin-ctl")]
                          + list(args), capture_output=True, env=env, timeout=60)


def log():
    try:
        return open(f"{view}/inst/log/maillog", errors="replace").read()
    except OSError:
        return ""


def fill(path):
    """write until ENOSPC; returns bytes written"""
    n = 0
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                n += f.write(b"\0" * 65536)
        except OSError:
            pass
        try:
            while True:
                n += f.write(b"\0" * 512)
        except OSError:
            pass
    return n


try:
    out.seek(0)
    ready = wait_for(lambda: (out.seek(0), "yubin-run: ready" in out.read())[1] or proc.poll() is not None, 60)
    out.seek(0)
    if proc.poll() is not None or "yubin-run: ready" not in out.read():
        out.seek(0)
        text = out.read()
        if "mount" in text or "unshare" in text:  # no CAP_SYS_ADMIN here (a container)
            t.skip("full filesystem", "cannot mount a tmpfs in a private namespace: " + text.strip()[-200:])
        else:
            t.ok(False, "instance on a tmpfs started", text[-2000:])
        t.done()
    t.ok(True, "instance started on an 8 MB tmpfs in its own mount namespace")
    for k, v in (("minimal_backoff_time", "1s"), ("maximal_backoff_time", "2s"), ("queue_run_delay", "1s")):
        with open(f"{view}/inst/control/{k}", "w") as f:
            f.write(v + "\n")
    ctl("reload")
    box = f"{view}/inst/mail/example.test/demo"
    port = base + PORTS["smtp"]
    body = b"x" * 20000
    acked = []
    c = Smtp(port)
    for i in range(3):
        if c.send(b"s@client.test", b"demo@example.test", b"Subject: before %d\r\n\r\n%s\r\n" % (i, body)):
            acked.append(f"before {i}")
    t.eq(len(acked), 3, "messages accepted while there is room")
    t.ok(wait_for(lambda: len(maildir_messages(box)) >= 3, 60), "and delivered")
    filled = fill(f"{view}/filler")
    t.ok(filled > 0, f"filesystem filled ({filled} bytes)")
    codes = []
    for i in range(5):
        try:
            c.s.sendall(b"MAIL FROM:<s@client.test>\r\n")
            r = c.reply()
            if r == 250:
                c.cmd(b"RCPT TO:<demo@example.test>")
                if c.cmd(b"DATA") == 354:
                    c.s.sendall(b"Subject: full %d\r\n\r\n%s\r\n.\r\n" % (i, body))
                    r = c.reply()
                    if r == 250:
                        acked.append(f"full {i}")
                else:
                    c.cmd(b"RSET")
            codes.append(r)
        except (OSError, ConnectionError):
            c = Smtp(port)
            codes.append(None)
    t.diag(f"replies on a full disk: {codes}")
    t.diag("\n".join(ln for ln in log().splitlines()[-40:] if "queue" in ln or "4.3" in ln))
    t.ok(codes and all(x in (452, 451, 250) for x in codes) and 452 in codes,
         "a full disk answers 452 (4.3.1)", codes)
    t.ok(re.search(r"452 4\.3\.1|4\.3\.1", log()) or 452 in codes, "the log names 4.3.1", log()[-1500:])
    os.unlink(f"{view}/filler")
    for i in range(3):
        if c.send(b"s@client.test", b"demo@example.test", b"Subject: after %d\r\n\r\n%s\r\n" % (i, body)):
            acked.append(f"after {i}")
    t.ok(all(f"after {i}" in acked for i in range(3)), "space back: accepted again")
    ctl("flush")

    def subjects():
        return [re.search(rb"^Subject: (.*)$", d, re.M).group(1).decode() for d in maildir_messages(box).values()]
    t.ok(wait_for(lambda: set(acked) <= set(subjects()), 90), "every acked message delivered, none lost",
         sorted(set(acked) - set(subjects())))
    s = subjects()
    t.eq(sorted(x for x in set(s) if s.count(x) > 1), [], "none twice")
    c.close()
finally:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if os.environ.get("KEEP_TEST_ROOT"):
        print("# kept", tmp, flush=True)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
t.done()
