#!/usr/bin/env python3
"""tls-accept.py NAME HOST:PORT USER PASS RCPT [MESSAGES=2000] [SESSIONS=10] [PIDS]
Each of SESSIONS threads connects, STARTTLS, EHLO, AUTH, sends one message
and QUITs, until MESSAGES messages are sent: one TLS handshake and one login
per message. Prints RESULT name=NAME msgs=.. secs=.. handshakes_per_s=..
With PIDS (comma-separated roots of the server's process trees), then holds
IDLE (20) connections open after STARTTLS + AUTH and prints the growth of
the trees' RSS, PSS and private memory per held connection (KiB):
RESULT name=NAME_idle conns=.. rss_kib=.. pss_kib=.. uss_kib=.."""
import os, smtplib, ssl, sys, threading, time

name, hostport, user, pw, rcpt = sys.argv[1:6]
total = int(sys.argv[6]) if len(sys.argv) > 6 else 2000
sessions = int(sys.argv[7]) if len(sys.argv) > 7 else 10
roots = [int(p) for p in sys.argv[8].split(",") if p] if len(sys.argv) > 8 else []
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


def tree_memory(roots):
    """summed Rss, Pss and Private_* (KiB) of roots and all their descendants"""
    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    st = f.read()
                parent[int(d)] = int(st[st.rindex(")") + 2:].split()[1])
            except (OSError, ValueError):
                pass
    todo, seen = list(roots), set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo.extend(c for c, pp in parent.items() if pp == p)
    total = {"Rss": 0, "Pss": 0, "Private": 0}
    for p in seen:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k in ("Rss", "Pss"):
                        total[k] += int(v.split()[0])
                    elif k in ("Private_Clean", "Private_Dirty"):
                        total["Private"] += int(v.split()[0])
        except (OSError, ValueError):
            pass
    return total


if roots:
    idle = int(os.environ.get("IDLE", "20"))
    time.sleep(1)
    before = tree_memory(roots)
    held = []
    for _ in range(idle):
        c = smtplib.SMTP(host, int(port), timeout=60)
        c.starttls(context=ctx)
        c.login(user, pw)
        held.append(c)
    time.sleep(1)
    after = tree_memory(roots)
    per = {k: (after[k] - before[k]) / idle for k in before}
    print(f"RESULT name={name}_idle conns={idle} rss_kib={per['Rss']:.0f} pss_kib={per['Pss']:.0f} "
          f"uss_kib={per['Private']:.0f}")
    for c in held:
        try:
            c.quit()
        except Exception:
            pass
