"""yubintest — what every integration test needs: TAP output, a real yubin
instance started with bin/yubin-run on a free base port (stopped by PID),
and helpers to read Maildirs.

    from yubintest import Tap, Instance
    t = Tap()
    with Instance() as y:            # y.root, y.port("smtp"), y.control(...)
        ...
        t.ok(cond, "what it proves")
    t.done()
"""
import fcntl, os, signal, socket, subprocess, sys, tempfile, time, shutil

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(TOP, "bin")
PORTS = {"smtp": 25, "submission": 587, "submissions": 465, "pop3": 110,
         "pop3s": 995, "imap": 143, "imaps": 993}


def write_control(root, name, value):
    """control/NAME under root set to value (ending in a newline), or
    removed when value is None"""
    path = os.path.join(root, "control", name)
    if value is None:
        if os.path.exists(path):
            os.unlink(path)
        return
    with open(path, "w") as f:
        f.write(value if value.endswith("\n") or value == "" else value + "\n")


def tls_client_context():
    """a TLS client context that takes any certificate: the instances'
    certificates are self-signed"""
    import ssl
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def spawn_tlsd(args, sock, root):
    """bin/yubin-tlsd ARGS started as tls_start_server() spawns it: sock on
    fds 0 and 1, plaintext from the program on 3 and to it on 4, the status
    line on 5. sock is closed here. Returns (proc, from_tlsd, to_tlsd,
    status): raw fds for the caller to read, write and close; proc.stderr
    is a pipe."""
    a_r, a_w = os.pipe()   # tlsd -> program
    b_r, b_w = os.pipe()   # program -> tlsd
    s_r, s_w = os.pipe()   # status

    def fds():
        # move every source above the targets first: a pipe may already be fd 3, 4 or 5
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (b_r, a_w, s_w)]
        for fd, target in zip(high, (3, 4, 5)):
            os.dup2(fd, target)
    env = dict(os.environ, YUBIN_ROOT=root, TCPREMOTEIP="127.0.0.1")
    proc = subprocess.Popen([os.path.join(BIN, "yubin-tlsd")] + list(args), stdin=sock.fileno(),
                            stdout=sock.fileno(), stderr=subprocess.PIPE, preexec_fn=fds, close_fds=False, env=env)
    sock.close()
    for fd in (a_w, b_r, s_w):
        os.close(fd)
    return proc, a_r, b_w, s_r


class LineReader:
    """lines ending in CRLF from the socket self.s; what came after the
    last one waits in self.buf (a raw protocol client's base)"""

    def raw_line(self):
        """the next line without its CRLF; EOFError when the peer closed"""
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError(self.buf)
            self.buf += d
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=None):
        self.n += 1
        print(("ok" if cond else "not ok") + f" {self.n} - {name}", flush=True)
        if not cond:
            self.failed += 1
            if diag is not None:
                for line in str(diag).splitlines() or [""]:
                    print("#   " + line, flush=True)
        return bool(cond)

    def eq(self, got, want, name):
        return self.ok(got == want, name, f"got {got!r}, want {want!r}")

    def skip(self, name, why):
        self.n += 1
        print(f"ok {self.n} - {name} # SKIP {why}", flush=True)

    def need(self, name, *programs):
        """skip the whole test, as name, when one of bin/PROGRAMS is not built"""
        missing = [p for p in programs if not os.path.exists(os.path.join(BIN, p))]
        if missing:
            self.skip(name, "not built yet: " + " ".join(missing))
            self.done()

    def diag(self, text):
        for line in str(text).splitlines():
            print("# " + line, flush=True)

    def done(self):
        print(f"1..{self.n}", flush=True)
        sys.exit(1 if self.failed else 0)


