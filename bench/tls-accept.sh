#!/bin/bash
# tls-accept.sh [MESSAGES=2000] [SESSIONS=10] — submission with STARTTLS and
# AUTH PLAIN, one handshake and one login per message (bench/tls-accept.py),
# against a throw-away yubin instance (port base+587, user bench@example.test
# with a sha512-crypt password, as cheap as the peer's) and, in the same
# run, Postfix's submission on 127.0.0.1:20587 (reference-up.sh, Dovecot
# SASL, bench@example.test / bench) when it is up.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-2000} s=${2:-10}
tmp=$(mktemp -d /var/tmp/yubin-bench-tls.XXXXXX)
chmod 755 "$tmp"
root=$tmp/inst
base=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import yubintest; print(yubintest.free_base())' "$top/tests/lib")
"$top/bin/yubin-run" --root "$root" --base-port "$base" > "$tmp/run.out" 2>&1 &
run=$!
trap 'kill $run 2>/dev/null; wait $run 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
for _ in $(seq 100); do grep -q "yubin-run: ready" "$tmp/run.out" && break; sleep 0.2; done
# the peer keeps {PLAIN} passwords; give bench@ a cheap crypt hash (not yescrypt)
hash=$(python3 -c 'import crypt; print(crypt.crypt("bench", crypt.mksalt(crypt.METHOD_SHA512)))' 2>/dev/null ||
	openssl passwd -6 bench)
printf 'bench@example.test %s\n' "$hash" >> "$root/control/users"
YUBIN_ROOT=$root "$top/bin/yubin-map" "$root/control/users"
python3 "$top/bench/tls-accept.py" yubin_tls "127.0.0.1:$((base + 587))" bench@example.test bench bench@example.test "$n" "$s"
if (exec 3<>/dev/tcp/127.0.0.1/20587) 2>/dev/null; then
	python3 "$top/bench/tls-accept.py" postfix_tls 127.0.0.1:20587 bench@example.test bench bench@example.test "$n" "$s"
else
	echo "tls-accept: Postfix's submission (127.0.0.1:20587) is not up; yubin only" >&2
fi
