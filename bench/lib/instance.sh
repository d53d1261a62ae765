# instance.sh — sourced by the bench scripts: the throw-away yubin instance
# each of them measures, started with bin/yubin-run on a free base port.
#   bench_need WHO PROG...  exit 111 unless bin/PROG is built
#   bench_start WHO         sets tmp, root ($tmp/inst), base, run_pid and
#                           exports YUBIN_ROOT; returns once yubin-run says
#                           ready. At exit, bench_before_stop (a command, if
#                           set) runs, yubin-run is stopped by its PID and
#                           tmp removed (KEEP=1 keeps it).
# The caller sets top (the tree whose bin/ and tests/lib/ to use).

bench_need() {
	local who=$1 p
	shift
	for p in "$@"; do
		[ -x "$top/bin/$p" ] || { echo "$who: bin/$p missing (run make)" >&2; exit 111; }
	done
}

bench_start() {
	bench_who=$1
	tmp=$(mktemp -d "/var/tmp/yubin-bench-$bench_who.XXXXXX")
	chmod 755 "$tmp"
	root=$tmp/inst
	base=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import yubintest; print(yubintest.free_base())' \
		"$top/tests/lib")
	export YUBIN_ROOT=$root
	"$top/bin/yubin-run" --root "$root" --base-port "$base" > "$tmp/run.out" 2>&1 &
	run_pid=$!
	trap bench_stop EXIT
	for _ in $(seq 600); do
		grep -q 'yubin-run: ready' "$tmp/run.out" 2>/dev/null && return 0
		kill -0 "$run_pid" 2>/dev/null || { cat "$tmp/run.out" >&2; exit 111; }
		sleep 0.1
	done
	echo "$bench_who: yubin-run not ready" >&2
	exit 111
}

bench_stop() {
	if [ -n "${bench_before_stop:-}" ]; then eval "$bench_before_stop" || true; fi
	kill -TERM "$run_pid" 2>/dev/null || true
	wait "$run_pid" 2>/dev/null || true
	if [ -n "${KEEP:-}" ]; then echo "$bench_who: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
