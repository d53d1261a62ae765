#!/bin/bash
# tls-accept.sh [MESSAGES=2000] [SESSIONS=10] — submission with STARTTLS and
# AUTH PLAIN, one handshake and one login per message (bench/tls-accept.py),
# then the memory each of IDLE (20) held STARTTLS+AUTH connections adds to
# the server's process trees (yubin-run's; Postfix's and Dovecot's masters),
# against a throw-away yubin instance (port base+587, user bench@example.test
# with a sha512-crypt password, as cheap as the peer's) and, in the same
# run, Postfix's submission on 127.0.0.1:20587 (reference-up.sh, Dovecot
# SASL, bench@example.test / bench) when it is up.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-2000} s=${2:-10}
. "$top/bench/lib/instance.sh"
bench_start tls-accept
# the peer keeps {PLAIN} passwords; give bench@ a cheap crypt hash (not yescrypt)
hash=$(python3 -c 'import crypt; print(crypt.crypt("bench", crypt.mksalt(crypt.METHOD_SHA512)))' 2>/dev/null ||
	openssl passwd -6 bench)
printf 'bench@example.test %s\n' "$hash" >> "$root/control/users"
YUBIN_ROOT=$root "$top/bin/yubin-map" "$root/control/users"
# AUTH_CACHE_TTL=0: every login runs crypt(3) (auth_cache_ttl; default 1h)
[ -z "${AUTH_CACHE_TTL:-}" ] || echo "$AUTH_CACHE_TTL" > "$root/control/auth_cache_ttl"
python3 "$top/bench/tls-accept.py" yubin_tls "127.0.0.1:$((base + 587))" bench@example.test bench bench@example.test "$n" "$s" "$run_pid"
if (exec 3<>/dev/tcp/127.0.0.1/20587) 2>/dev/null; then
	# the peer's trees: Postfix's master and Dovecot's (its auth serves the logins)
	peers=$(cat /var/spool/postfix/pid/master.pid /run/refdovecot/master.pid 2>/dev/null |
		tr -d ' ' | paste -sd, -)
	python3 "$top/bench/tls-accept.py" postfix_tls 127.0.0.1:20587 bench@example.test bench bench@example.test "$n" "$s" "$peers"
else
	echo "tls-accept: Postfix's submission (127.0.0.1:20587) is not up; yubin only" >&2
fi
