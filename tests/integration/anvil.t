#!/usr/bin/env python3
"""anvil.t — per-client limits through yubin-anvil on a yubin-run instance,
with real clients from two addresses: 127.0.0.1 (in mynetworks, so an
exception) and 127.0.0.2 (limited). Connection count (51 at once),
connection rate, message, recipient and AUTH rates over anvil_rate_time_unit,
swaks seeing the 450, failed POP3/IMAP logins (auth_failure_rate_limit),
the statistics log line, and anvil killed -9 mid-test: mail is still
accepted, a warning is logged, and the limits are back once yubin-run has
restarted it."""
import imaplib, os, poplib, signal, smtplib, shutil, socket, subprocess, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from yubintest import Tap, Instance, BIN, children, wait_for

t = Tap()
t.need("anvil limits", "yubin-run", "yubin-smtpd", "yubin-anvil", "yubin-pop3d", "yubin-imapd")

A, B = "127.0.0.1", "127.0.0.2"


def banner(y, src, service="smtp"):
    """(socket, first line) of a raw connection from src"""
    s = socket.socket()
    s.settimeout(30)
    s.bind((src, 0))
    s.connect(("127.0.0.1", y.port(service)))
    f = s.makefile("rb")
    return s, f.readline().decode(errors="replace").strip()


def smtp(y, src):
    s = smtplib.SMTP(timeout=30, source_address=(src, 0))
    s.connect("127.0.0.1", y.port("smtp"))
    s.ehlo("client.test")
    return s


def mail_codes(y, src, n, rcpts=1):
    """MAIL code of each of n transactions on one connection, with rcpts RCPTs each"""
    s = smtp(y, src)
    out = []
    for i in range(n):
        code, _ = s.mail("sender@example.org")
        if code == 250:
            for r in range(rcpts):
                s.rcpt("demo@example.test")
        s.rset()
        out.append(code)
    s.quit()
    return out


def anvil_pid(y):
    found = children(y.proc.pid, "yubin-anvil")
    return found[0] if found else None


def listening(y):
    return y.log().count("yubin-anvil: listening on")


def anvil_up(y, times=1):
    return wait_for(lambda: listening(y) >= times and anvil_pid(y) and
                    os.path.exists(os.path.join(y.root, "queue", "public", "anvil")), 30)


