"""localtest — drive bin/yubin-local by hand, without qmgr: a temporary
YUBIN_ROOT with control files, queue files written in the qfile.h format
into queue/active/, and jobs "<job> <qid> <index>" on yubin-local's stdin.

    from localtest import LocalRoot
    with LocalRoot() as r:
        qid = r.queue("sender@x", ["demo@example.test"], b"Subject: hi\\n\\nbody\\n")
        res = r.deliver([(qid, 0)])      # {job: (status, dsn, text)}
"""
import os, random, shutil, subprocess, tempfile

from yubintest import BIN, write_control

ROOT_USER = os.geteuid() == 0


class LocalRoot:
    def __init__(self, users=("demo@example.test",)):
        self.tmp = tempfile.mkdtemp(prefix="yubin-local-")
        os.chmod(self.tmp, 0o755)  # the virtual_user worker must reach mail/
        self.root = os.path.join(self.tmp, "inst")
        for d in ("control", "queue/active", "log"):
            os.makedirs(os.path.join(self.root, d))
        os.chmod(self.root, 0o755)
        self.env = dict(os.environ, YUBIN_ROOT=self.root)
        self.control("myhostname", "localhost")
        self.control("mydestination", "localhost")
        self.control("virtual_mailbox_domains", "example.test")
        for u in users:
            self.run("yubin-user", "add", u, input=b"secret\n")
        self.job = 0
        self.log = ""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if os.environ.get("KEEP_TEST_ROOT"):
            print(f"# kept {self.tmp}", flush=True)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def control(self, name, value):
        write_control(self.root, name, value)

    def map(self, name, text):
        self.control(name, text)
        self.run("yubin-map", self.path("control", name))

    def run(self, prog, *args, input=None, check=True):
        r = subprocess.run([os.path.join(BIN, prog)] + list(args), input=input,
                           capture_output=True, env=self.env, timeout=120)
        if check and r.returncode != 0:
            raise RuntimeError(f"{prog} {args} exited {r.returncode}: {r.stderr!r}")
        return r

    def queue(self, sender, rcpts, message, arrival=1700000000, qid=None):
        """write queue/active/QID by hand (qfile.h format); returns QID"""
        qid = qid or "%016X" % random.getrandbits(64)
        env = f"V1\nT{arrival}\nS{sender}\n" + "".join(f"R {r}\t\t\n" for r in rcpts) + "\n"
        with open(self.path("queue", "active", qid), "wb") as f:
            f.write(env.encode() + message)
        return qid

    def deliver(self, jobs, timeout=60, prefix=()):
        """jobs: [(qid, index)] or raw lines; returns {job: (status, dsn, text)}
        and keeps yubin-local's log lines in self.log"""
        lines, ids = [], []
        for j in jobs:
            if isinstance(j, str):
                lines.append(j)
                continue
            self.job += 1
            ids.append(str(self.job))
            lines.append(f"{self.job} {j[0]} {j[1]}")
        p = subprocess.run(list(prefix) + [os.path.join(BIN, "yubin-local")], input="".join(l + "\n" for l in lines).encode(),
                           capture_output=True, env=self.env, timeout=timeout)
        self.log = p.stderr.decode(errors="replace")
        self.rc = p.returncode
        out = {}
        for line in p.stdout.decode(errors="replace").splitlines():
            parts = line.split(" ", 3)
            if len(parts) >= 3:
                out[parts[0]] = (parts[1], parts[2], parts[3] if len(parts) > 3 else "")
        self.last_ids = ids
        return out

    def one(self, qid, index=0, prefix=()):
        """deliver one job; returns (status, dsn, text)"""
        res = self.deliver([(qid, index)], prefix=prefix)
        return res.get(self.last_ids[0], ("?", "?", "no answer; log: " + self.log))

    def maildir(self, address):
        user, dom = address.split("@")
        return self.path("mail", dom, user)


def maildir_files(path):
    """[(subdir/name, bytes)] of new/ and cur/"""
    out = []
    for sub in ("new", "cur"):
        d = os.path.join(path, sub)
        if os.path.isdir(d):
            for f in sorted(os.listdir(d)):
                with open(os.path.join(d, f), "rb") as fh:
                    out.append((sub + "/" + f, fh.read()))
    return out
