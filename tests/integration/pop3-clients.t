#!/usr/bin/env python3
"""pop3-clients: a real yubin-run instance driven by real POP3 clients:
python poplib (USER/PASS, AUTH PLAIN, STAT, LIST, UIDL, TOP, RETR,
DELE+QUIT, RSET, stls(), POP3_SSL), curl pop3:// and pop3s://, fetchmail
into an mbox over STLS and over 995, openssl s_client -starttls pop3;
wrong password and retry, [IN-USE] and kill -9, bytes retrieved equal
bytes delivered."""
import base64, os, poplib, re, signal, socket, ssl, subprocess, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, Instance, BIN, wait_for, wait_messages
poplib._MAXLINE = 65536  # a 3000-byte body line is legal; poplib stops at 2048
from pop3util import crlf, pop3_size, recv_until

t = Tap()
t.need("POP3 with real clients", "yubin-run", "yubin-pop3d", "yubin-pop3", "yubin-checkpassword")

USER, PASS = "demo@example.test", "demo"
NOVERIFY = ssl.create_default_context()
NOVERIFY.check_hostname = False
NOVERIFY.verify_mode = ssl.CERT_NONE


def put(md, name, data):
    """a message straight into new/, owned like the Maildir"""
    st = os.stat(md)
    path = os.path.join(md, "new", name)
    with open(path, "wb") as f:
        f.write(data)
    if os.geteuid() == 0:
        os.chown(path, st.st_uid, st.st_gid)


def login(y, port="pop3", user=USER, pw=PASS):
    p = poplib.POP3("127.0.0.1", y.port(port), timeout=30)
    p.user(user)
    p.pass_(pw)
    return p


def count_cur_new(md):
    return sum(len(os.listdir(os.path.join(md, d))) for d in ("new", "cur"))


