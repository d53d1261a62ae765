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
# run from a snapshot of bin/, bench/ and tests/lib, so that a rebuild in
# the tree during the run cannot swap programs under the benchmark
snap=$(mktemp -d /var/tmp/yubin-bench-snap.XXXXXX)
chmod 755 "$snap"
mkdir -p "$snap/tests"
cp -a "$here/../bin" "$here/../bench" "$snap/"
cp -a "$here/../tests/lib" "$snap/tests/"
trap 'rm -rf "$snap"' EXIT
export SHARED=$shared
here_run=$snap/bench
{
	echo "# $(date -u) $(uname -n) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
	"$here_run/smtp-accept.sh"
	"$here_run/local-delivery.sh" "${LOCAL_N:-5000}" 4
	"$here_run/pop3-fetch.sh"
	"$here_run/imap.sh"
	"$here_run/remote-delivery.sh" "${REMOTE_N:-5000}" 50
	"$here_run/tls-accept.sh"
	[ -x "$here_run/anvil.sh" ] && "$here_run/anvil.sh"
	[ -x "$here_run/instructions.sh" ] && "$here_run/instructions.sh" "${INSTR_N:-200}"
} 2>&1 | tee "$log" | grep --line-buffered '^RESULT'
echo
"$here/summary.py" "$log"
echo "(raw: $log)"
