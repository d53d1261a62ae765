#!/bin/bash
# bench/hibernate.sh — what hibernation of silent SMTP sessions costs per
# command and saves in workers: bench/hibernate.py (20 clients at once, 10
# sessions each, 30 ms of silence before every command) against one
# yubin instance with control/smtpd_hibernate_timeout = 0 (every session
# keeps its worker), the default 1s (30 ms is not silent enough: sessions
# sleep only when the pool has no idle worker) and 10ms (every command
# finds its session asleep in the pool and wakes it: the price of a sleep
# and a wake). Then the memory of 50 idle connections
# (../shared/bench/mem-per-conn.sh, root only) each way.
# Env: CLIENTS, SESSIONS, PAUSE_MS; KEEP=1 keeps the instance.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$top/../shared}
[ -d "$shared/bench" ] || shared=/work/shared
. "$top/bench/lib/instance.sh"
bench_need hibernate yubin-run yubin-smtpd yubin-user
bench_start hibernate
smtp=$((base + 25))
echo bench | "$top/bin/yubin-user" add bench@example.test >/dev/null

pool() { # the yubin-smtpd pool: yubin-run's child on the smtp socket
	local p
	for p in $(pgrep -P "$run_pid" -x yubin-smtpd); do echo "$p"; return; done
}

for mode in 0 default 10ms; do
	if [ $mode = default ]; then
		rm -f "$root/control/smtpd_hibernate_timeout"
	else
		echo $mode > "$root/control/smtpd_hibernate_timeout"
	fi
	# workers that saw the old setting exec themselves once: a warm-up
	python3 "$top/bench/hibernate.py" "$smtp" "$(pool)" "${CLIENTS:-20}" 2 1 >/dev/null
	echo "# smtpd_hibernate_timeout=$mode" >&2
	python3 "$top/bench/hibernate.py" "$smtp" "$(pool)" "${CLIENTS:-20}" "${SESSIONS:-10}" "${PAUSE_MS:-30}" |
		sed "s/^RESULT name=hibernate/RESULT name=hibernate_$mode/"
	if [ "$(id -u)" = 0 ]; then
		MATCH=yubin-smtpd "$shared/bench/mem-per-conn.sh" "127.0.0.1:$smtp" 50 |
			sed "s/^RESULT name=/RESULT name=hibernate_${mode}_/"
	fi
done