with Instance() as y:
    md = y.maildir(USER)
    try:
        login(y).quit()
    except Exception as e:
        t.ok(False, "first login creates the Maildir", f"{e}\n{y.log()[-2000:]}")
        t.done()
    t.ok(all(os.path.isdir(os.path.join(md, d)) for d in ("new", "cur", "tmp")), "first login creates the Maildir")

    msgs = {
        "1700000001.M1P1Q1.test": b"From: a@example.test\nSubject: first\n\nhello\n.leading dot\n",
        "1700000002.M2P2Q2.test": b"From: b@example.test\r\nSubject: second\r\n\r\ncrlf body\r\n",
        "1700000003.M3P3Q3.test": b"Subject: third\n\n" + b"line of text\n" * 2000,
    }
    for n, d in msgs.items():
        put(md, n, d)
    DATA = list(msgs.values())

    # --- poplib, plain on loopback -----------------------------------------
    p = login(y)
    t.eq(p.stat(), (3, sum(pop3_size(d) for d in DATA)), "poplib STAT")
    t.eq([l.split()[1] for l in p.list()[1]], [str(pop3_size(d)).encode() for d in DATA], "poplib LIST sizes")
    t.eq([l.split()[1] for l in p.uidl()[1]], [n.encode() for n in msgs], "poplib UIDL")
    t.eq(p.top(1, 1)[1], [b"From: a@example.test", b"Subject: first", b"", b"hello"], "poplib TOP")
    same = True
    for i, d in enumerate(DATA):
        resp, lines, octets = p.retr(i + 1)
        if b"".join(l + b"\r\n" for l in lines) != crlf(d) or len(b"".join(l + b"\r\n" for l in lines)) != pop3_size(d):
            same = False
    t.ok(same, "poplib RETR: every message byte for byte (CRLF, dot-stuffing undone)")
    p.dele(2)
    p.rset()
    p.dele(2)
    p.quit()
    t.eq(count_cur_new(md), 2, "DELE + QUIT removed one message (after RSET and DELE again)")
    DATA = [DATA[0], DATA[2]]

    # --- wrong password, then the right one in the same connection ----------
    p = poplib.POP3("127.0.0.1", y.port("pop3"), timeout=60)
    p.user(USER)
    try:
        p.pass_("wrong")
        t.ok(False, "wrong password refused")
    except poplib.error_proto as e:
        t.ok(str(e).startswith("b'-ERR [AUTH]"), "wrong password refused with [AUTH]", e)
    p.user(USER)
    t.ok(p.pass_(PASS).startswith(b"+OK"), "the right password works in the same connection")
    p.quit()
    t.ok(wait_for(lambda: "auth failed: service=pop3 rip=127.0.0.1 user=<demo@example.test> mech=USER" in y.log()),
         "fail2ban-ready line for the failure")

    # --- AUTH PLAIN with an initial response, pipelined STAT ------------------
    s = socket.create_connection(("127.0.0.1", y.port("pop3")), timeout=30)
    recv_until(s, b"\r\n")
    ir = base64.b64encode(b"\0" + USER.encode() + b"\0" + PASS.encode())
    s.sendall(b"AUTH PLAIN " + ir + b"\r\nSTAT\r\nQUIT\r\n")
    got = recv_until(s, b"Logging out.\r\n")
    t.ok(got.startswith(b"+OK") and b"\r\n+OK 2 " in got, "AUTH PLAIN with initial response, pipelined STAT answered", got)
    s.close()

    # --- one session per mailbox ----------------------------------------------
    p1 = login(y)
    p2 = poplib.POP3("127.0.0.1", y.port("pop3"), timeout=30)
    p2.user(USER)
    try:
        p2.pass_(PASS)
        t.ok(False, "second session gets [IN-USE]")
    except poplib.error_proto as e:
        t.ok("[IN-USE]" in str(e), "second session gets [IN-USE]", e)
    p1.quit()
    p2.user(USER)
    t.ok(p2.pass_(PASS).startswith(b"+OK"), "and can log in once the first has quit")
    pids = re.findall(r"yubin-pop3: login user=<demo@example.test> .*pid=(\d+)", y.log())
    p2.dele(1)
    os.kill(int(pids[-1]), signal.SIGKILL)
    try:
        p2.noop()
    except Exception:
        pass
    p3 = login(y)
    t.eq(p3.stat()[0], 2, "kill -9 of a session: lock released, its DELE not applied")
    p3.quit()

    # --- TLS ------------------------------------------------------------------
    capa = poplib.POP3("127.0.0.1", y.port("pop3"), timeout=30).capa()
    if "STLS" in capa and os.path.exists(os.path.join(BIN, "yubin-tlsd")):
        p = poplib.POP3("127.0.0.1", y.port("pop3"), timeout=30)
        p.stls(NOVERIFY)
        p.user(USER)
        p.pass_(PASS)
        resp, lines, _ = p.retr(1)
        t.ok(b"".join(l + b"\r\n" for l in lines) == crlf(DATA[0]), "poplib stls(): login and RETR")
        t.ok("STLS" not in p.capa(), "no STLS once TLS is on")
        p.quit()
        p = poplib.POP3_SSL("127.0.0.1", y.port("pop3s"), timeout=30, context=NOVERIFY)
        p.user(USER)
        p.pass_(PASS)
        t.eq(p.stat()[0], 2, "poplib POP3_SSL on the pop3s port")
        p.quit()
        t.ok(wait_for(lambda: "tls=yes" in y.log()), "login line says tls=yes")

        r = subprocess.run(["openssl", "s_client", "-starttls", "pop3", "-connect", f"127.0.0.1:{y.port('pop3')}",
                            "-quiet", "-crlf"], input=f"USER {USER}\nPASS {PASS}\nSTAT\nQUIT\n".encode(),
                           capture_output=True, timeout=60)
        t.ok(b"+OK 2 " in r.stdout and b"Logging out" in r.stdout, "openssl s_client -starttls pop3", r.stdout + r.stderr)

        r = subprocess.run(["curl", "-sS", "-k", f"pop3s://127.0.0.1:{y.port('pop3s')}/", "-u", f"{USER}:{PASS}"],
                           capture_output=True, timeout=60)
        t.ok(r.returncode == 0 and r.stdout.split() == [b"1", str(pop3_size(DATA[0])).encode(), b"2", str(pop3_size(DATA[1])).encode()],
             "curl pop3s:// lists", r.stdout + r.stderr)
        r = subprocess.run(["curl", "-sS", "-k", "--ssl-reqd", f"pop3://127.0.0.1:{y.port('pop3')}/2", "-u", f"{USER}:{PASS}"],
                           capture_output=True, timeout=60)
        t.ok(r.returncode == 0 and r.stdout == crlf(DATA[1]), "curl pop3:// with STLS retrieves", r.stderr)

        # fetchmail: everything into an mbox, deleting on the server, over STLS and over 995
        for mode, port, opts in (("STLS", "pop3", ["--sslproto", "tls1.2+"]), ("995", "pop3s", ["--ssl"])):
            put(md, f"17000001{port}.M9P9Q9.test", b"Subject: for fetchmail " + mode.encode() + b"\n\nbody\n")
            mbox = os.path.join(y.tmp, f"mbox-{port}")
            rc = os.path.join(y.tmp, f"fetchmailrc-{port}")
            with open(rc, "w") as f:
                f.write(f'poll 127.0.0.1 service {y.port(port)} protocol pop3 user "{USER}" password "{PASS}"\n')
            os.chmod(rc, 0o600)
            r = subprocess.run(["fetchmail", "-f", rc, "--idfile", rc + ".ids", "--nosslcertck", "-a", "--nokeep",
                                "--mda", f"/bin/sh -c 'echo From fetchmail >> {mbox}; cat >> {mbox}'"] + opts,
                               capture_output=True, timeout=120, env=dict(os.environ, HOME=y.tmp))
            got = open(mbox, "rb").read() if os.path.exists(mbox) else b""
            t.ok(r.returncode == 0 and got.count(b"From fetchmail") == 3 and b"for fetchmail " + mode.encode() in got,
                 f"fetchmail over {mode}: all messages into an mbox", (r.stdout + r.stderr)[-1500:])
            t.eq(count_cur_new(md), 0, f"fetchmail over {mode} deleted them on the server")
            for d in DATA:
                put(md, f"{time.time_ns()}.M1P1Q1.again", d)
    else:
        t.skip("TLS clients (poplib stls, POP3_SSL, openssl, curl, fetchmail)", "STLS not offered: " + repr(capa))

    # --- bytes delivered by yubin equal bytes retrieved ------------------------
    if os.path.exists(os.path.join(BIN, "yubin-local")) and os.path.exists(os.path.join(BIN, "sendmail")):
        for n in os.listdir(os.path.join(md, "cur")) + os.listdir(os.path.join(md, "new")):
            for sub in ("cur", "new"):
                try:
                    os.unlink(os.path.join(md, sub, n))
                except OSError:
                    pass
        try:
            body = b"Subject: delivered\n\n.dot line\nplain line\n" + b"x" * 3000 + b"\n"
            y.sendmail("-f", "sender@example.test", USER, message=body)
            y.sendmail("-f", "sender@example.test", USER, message=b"Subject: second delivered\n\nshort\n")
            files = wait_messages(md, 2, timeout=60)
            p = login(y)
            resp, listing, _ = p.list()
            got = {}
            for ent in listing:
                num = int(ent.split()[0])
                resp, lines, _ = p.retr(num)
                got[num] = b"".join(l + b"\r\n" for l in lines)
            p.quit()
            t.eq(sorted(got.values()), sorted(crlf(d) for d in files.values()),
                 "bytes retrieved equal the bytes delivered (CRLF line ends)")
            t.eq(sorted(int(l.split()[1]) for l in listing), sorted(pop3_size(d) for d in files.values()),
                 "LIST sizes of delivered messages")
            t.ok(any(b"\r\n.dot line\r\n" in v for v in got.values()), "delivered dot line comes back unstuffed by poplib")
        except Exception as e:
            t.ok(False, "bytes retrieved equal the bytes delivered", f"{e}\n{y.log()[-1500:]}")
    else:
        t.skip("delivery through yubin-local", "bin/yubin-local not built yet")

    log = y.log()
    t.ok("yubin-pop3: login user=<demo@example.test> rip=127.0.0.1" in log, "login line in maillog")
    t.ok(re.search(r"yubin-pop3: logout user=<demo@example.test> top=\d+/\d+, retr=\d+/\d+, del=\d+/\d+, size=\d+", log),
         "logout line in maillog")
t.done()
