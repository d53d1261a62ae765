#!/bin/bash
# bench/anvil.sh — what the per-client limits cost on the SMTP accept path:
# the shared smtp-accept benchmark (smtp-source, one message per
# connection) against one yubin-run instance, alternately
#   off  every smtpd_client_* limit 0: smtpd never asks yubin-anvil
#   on   the limits set (high enough never to refuse) and no exceptions, so
#        every connection, MAIL and RCPT is one request to yubin-anvil
# Then yubin-anvil's own CPU per request, measured alone (30000 requests,
# three per connection as one message makes). Prints the RESULT lines and
#   RESULT name=anvil_cost off_accept=... on_accept=... slowdown_pct=...
#          anvil_share_pct=...   (3 requests of anvil CPU / CPU per message)
# (medians of the runs of each kind; the aim is under 5%).
# Env: ROUNDS (2: off,on,off,on), SESSIONS (10), MESSAGES (2000), LENGTH
# (1024), REPS (3) passed to the driver; KEEP=1 keeps the instance.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$top/../shared}
[ -d "$shared/bench" ] || shared=/work/shared
. "$top/bench/lib/instance.sh"
bench_need anvil.sh yubin-run yubin-smtpd yubin-anvil yubin-queue yubin-qmgr yubin-local yubin-user
command -v smtp-source >/dev/null || [ -x /usr/sbin/smtp-source ] || {
	echo "anvil.sh: smtp-source missing (Debian package postfix)" >&2; exit 111; }

bench_start anvil.sh
smtp=$((base + 25))
for _ in $(seq 600); do
	[ -S "$root/queue/public/anvil" ] && break
	sleep 0.1
done
[ -S "$root/queue/public/anvil" ] || { echo "anvil.sh: yubin-anvil not listening" >&2; exit 111; }

echo bench | "$top/bin/yubin-user" add bench@example.test >/dev/null
maildir=$root/mail/example.test/bench
python3 - "$smtp" "$maildir" <<'PY'
import os, smtplib, sys, time
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30) as s:
    s.sendmail("bench@example.org", ["bench@example.test"], b"Subject: first\r\n\r\nmakes the Maildir\r\n")
for _ in range(600):
    if os.path.isdir(os.path.join(sys.argv[2], "new")) and os.listdir(os.path.join(sys.argv[2], "new")):
        break
    time.sleep(0.1)
PY

c=$root/control
limits() { # on|off
	if [ "$1" = on ]; then
		echo 100000 > "$c/smtpd_client_connection_count_limit"
		echo 1000000 > "$c/smtpd_client_connection_rate_limit"
		echo 1000000 > "$c/smtpd_client_message_rate_limit"
		echo 1000000 > "$c/smtpd_client_recipient_rate_limit"
		: > "$c/smtpd_client_event_limit_exceptions"   # loopback is limited too
	else
		for n in connection_count connection_rate message_rate recipient_rate; do
			echo 0 > "$c/smtpd_client_${n}_limit"
		done
		rm -f "$c/smtpd_client_event_limit_exceptions"
	fi
}

results=$tmp/results
: > "$results"
for round in $(seq "${ROUNDS:-2}"); do
	for mode in off on; do
		limits $mode
		echo "# round $round: limits $mode" >&2
		RCPT=bench@example.test TARGET_PIDS=$run_pid NAME="anvil_$mode" \
			IDLE_CMD="test -z \"\$(find $root/queue/incoming $root/queue/active -type f 2>/dev/null | head -1)\"" \
			"$shared/bench/smtp-accept.sh" "127.0.0.1:$smtp" "$maildir" \
			"${SESSIONS:-10}" "${MESSAGES:-2000}" "${LENGTH:-1024}" | tee -a "$results"
	done
done
grep -c 'Connection concurrency limit exceeded\|rate limit exceeded' "$root/log/maillog" >/dev/null &&
	echo "# warning: some limit was hit during the run" >&2
# the request itself, without SMTP around it: CPU of yubin-anvil per request
anvil_pid=$(ps -o pid= --ppid "$run_pid" -o comm= | awk '$2 == "yubin-anvil" {print $1}')
python3 - "$root/queue/public/anvil" "$anvil_pid" <<'PY' | tee -a "$results"
import os, socket, sys, time
path, pid, n = sys.argv[1], int(sys.argv[2]), 30000
def cpu():
    with open("/proc/%d/stat" % pid) as f:
        fs = f.read().rsplit(")", 1)[1].split()
    return (int(fs[11]) + int(fs[12])) / os.sysconf("SC_CLK_TCK")
c0, w0 = cpu(), time.time()
for i in range(n // 3):   # one connection with C, M, R: what one message costs
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    for op in b"CMR":
        s.send(bytes([op]) + b" smtp:10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255))
        s.recv(64)
    s.close()
c1, w1 = cpu(), time.time()
print("RESULT name=anvil_request requests=%d anvil_cpu_us_per_request=%.1f wall_us_per_request=%.1f"
      % (n, (c1 - c0) / n * 1e6, (w1 - w0) / n * 1e6))
PY
python3 - "$results" <<'PY'
import re, statistics, sys
vals = {"off": {}, "on": {}}
req_us = float("nan")
for line in open(sys.argv[1]):
    r = re.search(r"anvil_cpu_us_per_request=([0-9.]+)", line)
    if r:
        req_us = float(r.group(1))
    m = re.match(r"RESULT name=anvil_(on|off) (.*)", line)
    if not m:
        continue
    for k, v in re.findall(r"(\w+)=([0-9.]+)", m.group(2)):
        vals[m.group(1)].setdefault(k, []).append(float(v))
def med(mode, key):
    v = vals[mode].get(key)
    return statistics.median(v) if v else float("nan")
off, on = med("off", "accept_msgs_per_s"), med("on", "accept_msgs_per_s")
offb, onb = med("off", "accept_msgs_per_s_best"), med("on", "accept_msgs_per_s_best")
cpu_off, cpu_on = med("off", "server_cpu_ms_per_msg"), med("on", "server_cpu_ms_per_msg")
print("RESULT name=anvil_cost off_accept=%.1f on_accept=%.1f slowdown_pct=%.1f off_best=%.1f on_best=%.1f "
      "best_slowdown_pct=%.1f off_cpu_ms=%.3f on_cpu_ms=%.3f cpu_pct=%.1f anvil_share_pct=%.2f" %
      (off, on, 100 * (off - on) / off, offb, onb, 100 * (offb - onb) / offb, cpu_off, cpu_on,
       100 * (cpu_on - cpu_off) / cpu_off, 100 * 3 * req_us / 1000 / cpu_off))
PY
