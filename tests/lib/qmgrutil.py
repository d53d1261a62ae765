"""qmgrutil — yubin-qmgr on its own, for the qmgr and crash tests: a
temporary YUBIN_ROOT with a real queue, a copy of bin/yubin-qmgr and
bin/yubin-queue in a private bin/ (qmgr finds its agents next to its own
executable), and a fake yubin-local written in Python whose answer depends
on the recipient's local part:

    perm*    D 5.1.1 with a remote-style reply (bounce)
    temp*    Z 4.2.1 mailbox busy (retry)
    flaky*   Z the first time, then delivered
    crash*   the agent exits without answering, the first time
    slow*    delivered after half a second
    else     delivered: the message is written to OUT/<addr>/<qid>.<index>
"""
import os, shutil, signal, subprocess, tempfile, time

from yubintest import write_control

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(TOP, "bin")

FAKE_LOCAL = r'''#!/usr/bin/env python3
import os, sys, time
root = os.environ["YUBIN_ROOT"]; out = os.environ["FAKE_OUT"]
def once(name):
    try:
        os.close(os.open(os.path.join(out, name), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        return False
for line in sys.stdin:
    job, qid, idx = line.split()
    idx = int(idx)
    try:
        data = open(os.path.join(root, "queue", "active", qid), "rb").read()
    except OSError as e:
        print(f"{job} Z 4.3.0 cannot open queue file: {e}", flush=True)
        continue
    env, _, msg = data.partition(b"\n\n")
    rcpts = [l for l in env.split(b"\n") if l.startswith(b"R")]
    addr = rcpts[idx][2:].split(b"\t")[0].decode()
    local = addr.split("@")[0]
    if local.startswith("perm"):
        res = f"D 5.1.1 host mx.test[192.0.2.1] said: 550 5.1.1 <{addr}>: user unknown (in reply to RCPT TO command)"
    elif local.startswith("temp"):
        res = "Z 4.2.1 mailbox busy"
    elif local.startswith("flaky") and once(f"flaky.{qid}.{idx}"):
        res = "Z 4.2.1 try again later"
    elif local.startswith("crash") and once(f"crash.{qid}.{idx}"):
        os._exit(1)
    else:
        if local.startswith("slow"):
            time.sleep(0.5)
        d = os.path.join(out, addr)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"{qid}.{idx}"), "wb") as f:
            f.write(msg)
        res = "K 2.0.0 delivered to fake mailbox"
    sys.stderr.write(f"yubin-local: {qid}: to=<{addr}>, result={res}\n")
    sys.stderr.flush()
    print(f"{job} {res}", flush=True)
'''


class Sandbox:
    def __init__(self, controls=None, agent=FAKE_LOCAL):
        self.tmp = tempfile.mkdtemp(prefix="yubin-qmgr-")
        self.bin = os.path.join(self.tmp, "bin")
        self.root = os.path.join(self.tmp, "root")
        self.out = os.path.join(self.tmp, "out")
        os.makedirs(self.bin)
        os.makedirs(self.out)
        os.makedirs(os.path.join(self.root, "control"))
        for p in ("yubin-qmgr", "yubin-queue"):
            # YUBIN_TEST_QMGR: try another build of yubin-qmgr (e.g. ASan)
            src = os.environ.get("YUBIN_TEST_QMGR") if p == "yubin-qmgr" else None
            shutil.copy2(src or os.path.join(BIN, p), os.path.join(self.bin, p))
        if agent:
            path = os.path.join(self.bin, "yubin-local")
            with open(path, "w") as f:
                f.write(agent)
            os.chmod(path, 0o755)
        # as root, the installed split: queue owned by yubinq, yubin-queue
        # setuid to it, qmgr running as it (yubin-setup makes the accounts)
        owner = []
        if os.geteuid() == 0:
            import pwd
            try:
                pw = pwd.getpwnam("yubinq")
                os.chmod(self.tmp, 0o755)
                q = os.path.join(self.bin, "yubin-queue")
                os.chown(q, pw.pw_uid, pw.pw_gid)
                os.chmod(q, 0o4711)
                owner = ["yubinq"]
            except KeyError:
                pass
        subprocess.run(["sh", os.path.join(TOP, "queue", "create-queue"), self.root] + owner, check=True)
        base = {"myhostname": "localhost", "mydestination": "localhost",
                "virtual_mailbox_domains": "example.test", "queue_run_delay": "1s",
                "minimal_backoff_time": "1s", "maximal_backoff_time": "2s"}
        base.update(controls or {})
        for k, v in base.items():
            self.control(k, v)
        self.env = dict(os.environ, YUBIN_ROOT=self.root, FAKE_OUT=self.out)
        self.logf = open(os.path.join(self.tmp, "maillog"), "ab")
        self.proc = None

    def control(self, name, value):
        write_control(self.root, name, value)

    def start(self):
        self.proc = subprocess.Popen([os.path.join(self.bin, "yubin-qmgr")], env=self.env,
                                     stdout=self.logf, stderr=self.logf, start_new_session=True)
        return self.proc

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def cleanup(self):
        self.kill()
        if self.proc:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
        if os.environ.get("KEEP_TEST_ROOT"):
            print(f"# kept {self.tmp}", flush=True)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def trigger(self, cmd):
        fd = os.open(os.path.join(self.root, "queue", "trigger"), os.O_WRONLY | os.O_NONBLOCK)
        os.write(fd, cmd.encode() + b"\n")
        os.close(fd)

    def inject(self, sender, rcpts, message, records=()):
        """queue one message through yubin-queue; rcpts are addresses or
        (addr, notify, orcpt) tuples; returns the queue id"""
        env = [b"S" + sender.encode()] + [r.encode() for r in records]
        for r in rcpts:
            a, n, o = (r, "", "") if isinstance(r, str) else r
            env.append(f"R{a}\t{n}\t{o}".encode())
        data = b"\n".join(env) + b"\n\n" + str(len(message)).encode() + b"\n" + message + b"0\n"
        p = subprocess.run([os.path.join(self.bin, "yubin-queue")], input=data, capture_output=True,
                           env=self.env, timeout=60)
        lines = p.stdout.decode().split("\n")
        if p.returncode != 0 or len(lines) < 2 or not lines[1].startswith("ok "):
            raise RuntimeError(f"yubin-queue failed: {p.stdout!r} {p.stderr!r}")
        return lines[0]

    def log(self):
        with open(os.path.join(self.tmp, "maillog"), errors="replace") as f:
            return f.read()

    def queue(self, state):
        return sorted(os.listdir(os.path.join(self.root, "queue", state)))

    def queued(self):
        return sum(len(self.queue(s)) for s in ("incoming", "active", "deferred"))

    def delivered(self, addr):
        """{'<qid>.<index>': bytes} delivered by the fake agent to addr"""
        d = os.path.join(self.out, addr)
        if not os.path.isdir(d):
            return {}
        out = {}
        for f in os.listdir(d):
            with open(os.path.join(d, f), "rb") as fh:
                out[f] = fh.read()
        return out
