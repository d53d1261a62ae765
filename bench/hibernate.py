#!/usr/bin/env python3
"""hibernate.py PORT POOL_PID [CLIENTS=20] [SESSIONS=10] [PAUSE_MS=30]

What hibernation costs and saves (INSTALL, "a silent SMTP client does not
hold a worker"): CLIENTS clients at once each run SESSIONS SMTP sessions
(EHLO, MAIL, RCPT, DATA, QUIT) with PAUSE_MS of silence before every
command, so every command of every session finds its session asleep when
hibernation is on. Reports the CPU the smtpd pool and its workers spent
per command (from /proc: schedstat of the pool and its live workers, plus
the reaped workers' times), the workers alive at the end, and the wall
time.
Run once with smtpd_hibernate_timeout 0 and once with the default to see
the price of a sleep and a wake per command (bench/hibernate.sh does)."""
import os, smtplib, sys, threading, time

port, pool = int(sys.argv[1]), int(sys.argv[2])
clients = int(sys.argv[3]) if len(sys.argv) > 3 else 20
sessions = int(sys.argv[4]) if len(sys.argv) > 4 else 10
pause = (int(sys.argv[5]) if len(sys.argv) > 5 else 30) / 1000
TICK = os.sysconf("SC_CLK_TCK")


def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        st = f.read()
    return st[st.rindex(")") + 2:].split()


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if int(stat(int(d))[1]) == pid:
                    out.append(int(d))
            except (OSError, IndexError):
                pass
    return out


def run_ns(pid):
    """CPU time of pid in ns (schedstat: exact, unlike the tick counts)"""
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


def cpu():
    """seconds of CPU of the pool, its live workers and its reaped ones"""
    total = run_ns(pool) / 1e9 + sum(int(x) for x in stat(pool)[13:15]) / TICK  # + cutime cstime
    for w in children(pool):
        try:
            total += run_ns(w) / 1e9
        except OSError:
            pass
    return total


def client(n, errors):
    try:
        for i in range(sessions):
            s = smtplib.SMTP("127.0.0.1", port, timeout=60)
            time.sleep(pause)
            s.ehlo(f"c{n}.example.org")
            time.sleep(pause)
            s.mail("bench@example.org")
            time.sleep(pause)
            s.rcpt("bench@example.test")
            time.sleep(pause)
            s.data(b"Subject: hibernate bench\r\n\r\nx\r\n")
            time.sleep(pause)
            s.quit()
    except Exception as e:  # counted, reported
        errors.append(repr(e))


errors = []
before, t0 = cpu(), time.time()
threads = [threading.Thread(target=client, args=(n, errors)) for n in range(clients)]
for th in threads:
    th.start()
for th in threads:
    th.join()
wall = time.time() - t0
time.sleep(0.2)
used = cpu() - before
commands = clients * sessions * 5
print(f"RESULT name=hibernate clients={clients} sessions={clients * sessions} pause_ms={pause * 1000:.0f} "
      f"commands={commands} errors={len(errors)} wall_s={wall:.2f} server_cpu_s={used:.2f} "
      f"server_cpu_us_per_cmd={used / commands * 1e6:.0f} workers={len(children(pool))}")
if errors:
    print("# first error:", errors[0], file=sys.stderr)
