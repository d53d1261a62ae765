"""remoteagent — drive bin/yubin-remote through the deliver.h job protocol
without qmgr: a scratch YUBIN_ROOT, queue files written by hand into
queue/active/, job lines in, result lines out. Used by remote-*.t.

    from remoteagent import Root, Agent
    root = Root()                       # root.control(...), root.table(...)
    a = Agent(root)
    qid, jobs, results = a.deliver(root, ["x@sink.test"])
"""
import os, queue, shutil, subprocess, tempfile, threading, time
from yubintest import BIN


class Root:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="yubin-remote-")
        self.path = os.path.join(self.tmp, "root")
        for d in ("control", "queue/active", "log"):
            os.makedirs(os.path.join(self.path, d))
        self.n = 0x1000

    def control(self, name, value):
        """long-running programs look for changed control files at most
        once a second (control_refresh), so let that second pass"""
        path = os.path.join(self.path, "control", name)
        if value is None:
            if os.path.exists(path):
                os.unlink(path)
        else:
            with open(path, "w") as f:
                f.write(value + "\n")
        time.sleep(1.1)

    def table(self, name, text):
        """write control/NAME and compile it (tables are seen at once)"""
        with open(os.path.join(self.path, "control", name), "w") as f:
            f.write(text + "\n")
        subprocess.run([os.path.join(BIN, "yubin-map"), os.path.join(self.path, "control", name)],
                       env=dict(os.environ, YUBIN_ROOT=self.path), check=True, capture_output=True)

    def qfile(self, rcpts, body=b"Subject: test\n\nhello\n", sender="alice@example.org", extra=""):
        """write queue/active/ID; rcpts: addr or (addr, notify, orcpt)"""
        self.n += 1
        qid = "AB%08X" % self.n
        env = "V1\nT%d\nS%s\n" % (int(time.time()), sender) + extra
        for r in rcpts:
            if isinstance(r, str):
                r = (r, "", "")
            env += "R %s\t%s\t%s\n" % r
        with open(os.path.join(self.path, "queue", "active", qid), "wb") as f:
            f.write(env.encode() + b"\n" + body)
        return qid

    def maillog(self):
        with open(os.path.join(self.path, "log", "maillog"), errors="replace") as f:
            return f.read()

    def cleanup(self):
        if os.environ.get("KEEP_TEST_ROOT"):
            print("# kept " + self.tmp, flush=True)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


class Agent:
    """bin/yubin-remote (or $YUBIN_REMOTE) on pipes; stderr to log/maillog"""

    def __init__(self, root, env=None):
        self.log = open(os.path.join(root.path, "log", "maillog"), "ab")
        prog = os.environ.get("YUBIN_REMOTE", os.path.join(BIN, "yubin-remote"))
        self.p = subprocess.Popen([prog], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                  env=dict(os.environ, YUBIN_ROOT=root.path, **(env or {})))
        self.q = queue.Queue()
        self.job = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.q.put(line.decode().rstrip("\n"))

    def send(self, qid, indexes):
        """jobs for qid's recipients, written back to back; returns job ids"""
        jobs, data = [], ""
        for i in indexes:
            self.job += 1
            jobs.append(self.job)
            data += "%d %s %d\n" % (self.job, qid, i)
        self.p.stdin.write(data.encode())
        self.p.stdin.flush()
        return jobs

    def results(self, jobs, timeout=60):
        """{job: (code, status, text)} for the given jobs (missing on timeout)"""
        got = {}
        deadline = time.time() + timeout
        while set(jobs) - set(got) and time.time() < deadline:
            try:
                line = self.q.get(timeout=max(0.05, deadline - time.time()))
            except queue.Empty:
                break
            job, code, status, text = (line.split(" ", 3) + ["", "", ""])[:4]
            got[int(job)] = (code, status, text)
        return got

    def deliver(self, root, rcpts, **kw):
        qid = root.qfile(rcpts, **kw)
        jobs = self.send(qid, range(len(rcpts)))
        return qid, jobs, self.results(jobs)

    def children(self):
        try:
            with open("/proc/%d/task/%d/children" % (self.p.pid, self.p.pid)) as f:
                return [int(x) for x in f.read().split()]
        except OSError:
            return []

    def stop(self):
        self.p.stdin.close()
        try:
            self.p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.p.kill()
        self.log.close()
