#!/usr/bin/env python3
"""yubin-smtpd in socket-unit mode: systemd-socket-activate --inetd -a runs
one yubin-smtpd per connection on stdin/stdout, as a systemd .socket with
Accept=yes does (no TCPREMOTEIP: the client address comes from the socket).
Mail sent through it reaches the Maildir of the yubin-run instance it
shares; relay control, smuggling and a vanished client behave as under
tcpserver; and the unit files in etc/systemd pass systemd-analyze verify."""
import os, shutil, smtplib, socket, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
from yubintest import Tap, Instance, BIN, TOP, wait_for, maildir_messages

t = Tap()
activate = shutil.which("systemd-socket-activate")
if not activate:
    t.skip("systemd-socket-activate runs yubin-smtpd", "systemd-socket-activate is not installed")
    t.done()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def delivered(y, marker, timeout=60):
    box = y.maildir("demo@example.test")
    wait_for(lambda: any(marker in m for m in maildir_messages(box).values()), timeout)
    return [m for m in maildir_messages(box).values() if marker in m]


with Instance() as y:
    port = free_port()
    errlog = os.path.join(y.tmp, "activate.log")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TCP")}
    proc = subprocess.Popen([activate, "--inetd", "-a", "-l", f"127.0.0.1:{port}", "-E", f"YUBIN_ROOT={y.root}",
                             os.path.join(BIN, "yubin-smtpd")],
                            stdout=subprocess.DEVNULL, stderr=open(errlog, "wb"), env=env, start_new_session=True)

    def connect():
        deadline = time.time() + 30
        while True:
            try:
                return smtplib.SMTP("127.0.0.1", port, timeout=60)
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)

    def log():
        with open(errlog, errors="replace") as f:
            return f.read()

    try:
        s = connect()
        code, lines = s.ehlo("activated.example.org")
        t.ok(code == 250 and b"PIPELINING" in lines, "socket-activated yubin-smtpd answers EHLO")
        refused = s.sendmail("a@example.org", ["postmaster@example.test"], b"Subject: via-socket-unit\r\n\r\nhello\r\n")
        s.quit()
        t.eq(refused, {}, "message accepted")
        got = delivered(y, b"via-socket-unit")
        t.eq(len(got), 1, "and delivered by the instance")
        t.ok(got and b"[127.0.0.1])" in got[0].split(b"\n\n")[0], "client address taken from the socket (getpeername)")
        t.ok("connect from " in log() and "[127.0.0.1]" in log(), "log on stderr: connect from host[127.0.0.1]", log())

        y.control("mynetworks", "192.0.2.0/24")
        s = connect()
        s.ehlo("activated.example.org")
        s.mail("a@example.org")
        code, text = s.rcpt("someone@remote.example")
        s.quit()
        t.eq((code, text), (554, b"5.7.1 <someone@remote.example>: Relay access denied"), "untrusted: relay denied")
        y.control("mynetworks", None)

        raw = socket.create_connection(("127.0.0.1", port), timeout=60)
        f = raw.makefile("rb")
        f.readline()
        raw.sendall(b"EHLO x.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<postmaster@example.test>\r\nDATA\r\n")
        while not f.readline().startswith(b"354"):
            pass
        raw.sendall(b"Subject: sock-outer\r\n\r\nx\r\n.\nMAIL FROM:<b@example.org>\r\n.\r\nNOOP\r\n")
        r1, r2 = f.readline(), f.readline()
        t.ok(r1.startswith(b"550 5.5.2") and r2.startswith(b"250 2.0.0"), "smuggling refused in socket mode", (r1, r2))
        raw.sendall(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<postmaster@example.test>\r\nDATA\r\n")
        for _ in range(3):
            f.readline()
        raw.sendall(b"Subject: sock-vanished\r\n\r\npartial")
        raw.shutdown(socket.SHUT_RDWR)
        raw.close()
        t.ok(wait_for(lambda: "lost connection after DATA" in log(), 30), "a client vanishing mid-DATA is logged")
        s = connect()
        t.eq(s.sendmail("a@example.org", ["postmaster@example.test"], b"Subject: sock-after\r\n\r\nx\r\n"), {},
             "the next connection works")
        s.quit()
        delivered(y, b"sock-after")
        box = maildir_messages(y.maildir("demo@example.test")).values()
        t.ok(not any(b"sock-vanished" in m or b"sock-outer" in m for m in box), "nothing of the refused messages delivered")
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)

    analyze = shutil.which("systemd-analyze")
    if analyze:
        def verify(units):
            """problems systemd-analyze verify reports for etc/systemd/UNITS
            (an @.service is checked as its instance @0)"""
            d = tempfile.mkdtemp()
            paths = []
            for n in units:
                shutil.copy(os.path.join(TOP, "etc", "systemd", n), d)
                name = os.path.basename(n).replace("@.service", "@0.service")
                if name != os.path.basename(n):
                    shutil.copy(os.path.join(d, os.path.basename(n)), os.path.join(d, name))
                paths.append(os.path.join(d, name))
            r = subprocess.run([analyze, "verify"] + paths, capture_output=True, text=True)
            shutil.rmtree(d)
            return [l for l in (r.stdout + r.stderr).splitlines() if l.strip() and "is not executable" not in l
                    and "/var/yubin/bin" not in l]
        for sock in ("yubin-smtpd", "yubin-submission", "yubin-submissions"):
            t.eq(verify([sock + ".socket", sock + "@.service"]), [],
                 f"systemd-analyze verify {sock}.socket and @.service (the binary path aside)")
        t.eq(verify(["accept-no/yubin-smtpd.socket", "accept-no/yubin-smtpd.service"]), [],
             "systemd-analyze verify accept-no/yubin-smtpd.socket and .service")
        t.eq(verify(["yubin-tlsd.service"]), [], "systemd-analyze verify yubin-tlsd.service")
    else:
        t.skip("systemd-analyze verify", "systemd-analyze is not installed")
t.done()
