#!/bin/bash
# local-delivery.sh NAME MAILDIR SENDMAIL [N=5000] [WRITERS=4] [SIZE=1024]
#
# Injects N messages of SIZE bytes with the sendmail command SENDMAIL
# (e.g. "/usr/sbin/sendmail" for Postfix, "env YUBIN_ROOT=... bin/sendmail"
# for yubin) from WRITERS parallel writers, all to bench@example.test, and
# times until all N are in MAILDIR (new/ + cur/). Then, with N/10 more
# messages, counts the fsync-family calls made by the server processes
# by the injecting commands and the server processes (FSYNC_PIDS: the
# server's long-running pids, attached with strace -f).
# Prints: RESULT name=NAME msgs=N secs=S msgs_per_s=R fsyncs_per_msg=F
set -euo pipefail
name=$1 maildir=$2 sendmail=$3 n=${4:-5000} writers=${5:-4} size=${6:-1024}
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
	# the injecting tree (sendmail, and what it runs: postdrop, yubin-queue)
	# and the server processes, all counted together
	export writers
	strace -f -c -e trace=fsync,fdatasync,sync_file_range,msync,syncfs -o /tmp/local-delivery.strace \
		"${args[@]}" bash -c 'seq 1 '"$m"' | xargs -P "$writers" -n 1 bash -c '"'"'one "$0"'"'"'' &
	sp=$!
	wait_for "$m"
	sleep 2
	kill -INT $sp 2>/dev/null; wait $sp 2>/dev/null || true
	calls=$(awk '$NF ~ /sync/ {s += $4} END {print s + 0}' /tmp/local-delivery.strace)
	fsyncs=$(echo "scale=2; $calls / $m" | bc -l)
fi
printf 'RESULT name=%s msgs=%d writers=%d size=%d secs=%.2f msgs_per_s=%.1f fsyncs_per_msg=%s\n' \
	"$name" "$n" "$writers" "$size" "$secs" "$rate" "$fsyncs"