def free_base():
    """a base port B such that B + every standard port is free, all below
    Linux's ephemeral range (32768 and up), where a client connection made
    meanwhile could take one of them before yubin-run binds it"""
    start = (os.getpid() * 7919 + time.time_ns() // 1000) % 20000
    for i in range(200):
        base = 11000 + (start + i * 1000) % 20000
        socks = []
        try:
            for p in PORTS.values():
                s = socket.socket()
                s.bind(("127.0.0.1", base + p))
                socks.append(s)
            return base
        except OSError:
            pass
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free base port")


class Instance:
    """A yubin-run instance in a temporary root. Control files may be set
    before start with control(); start() waits for 'yubin-run: ready'."""

    def __init__(self, root=None, start=True, args=()):
        self.tmp = tempfile.mkdtemp(prefix="yubin-test-")
        os.chmod(self.tmp, 0o755)
        self.root = root or os.path.join(self.tmp, "inst")
        self.base = None
        self.proc = None
        self.args = list(args)
        self.env = dict(os.environ, YUBIN_ROOT=self.root)
        if start:
            self.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        if os.environ.get("KEEP_TEST_ROOT"):
            print(f"# kept {self.tmp}", flush=True)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def port(self, name):
        return self.base + PORTS[name]

    def start(self, timeout=60):
        self.base = self.base or free_base()
        self.out = open(os.path.join(self.tmp, "run.out"), "a+")
        self.out.seek(0, os.SEEK_END)
        mark = self.out.tell()  # a restart must see its own "ready"
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "yubin-run"), "--root", self.root, "--base-port", str(self.base)] + self.args,
            stdout=self.out, stderr=subprocess.STDOUT, start_new_session=True, env=self.env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.out.seek(mark)
            if "yubin-run: ready" in self.out.read():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.out.seek(0)
        why = self.out.read()
        try:
            # yubin-run logs to the instance's maillog once it has one
            with open(os.path.join(self.root, "log", "maillog"), errors="replace") as f:
                why += "maillog:\n" + f.read()[-3000:]
        except OSError:
            pass
        raise RuntimeError("yubin-run did not get ready:\n" + why)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def restart(self):
        self.stop()
        self.start()

    # configuration -------------------------------------------------------
    def control(self, name, value):
        """write control/NAME (value None removes it); for a table that
        must be compiled use map()"""
        write_control(self.root, name, value)

    def map(self, name, text):
        """write control/NAME and compile it with yubin-map"""
        self.control(name, text)
        self.run("yubin-map", os.path.join(self.root, "control", name))

    def run(self, prog, *args, input=None, check=True):
        """run bin/PROG with YUBIN_ROOT set; returns CompletedProcess"""
        r = subprocess.run([os.path.join(BIN, prog)] + list(args), input=input,
                           capture_output=True, env=self.env, timeout=120)
        if check and r.returncode != 0:
            raise RuntimeError(f"{prog} {args} exited {r.returncode}: {r.stderr!r}")
        return r

    def sendmail(self, *args, message=b""):
        return self.run("sendmail", *args, input=message)

    def log(self):
        try:
            with open(os.path.join(self.root, "log", "maillog"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # mailboxes -----------------------------------------------------------
    def maildir(self, address):
        user, dom = address.split("@")
        return os.path.join(self.root, "mail", dom, user)


def queue_tmp_files(root):
    """queue/tmp's files other than spares (tmp/spare.N, queue/README):
    what a writer left unfinished"""
    return sorted(f for f in os.listdir(os.path.join(root, "queue", "tmp")) if not f.startswith("spare."))


def maildir_messages(path):
    """{filename: bytes} of every message in new/ and cur/"""
    out = {}
    for sub in ("new", "cur"):
        d = os.path.join(path, sub)
        if not os.path.isdir(d):
            continue
        for f in os.listdir(d):
            try:
                with open(os.path.join(d, f), "rb") as fh:
                    out[f] = fh.read()
            except OSError:
                pass
    return out


def wait_for(pred, timeout=20, step=0.05):
    """poll pred() until it is true or timeout; returns its last value"""
    deadline = time.time() + timeout
    v = pred()
    while not v and time.time() < deadline:
        time.sleep(step)
        v = pred()
    return v


def wait_messages(path, count, timeout=30):
    """wait until the Maildir holds at least count messages; returns them"""
    wait_for(lambda: len(maildir_messages(path)) >= count, timeout)
    return maildir_messages(path)


def processes():
    """[(pid, parent pid, program name)] of every process, from /proc"""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rindex(")") + 2:].split()
        out.append((int(d), int(rest[1]), st[st.index("(") + 1:st.rindex(")")]))
    return out


def children(pid, name=None):
    """pids whose parent is pid (and whose program name is name, if given)"""
    return [p for p, pp, comm in processes() if pp == pid and (name is None or comm == name)]
