#!/bin/bash
# bench/smtp-accept.sh — SMTP accept and end-to-end rates of yubin-smtpd
# with Postfix's smtp-source, and against Postfix in the same run when the
# reference is up (../shared/bench/reference-up.sh; SMTP on 127.0.0.1:20025).
# Cases: 10 sessions x 2000 messages of 1 KB, 1 session, 100 KB messages;
# then the memory of 50 idle connections (after EHLO).
# Starts a throw-away yubin instance (bin/yubin-run) on a free base port,
# adds bench@example.test and delivers one message so its Maildir exists,
# then runs the shared driver ../shared/bench/smtp-accept.sh.
# Env: REPS, QUIET_IDLE... passed through; CASES (default "std one big");
# MEM=0 skips the memory case (it needs root); KEEP=1 keeps the instance;
# TCPSERVER=1 also measures yubin-smtpd under tcpserver -R -H on the same
# instance (the production launcher, without yubin-run's listener).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$top/../shared}
[ -d "$shared/bench" ] || shared=/work/shared
. "$top/bench/lib/instance.sh"
bench_need smtp-accept yubin-run yubin-smtpd yubin-queue yubin-qmgr yubin-local yubin-user
command -v smtp-source >/dev/null || [ -x /usr/sbin/smtp-source ] || {
	echo "smtp-accept: smtp-source missing (Debian package postfix)" >&2; exit 111; }

tcps_pid=
bench_before_stop='[ -n "$tcps_pid" ] && kill -TERM "$tcps_pid" 2>/dev/null'
bench_start smtp-accept
smtp=$((base + 25))

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

tcps=
if [ "${TCPSERVER:-0}" = 1 ]; then
	tcps=$((base + 2525))
	YUBIN_ROOT=$root tcpserver -R -H -c 100 127.0.0.1 "$tcps" "$top/bin/yubin-smtpd" 2>>"$root/log/maillog" &
	tcps_pid=$!
	sleep 0.5
fi

ref_port=${REF_SMTP_PORT:-20025}
ref_up=0
python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)' "$ref_port" 2>/dev/null && ref_up=1
[ $ref_up = 1 ] || echo "# reference not up (run $shared/bench/reference-up.sh as root to compare)" >&2

for c in ${CASES:-std one big}; do
	case $c in
	std) args="10 2000 1024" ;;
	one) args="1 2000 1024" ;;
	big) args="10 2000 100000" ;;
	*) echo "smtp-accept: unknown case $c" >&2; exit 2 ;;
	esac
	echo "# yubin: $c ($args) smtp 127.0.0.1:$smtp maildir $maildir" >&2
	RCPT=bench@example.test TARGET_PIDS=$run_pid NAME="yubin_$c" \
		IDLE_CMD="test -z \"\$(find $root/queue/incoming $root/queue/active -type f 2>/dev/null | head -1)\"" \
		"$shared/bench/smtp-accept.sh" "127.0.0.1:$smtp" "$maildir" $args
	if [ -n "$tcps" ]; then
		echo "# yubin under tcpserver: $c ($args) smtp 127.0.0.1:$tcps" >&2
		RCPT=bench@example.test TARGET_PIDS="$run_pid $tcps_pid" NAME="yubin_tcpserver_$c" \
			IDLE_CMD="test -z \"\$(find $root/queue/incoming $root/queue/active -type f 2>/dev/null | head -1)\"" \
			"$shared/bench/smtp-accept.sh" "127.0.0.1:$tcps" "$maildir" $args
	fi
	if [ $ref_up = 1 ]; then
		echo "# reference (Postfix): $c ($args) smtp 127.0.0.1:$ref_port" >&2
		RCPT=bench@example.test TARGET_PIDFILES=/var/spool/postfix/pid/master.pid NAME="postfix_$c" \
			IDLE_CMD='test -z "$(find /var/spool/postfix/incoming /var/spool/postfix/active /var/spool/postfix/maildrop -type f 2>/dev/null | head -1)"' \
			"$shared/bench/smtp-accept.sh" "127.0.0.1:$ref_port" \
			"${REF_MAILBASE:-/var/tmp/refmail}/example.test/bench" $args
	fi
done

if [ "${MEM:-1}" = 1 ] && [ "$(id -u)" = 0 ]; then
	MATCH=yubin-smtpd "$shared/bench/mem-per-conn.sh" "127.0.0.1:$smtp" 50 | sed 's/^RESULT name=/RESULT name=yubin_/'
	[ $ref_up = 1 ] && MATCH=smtpd "$shared/bench/mem-per-conn.sh" "127.0.0.1:$ref_port" 50 | sed 's/^RESULT name=/RESULT name=postfix_/'
fi
exit 0
