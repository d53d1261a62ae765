#!/usr/bin/env python3
"""Auth timing: whether a login name exists must not show in how fast it
is refused (user enumeration by timing). Every "no" path in auth.c
computes one password hash; this measures it from outside. Loosely, as
the machine is noisy: the median time to refuse an unknown name (virtual,
unknown domain, system) must not be under a tenth of the median time to
refuse a known name with a wrong password. Limits on failures are lifted
so that no refusal is a fast "too many failures"."""
import base64, os, statistics, sys, time
sys.path.insert(0, os.path.dirname(__file__))
from seclib import Conn, smtp_open  # noqa: E402
from yubintest import Tap, Instance, BIN  # noqa: E402

ROUNDS = 9
t = Tap()


def plain(login, pw):
    return base64.b64encode(b"\0" + login.encode() + b"\0" + pw.encode()).decode()


with Instance() as y:
    y.control("smtpd_auth_failure_limit", "0")
    y.control("auth_failure_rate_limit", "0")
    y.control("smtpd_soft_error_limit", "1000")
    y.control("smtpd_hard_error_limit", "1000")
    kinds = {"wrong password": "demo@example.test", "unknown virtual user": "nobody@example.test",
             "unknown domain": "demo@nowhere.test", "unknown system user": "nosuchuser"}
    times = {k: [] for k in kinds}
    c = smtp_open(y.port("submission"))
    c.cmd("STARTTLS")
    c.starttls()
    c.cmd("EHLO client.test")
    codes = set()
    for _ in range(ROUNDS):
        for k, login in kinds.items():
            t0 = time.perf_counter()
            r = c.cmd("AUTH PLAIN " + plain(login, "Wrong-pass-1"))
            times[k].append(time.perf_counter() - t0)
            codes.add(r[-1][:3] if r else None)
    c.close()
    t.eq(codes, {"535"}, "every attempt refused with 535")
    med = {k: statistics.median(v) for k, v in times.items()}
    t.diag("SMTP AUTH refusal medians: " + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in med.items()))
    for k in kinds:
        if k != "wrong password":
            t.ok(med[k] * 10 >= med["wrong password"], f"SMTP AUTH: {k} not 10x faster than a wrong password",
                 f"{med[k]:.4f}s vs {med['wrong password']:.4f}s")

    if os.path.exists(os.path.join(BIN, "yubin-pop3d")):
        # POP3 sleeps after a failure (its tarpit); time to the -ERR still
        # includes the check, so the same loose rule holds
        ptimes = {"wrong password": [], "unknown virtual user": []}
        for _ in range(3):
            for k in ptimes:
                c = Conn(y.port("pop3"))
                c.line()
                c.send(f"USER {kinds[k]}\r\n".encode())
                c.line()
                t0 = time.perf_counter()
                c.send(b"PASS Wrong-pass-1\r\n")
                r = c.line(timeout=30)
                ptimes[k].append(time.perf_counter() - t0)
                c.close()
        pm = {k: statistics.median(v) for k, v in ptimes.items()}
        t.diag("POP3 refusal medians: " + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in pm.items()))
        t.ok(pm["unknown virtual user"] * 10 >= pm["wrong password"], "POP3: unknown user not 10x faster")
t.done()
