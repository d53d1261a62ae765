#!/bin/bash
# local-delivery.sh [N=5000] [WRITERS=4] [SIZE=1024]
#
# Local delivery through the sendmail interface: N messages of SIZE bytes
# injected with sendmail by WRITERS parallel writers, all to
# bench@example.test, timed until all N are in the Maildir (new/ + cur/);
# then, with N/10 more, the fsync-family calls made per message by the
# injecting commands and the server (strace -f -c over both). Measured for
# a throw-away yubin instance (bin/yubin-run) and, in the same run, for the
# Postfix reference (../shared/bench/reference-up.sh: /usr/sbin/sendmail,
# Maildir /var/tmp/refmail/example.test/bench) when it is up.
# Prints: RESULT name=yubin_local|postfix_local msgs=N secs=S msgs_per_s=R fsyncs_per_msg=F
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-5000} writers=${2:-4} size=${3:-1024}
rcpt=${RCPT:-bench@example.test}

count() { find "$maildir/new" "$maildir/cur" -type f 2>/dev/null | wc -l; }
empty() { find "$maildir/new" "$maildir/cur" "$maildir/tmp" -type f -delete 2>/dev/null || true; }

body=$(head -c $((size * 3 / 4)) /dev/zero | tr '\0' 'x' | fold -w 76)
export body sendmail rcpt
one() { printf 'Subject: bench %s\n\n%s\n' "$1" "$body" | $sendmail -f "$rcpt" "$rcpt"; }
export -f one

inject() { # count
	seq 1 "$1" | xargs -P "$writers" -n 1 bash -c 'one "$0"'
}

descendants() { # PID... -> those and all their descendants
	local out="" p
	for p in "$@"; do
		out="$out $p $(descendants $(ps -o pid= --ppid "$p"))"
	done
	echo $out
}

wait_for() { # target
	local last=-1 stall=0
	while :; do
		c=$(count)
		[ "$c" -ge "$1" ] && return 0
		if [ "$c" = "$last" ]; then stall=$((stall + 1)); else stall=0; fi
		[ $stall -gt 600 ] && { echo "local-delivery: stalled at $c of $1" >&2; return 1; }
		last=$c
		sleep 0.1
	done
}

measure() { # NAME MAILDIR SENDMAIL PIDS
name=$1 maildir=$2 sendmail=$3 FSYNC_PIDS=$4
export sendmail
empty; sync
start=$(date +%s.%N)
inject "$n"
wait_for "$n"
end=$(date +%s.%N)
secs=$(echo "$end - $start" | bc -l)
rate=$(echo "$n / $secs" | bc -l)

fsyncs=n/a
if [ -n "${FSYNC_PIDS:-}" ] && command -v strace >/dev/null; then
	m=$((n / 10))
	empty; sync
	args=(); for p in $FSYNC_PIDS; do args+=(-p "$p"); done
	# the server's processes (attached; -f follows their threads and new
	# children) and the injecting commands (run under strace), summed
	pids=$(descendants $FSYNC_PIDS)
	args=(); for p in $pids; do args+=(-p "$p"); done
	strace -f -c -e trace=fsync,fdatasync,sync_file_range,msync,syncfs -o /tmp/local-delivery.server "${args[@]}" 2>/dev/null &
	sp=$!
	sleep 1
	strace -f -c -e trace=fsync,fdatasync,sync_file_range,msync,syncfs -o /tmp/local-delivery.client \
		bash -c "seq 1 $m | xargs -P $writers -n 1 bash -c 'one \"\$0\"'"
	wait_for "$m"
	sleep 2
	kill -INT $sp 2>/dev/null
	for _ in $(seq 50); do kill -0 $sp 2>/dev/null || break; sleep 0.1; done
	kill -KILL $sp 2>/dev/null || true
	wait $sp 2>/dev/null || true
	cat /tmp/local-delivery.server /tmp/local-delivery.client > /tmp/local-delivery.strace
	calls=$(awk '$NF ~ /sync/ {s += $4} END {print s + 0}' /tmp/local-delivery.strace)
	fsyncs=$(echo "scale=2; $calls / $m" | bc -l)
fi
printf 'RESULT name=%s msgs=%d writers=%d size=%d secs=%.2f msgs_per_s=%.1f fsyncs_per_msg=%s\n' \
	"$name" "$n" "$writers" "$size" "$secs" "$rate" "$fsyncs"
}

. "$top/bench/lib/instance.sh"
bench_start local-delivery
echo bench | YUBIN_ROOT=$root "$top/bin/yubin-user" add bench@example.test 2>/dev/null
printf 'Subject: first\n\nx\n' | YUBIN_ROOT=$root "$top/bin/sendmail" bench@example.test
box=$root/mail/example.test/bench
for _ in $(seq 100); do [ -d "$box/new" ] && break; sleep 0.1; done
measure yubin_local "$box" "env YUBIN_ROOT=$root $top/bin/sendmail" "$run_pid"

ref=/var/tmp/refmail/example.test/bench
master=$(cat /var/spool/postfix/pid/master.pid 2>/dev/null | tr -d ' ' || true)
if [ -d "$ref/new" ] && [ -n "$master" ] && kill -0 "$master" 2>/dev/null; then
	measure postfix_local "$ref" /usr/sbin/sendmail "$master"
else
	echo "local-delivery: the Postfix reference is not up (../shared/bench/reference-up.sh); yubin only" >&2
fi
