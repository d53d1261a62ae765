#!/usr/bin/env python3
"""tls-accept.py NAME HOST:PORT USER PASS RCPT [MESSAGES=2000] [SESSIONS=10]
Each of SESSIONS threads connects, STARTTLS, EHLO, AUTH, sends one message
and QUITs, until MESSAGES messages are sent: one TLS handshake and one login
per message. Prints RESULT name=NAME msgs=.. secs=.. handshakes_per_s=.."""
import smtplib, ssl, sys, threading, time

name, hostport, user, pw, rcpt = sys.argv[1:6]
total = int(sys.argv[6]) if len(sys.argv) > 6 else 2000
sessions = int(sys.argv[7]) if len(sys.argv) > 7 else 10
host, port = hostport.rsplit(":", 1)
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
body = "Subject: tls bench\r\n\r\n" + ("x" * 76 + "\r\n") * 12
left = [total]
lock = threading.Lock()
errors = [0]

def worker():
    while True:
        with lock:
            if left[0] <= 0:
                return
            left[0] -= 1
        try:
            with smtplib.SMTP(host, int(port), timeout=60) as s:
                s.starttls(context=ctx)
                s.login(user, pw)
                s.sendmail(user, [rcpt], body)
        except Exception as e:
            errors[0] += 1
            if errors[0] < 5:
                print(f"tls-accept: {name}: {e!r}", file=sys.stderr)

start = time.time()
ts = [threading.Thread(target=worker) for _ in range(sessions)]
for t in ts: t.start()
for t in ts: t.join()
secs = time.time() - start
ok = total - errors[0]
print(f"RESULT name={name} msgs={ok} errors={errors[0]} secs={secs:.2f} handshakes_per_s={ok / secs:.1f}")
