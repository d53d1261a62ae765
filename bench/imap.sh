#!/bin/bash
# bench/imap.sh [COUNT=2000] [SIZE=4096] [BIGCOUNT=20000] — IMAP against
# yubin, and against Dovecot in the same run when the reference is up
# (../shared/bench/reference-up.sh; IMAP on 127.0.0.1:20143): SELECT +
# FETCH 1:* BODY.PEEK[] and (FLAGS RFC822.SIZE ENVELOPE) on COUNT messages,
# cold and warm; SELECT of BIGCOUNT messages first and second time; SEARCH
# FROM over BIGCOUNT messages (bench/imap-search.py).
# Starts a throw-away yubin instance (bin/yubin-run) on a free base port,
# adds bench@example.test (password "bench"), logs in once so that
# yubin-checkpassword creates the Maildir, then runs the shared driver
# ../shared/bench/imap-fetch.sh (cold and warm sessions, REPS medians).
# Env: REPS, QUIET_IDLE... are passed through; SHARED (default ../shared
# next to the checkout); KEEP=1 keeps the instance root; HASH=yescrypt
# stores bench@'s password as yubin-user does (see below).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$top/../shared}
[ -d "$shared/bench" ] || shared=/work/shared
count=${1:-2000}
size=${2:-4096}
big=${3:-20000}
. "$top/bench/lib/instance.sh"
bench_need imap yubin-run yubin-imapd yubin-imap yubin-checkpassword yubin-map

bench_start imap
imap=$((base + 143))

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
python3 - "$imap" <<'PY'
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]), timeout=30)
m.login("bench@example.test", "bench"); m.logout()
PY
maildir=$root/mail/example.test/bench

echo "# yubin: imap 127.0.0.1:$imap maildir $maildir" >&2
TARGET_PIDS=$run_pid "$shared/bench/imap-fetch.sh" "127.0.0.1:$imap" "$maildir" \
	bench@example.test bench "$count" "$size" "$big" | sed 's/^RESULT name=/RESULT name=yubin_/'
[ "$big" != 0 ] && python3 "$top/bench/imap-search.py" "127.0.0.1:$imap" "$maildir" bench@example.test bench "$big" |
	sed 's/^RESULT name=/RESULT name=yubin_/'

ref_port=${REF_IMAP_PORT:-20143}
if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)' "$ref_port" 2>/dev/null; then
	echo "# reference (Dovecot): imap 127.0.0.1:$ref_port" >&2
	refmd=${REF_MAILBASE:-/var/tmp/refmail}/example.test/bench
	pidfile=/run/refdovecot/master.pid
	TARGET_PIDFILES=$pidfile "$shared/bench/imap-fetch.sh" "127.0.0.1:$ref_port" "$refmd" \
		bench@example.test bench "$count" "$size" "$big" | sed 's/^RESULT name=/RESULT name=dovecot_/'
	[ "$big" != 0 ] && python3 "$top/bench/imap-search.py" "127.0.0.1:$ref_port" "$refmd" bench@example.test bench "$big" |
		sed 's/^RESULT name=/RESULT name=dovecot_/'
else
	echo "# reference not up (run $shared/bench/reference-up.sh as root to compare)" >&2
fi
