#!/bin/bash
# bench/smtp-ab.sh BIN_A BIN_B — two builds of yubin side by side: one
# instance each (yubin-run from BIN_A and from BIN_B, e.g. a copy of bin/
# saved before a change and bin/ itself), then ROUNDS alternating runs of
# smtp-source (SESSIONS sessions, MESSAGES messages of 1 KB, one per
# connection) against A and B, each run timed until accepted and until
# the queue is empty. Alternating within one run is what makes a change of
# a few percent visible on a machine whose speed drifts from minute to
# minute. Prints each run and the medians.
# Env: ROUNDS (8), MESSAGES (1000), SESSIONS (1), ENV_A / ENV_B (VAR=value
# words for that instance's environment), CLEAR=1 empties the Maildir
# before each run (as the shared driver does: files freed shortly before
# make ext4 without a journal slower to allocate), KEEP=1 keeps the
# instances' files.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# = 2 ] && [ -x "$1/yubin-run" ] && [ -x "$2/yubin-run" ] || {
	echo "usage: bench/smtp-ab.sh BIN_A BIN_B (directories holding a build's yubin-run and the rest)" >&2; exit 2; }
command -v smtp-source >/dev/null || [ -x /usr/sbin/smtp-source ] || {
	echo "smtp-ab: smtp-source missing (Debian package postfix)" >&2; exit 111; }
rounds=${ROUNDS:-8} msgs=${MESSAGES:-1000} sessions=${SESSIONS:-1}
tmp=$(mktemp -d /var/tmp/yubin-bench-ab.XXXXXX)
chmod 755 "$tmp"
pids=()
stop() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	if [ -n "${KEEP:-}" ]; then echo "smtp-ab: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap stop EXIT

free_base() {
	python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import yubintest; print(yubintest.free_base())' \
		"$top/tests/lib"
}

# start NAME BIN ENVWORDS: an instance in $tmp/NAME with bench@example.test
# and its Maildir made; prints its SMTP port
start() {
	local name=$1 bin=$2 root=$tmp/$1 base
	base=$(free_base)
	env ${3:-} YUBIN_ROOT="$root" "$bin/yubin-run" --root "$root" --base-port "$base" >"$tmp/$name.out" 2>&1 &
	pids+=($!)
	for _ in $(seq 600); do
		grep -q 'yubin-run: ready' "$tmp/$name.out" 2>/dev/null && break
		sleep 0.1
	done
	grep -q 'yubin-run: ready' "$tmp/$name.out" || { cat "$tmp/$name.out" >&2; exit 111; }
	echo bench | YUBIN_ROOT="$root" "$bin/yubin-user" add bench@example.test >/dev/null
	python3 - "$((base + 25))" <<'PY'
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30) as s:
    s.sendmail("bench@example.org", ["bench@example.test"], b"Subject: first\r\n\r\nmakes the Maildir\r\n")
PY
	echo $((base + 25))
}

# run PORT ROOT: prints accepted and end-to-end messages per second
run() {
	local t0 t1 t2
	if [ "${CLEAR:-0}" = 1 ]; then
		find "$2/mail/example.test/bench/new" -type f -delete
		sync
	fi
	t0=$(date +%s.%N)
	/usr/sbin/smtp-source -s "$sessions" -m "$msgs" -l 1024 -f bench@example.test -t bench@example.test \
		-M bench.example.test "inet:127.0.0.1:$1"
	t1=$(date +%s.%N)
	while [ -n "$(find "$2/queue/incoming" "$2/queue/active" -type f | head -1)" ]; do sleep 0.02; done
	t2=$(date +%s.%N)
	python3 -c 'import sys; m, a, b, c = map(float, sys.argv[1:]); print(f"{m / (b - a):.1f} {m / (c - a):.1f}")' \
		"$msgs" "$t0" "$t1" "$t2"
}

port_a=$(start a "$1" "${ENV_A:-}")
port_b=$(start b "$2" "${ENV_B:-}")
sleep 2
for i in $(seq "$rounds"); do
	echo "A $(run "$port_a" "$tmp/a")"
	echo "B $(run "$port_b" "$tmp/b")"
done | tee "$tmp/runs"
for x in A B; do
	awk -v x=$x '$1 == x { print $2, $3 }' "$tmp/runs" | sort -n | awk -v x=$x '
		{ a[NR] = $1 } END { m = int((NR + 1) / 2)
		printf "RESULT %s accept_msgs_per_s_median=%.1f min=%.1f max=%.1f\n", x, a[m], a[1], a[NR] }'
done
