#!/bin/bash
# all.sh — `make bench`: every bench/ script against yubin and, in the same
# run, against the Postfix + Dovecot reference (../shared/bench/reference-up.sh
# is run first when it is not up; it needs root), then one table
# (bench/summary.py): figure, yubin, peer, ratio (above 1: yubin better).
# The raw log goes to bench/results/all-DATE.log.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shared=${SHARED:-$here/../../shared}
[ -d "$shared/bench" ] || shared=/work/shared
mkdir -p "$here/results"
log=$here/results/all-$(date -u +%Y%m%d-%H%M%S).log
if ! (exec 3<>/dev/tcp/127.0.0.1/20025) 2>/dev/null; then
	"$shared/bench/reference-up.sh" >&2 || echo "all: reference not up; yubin figures only" >&2
fi
export REPS=${REPS:-3}
{
	echo "# $(date -u) $(uname -n) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
	"$here/smtp-accept.sh"
	"$here/local-delivery.sh" "${LOCAL_N:-5000}" 4
	"$here/pop3-fetch.sh"
	"$here/imap.sh"
	"$here/remote-delivery.sh" "${REMOTE_N:-5000}" 50
	[ -x "$here/tls-accept.sh" ] && "$here/tls-accept.sh"
	[ -x "$here/anvil.sh" ] && "$here/anvil.sh"
} 2>&1 | tee "$log" | grep --line-buffered '^RESULT'
echo
"$here/summary.py" "$log"
echo "(raw: $log)"
