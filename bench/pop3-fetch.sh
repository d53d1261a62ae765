#!/bin/bash
# bench/pop3-fetch.sh [COUNT=2000] [SIZE=4096] — POP3 LIST + RETR of COUNT
# messages against yubin, and against Dovecot in the same run when the
# reference is up (../shared/bench/reference-up.sh; POP3 on 127.0.0.1:20110).
# Starts a throw-away yubin instance (bin/yubin-run) on a free base port,
# adds bench@example.test (password "bench"), logs in once so that
# yubin-checkpassword creates the Maildir, then runs the shared driver
# ../shared/bench/pop3-fetch.sh (a cold and a warm session) REPS times,
# yubin and Dovecot in turn, and prints medians (lib/summarize.py).
# Env: REPS, QUIET_IDLE... are passed through; SHARED (default ../shared
# next to the checkout); KEEP=1 keeps the instance root; HASH=yescrypt
# stores bench@'s password as yubin-user does (see below).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$top/../shared}
[ -d "$shared/bench" ] || shared=/work/shared
count=${1:-2000}
size=${2:-4096}
. "$top/bench/lib/instance.sh"
bench_need pop3-fetch yubin-run yubin-pop3d yubin-pop3 yubin-checkpassword yubin-user

bench_start pop3-fetch
pop3=$((base + 110))

# The reference stores {PLAIN} passwords, so its logins cost no hashing;
# yubin-user's yescrypt costs ~0.1 s per login here. By default bench@ gets
# a sha512-crypt hash (crypt(3)'s 5000 rounds, ~2 ms); HASH=yescrypt keeps
# yubin-user's default to measure that too.
if [ "${HASH:-sha512}" = yescrypt ]; then
	echo bench | "$top/bin/yubin-user" add bench@example.test >/dev/null
else
	echo "bench@example.test $(openssl passwd -6 bench)" >> "$root/control/users"
	"$top/bin/yubin-map" "$root/control/users"
fi
python3 - "$pop3" <<'PY'
import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=30)
p.user("bench@example.test"); p.pass_("bench"); p.quit()
PY
maildir=$root/mail/example.test/bench

echo "# yubin: pop3 127.0.0.1:$pop3 maildir $maildir" >&2
ref_port=${REF_POP3_PORT:-20110}
ref_up=0
if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)' "$ref_port" 2>/dev/null; then
	ref_up=1
	echo "# reference (Dovecot): pop3 127.0.0.1:$ref_port" >&2
else
	echo "# reference not up (run $shared/bench/reference-up.sh as root to compare)" >&2
fi

# The machine is shared and its load moves by the minute: the two servers
# take turns, one repetition each per round (REPS rounds), so both see the
# same moments; the load average is printed with every round, and
# summarize.py gives median/min/max per server and phase at the end.
log=$tmp/rounds.log
for round in $(seq "${REPS:-3}"); do
	echo "# round $round load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "== yubin:" >> "$log"
	REPS=1 TARGET_PIDS=$run_pid "$shared/bench/pop3-fetch.sh" "127.0.0.1:$pop3" "$maildir" \
		bench@example.test bench "$count" "$size" | sed 's/^RESULT name=/RESULT name=yubin_/' | tee -a "$log"
	[ "$ref_up" = 1 ] || continue
	echo "== dovecot:" >> "$log"
	REPS=1 TARGET_PIDFILES=/run/refdovecot/master.pid "$shared/bench/pop3-fetch.sh" "127.0.0.1:$ref_port" \
		"${REF_MAILBASE:-/var/tmp/refmail}/example.test/bench" bench@example.test bench \
		"$count" "$size" | sed 's/^RESULT name=/RESULT name=dovecot_/' | tee -a "$log"
done
echo "# done, load $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$shared/bench/lib/summarize.py" "$log"