with Instance() as y:
    y.control("mynetworks", "127.0.0.1/32")
    t.ok(anvil_up(y), "yubin-run started yubin-anvil; its socket exists", y.log()[-1500:])

    # --- 51 connections from one address -----------------------------------
    conns = []
    for i in range(50):
        s, line = banner(y, B)
        conns.append(s)
        if not line.startswith("220"):
            break
    t.eq(len(conns), 50, "50 connections from 127.0.0.2 get the banner")
    s51, line = banner(y, B)
    t.eq(line, "421 4.7.0 localhost Error: too many connections from 127.0.0.2",
         "the 51st gets 421 4.7.0 (smtpd_client_connection_count_limit = 50)")
    s51.close()
    t.ok(wait_for(lambda: "warning: Connection concurrency limit exceeded: 51 from unknown[127.0.0.2] for service smtp"
                  in y.log(), 10), "logged as Postfix does", y.log()[-800:])
    others = []
    for i in range(51):
        s, line = banner(y, A)
        others.append(s)
    t.ok(line.startswith("220"), "127.0.0.1 (mynetworks: an exception) opens 51 at the same time", line)
    for s in others:
        s.close()
    conns.pop().close()

    def one_more():
        s, line = banner(y, B)
        s.close()
        return line.startswith("220")
    t.ok(wait_for(one_more, 20), "one closed: one more from 127.0.0.2 is let in")
    for s in conns:
        s.close()

    # --- the statistics line -------------------------------------------------
    y.control("anvil_status_update_time", "1s")
    t.ok(wait_for(lambda: "yubin-anvil: statistics: max connection count" in y.log()
                  and "statistics: busiest clients" in y.log(), 20),
         "anvil logs its peaks and busiest clients", y.log()[-1500:])
    t.ok("smtp:127.0.0.2" in y.log().split("statistics: busiest clients", 1)[-1].split("\n")[0],
         "the busiest client is named")
    stats = [l for l in y.log().splitlines() if "statistics: max connection count" in l]
    t.ok(stats and "(smtp:127.0.0.2)" in stats[0] and "count 51" in stats[0], "peak count 51 for 127.0.0.2",
         stats[:2])
    y.control("anvil_status_update_time", None)

    # --- message and recipient rates ----------------------------------------
    y.control("smtpd_client_message_rate_limit", "3")
    codes = mail_codes(y, B, 4)
    t.eq(codes, [250, 250, 250, 450], "message rate: the 4th MAIL in the time unit gets 450")
    s = smtp(y, B)
    code, text = s.mail("sender@example.org")
    s.quit()
    t.ok(code == 450 and text.decode() == "4.7.1 Error: too much mail from 127.0.0.2",
         "450 4.7.1 Error: too much mail from ADDR, also on a new connection", (code, text))
    t.eq(mail_codes(y, A, 5), [250] * 5, "127.0.0.1 is an exception")
    if shutil.which("swaks"):
        r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(y.port("smtp")), "--local-interface", B,
                            "--from", "s@example.org", "--to", "demo@example.test"],
                           capture_output=True, text=True, timeout=60)
        t.ok("450 4.7.1 Error: too much mail from 127.0.0.2" in r.stdout, "swaks sees the 450", r.stdout[-500:])
    else:
        t.skip("swaks sees the 450", "swaks not installed")
    # a short time unit: the window ends and mail flows again
    y.control("anvil_rate_time_unit", "2s")
    t.ok(wait_for(lambda: mail_codes(y, B, 1) == [250], 30), "after anvil_rate_time_unit the limit is reset")
    y.control("anvil_rate_time_unit", None)
    y.control("smtpd_client_message_rate_limit", None)

    y.control("smtpd_client_recipient_rate_limit", "5")
    s = smtp(y, B)
    s.mail("sender@example.org")
    got = [s.rcpt("demo@example.test") for i in range(6)]
    s.quit()
    t.eq([c for c, _ in got], [250] * 5 + [450], "recipient rate: the 6th RCPT gets 450")
    t.eq(got[-1][1].decode(), "4.7.1 Error: too many recipients from 127.0.0.2", "with Postfix's text")
    y.control("smtpd_client_recipient_rate_limit", None)

    y.control("smtpd_client_auth_rate_limit", "2")
    y.control("smtpd_tls_auth_only", "no")  # AUTH without TLS from loopback, for the test
    s = smtp(y, "127.0.0.3")
    got = [s.docmd("AUTH", "PLAIN AGJvZ3VzAHdyb25n") for i in range(3)]
    s.close()
    t.eq([c for c, _ in got], [535, 535, 450], "AUTH rate: the 3rd AUTH command gets 450")
    t.eq(got[-1][1].decode(), "4.7.1 Error: too many AUTH commands from 127.0.0.3", "with Postfix's text")
    y.control("smtpd_client_auth_rate_limit", None)
    y.control("smtpd_tls_auth_only", None)

    y.control("smtpd_client_connection_rate_limit", "3")
    lines = []
    for i in range(4):
        s, line = banner(y, "127.0.0.4")  # a client with no earlier connections in this time unit
        lines.append(line[:3])
        s.close()
    t.eq(lines, ["220", "220", "220", "421"], "connection rate: the 4th connection in the time unit gets 421")
    y.control("smtpd_client_connection_rate_limit", None)

    # --- failed logins across connections (POP3, IMAP) ----------------------
    y.control("auth_failure_rate_limit", "2")
    def pop_login(src, password):
        p = poplib.POP3("127.0.0.1", y.port("pop3"), timeout=30)
        p.sock.close()
        sock = socket.socket()
        sock.settimeout(30)
        sock.bind((src, 0))
        sock.connect(("127.0.0.1", y.port("pop3")))
        p.sock = sock
        p.file = sock.makefile("rb")
        p._getresp()
        try:
            p.user("demo@example.test")
            return p.pass_(password).decode()
        except poplib.error_proto as e:
            return e.args[0].decode()
        finally:
            try:
                p.quit()
            except Exception:
                pass
    r1, r2 = pop_login(B, "wrong1"), pop_login(B, "wrong2")
    t.ok(r1.startswith("-ERR [AUTH]") and r2.startswith("-ERR [AUTH]"), "two bad POP3 passwords", (r1, r2))
    r3 = pop_login(B, "demo")
    t.ok(r3.startswith("-ERR [SYS/TEMP]") and "Too many failed logins" in r3,
         "then even the right password is refused, unchecked, on a new connection", r3)
    t.ok(pop_login(A, "demo").startswith("+OK"), "127.0.0.1 (an exception) logs in")

    def imap_login(src, password):
        sock = socket.create_connection(("127.0.0.1", y.port("imap")), timeout=30, source_address=(src, 0))
        f = sock.makefile("rb")
        f.readline()
        sock.sendall(b'a LOGIN demo@example.test "%s"\r\n' % password.encode())
        while True:
            line = f.readline().decode(errors="replace")
            if not line or line.startswith("a "):
                sock.close()
                return line.strip()
    i3 = imap_login(B, "demo")
    t.ok(i3.startswith("a NO [UNAVAILABLE]") and "Too many failed logins" in i3,
         "IMAP shares the count: refused too", i3)
    t.ok("Login failure rate limit exceeded" in y.log(), "logged", y.log()[-600:])
    y.control("auth_failure_rate_limit", None)

    # --- anvil killed -9 mid-test -------------------------------------------
    y.control("smtpd_client_message_rate_limit", "3")
    s_open = smtp(y, B)      # registered with the first anvil
    pid = anvil_pid(y)
    t.ok(pid is not None, "found yubin-anvil's pid")
    os.kill(pid, signal.SIGKILL)
    t.ok(wait_for(lambda: anvil_pid(y) != pid, 30), "yubin-run notices", y.log()[-500:])
    # whether or not it is back yet, mail is accepted
    ok_mail = []
    for i in range(2):
        s = smtp(y, B)
        try:
            s.sendmail("sender@example.org", ["demo@example.test"], b"Subject: during\r\n\r\nx\r\n")
            ok_mail.append(True)
        except smtplib.SMTPException as e:
            ok_mail.append(str(e))
        s.quit()
    t.eq(ok_mail, [True, True], "mail is accepted with anvil killed")
    t.ok(anvil_up(y, 2), "anvil restarted by yubin-run", y.log()[-800:])
    # the open session re-registers at its next event; a new client is counted afresh
    code, _ = s_open.mail("sender@example.org")
    s_open.quit()
    t.eq(code, 250, "a session older than the restart goes on")
    t.eq(mail_codes(y, B, 4), [250, 250, 250, 450], "limits are back after the restart")
    y.control("smtpd_client_message_rate_limit", None)

    # no anvil at all (a root whose queue/public has no socket): yubin-smtpd
    # itself, on a pipe, serves without limits and warns once
    bare = os.path.join(y.tmp, "bare")
    os.makedirs(os.path.join(bare, "queue", "public"))
    os.symlink(os.path.join(y.root, "control"), os.path.join(bare, "control"))
    env = dict(os.environ, YUBIN_ROOT=bare, TCPREMOTEIP=B)
    r = subprocess.run([os.path.join(BIN, "yubin-smtpd")], env=env, capture_output=True, timeout=60,
                       input=b"EHLO x.test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<demo@example.test>\r\n"
                             b"MAIL FROM:<b@example.org>\r\nQUIT\r\n")
    out, err = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    t.ok(out.startswith("220") and "250 2.1.0" in out and "250 2.1.5" in out,
         "no anvil: connection, MAIL and RCPT served without limits", out)
    t.eq(err.count("warning: anvil service unavailable"), 1, "one warning for the connection")
t.done()
