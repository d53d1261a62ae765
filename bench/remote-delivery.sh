#!/bin/bash
# remote-delivery.sh [MSGS=5000] [DOMAINS=50] [LENGTH=1024]
#
# Remote delivery rate: MSGS messages to DOMAINS domains d1.test..dN.test,
# each routed by the transport table to its own Postfix smtp-sink on
# 127.0.0.1 (so N distinct destinations, as N remote domains would be).
# Measured first for yubin (a fresh yubin-run instance from a private copy
# of bin/), then in the same run for a private Postfix instance set up the
# same way (own config and queue under the work directory, smtpd on a
# loopback port, transport_maps to the same sinks; the system's Postfix
# and the reference instance are not touched).
# Two phases, so the figure is the smtp client's: the messages are injected
# while every domain routes to a dead loopback port (all wait deferred) —
# over SMTP with smtp-source (one session per domain), or with
# INJECT=sendmail through each MTA's sendmail (WRITERS=8 in parallel) —
# then the real routes go in and a flush starts the clock.
# Reports seconds from the flush until the MTA's log shows every message
# sent, messages/s, the injection time apart, and the SMTP connections used
# (a "status=sent" line without conn_use= is the first transaction on its
# connection: Postfix and yubin both log it so).
# Needs root (a Postfix instance; smtp-sink -u nobody) and the postfix
# package (smtp-sink, smtp-source). Env: INJECT, WRITERS, SKIP_POSTFIX=1,
# KEEP=1 keeps the work directory. A minute without progress = failure.
# Prints: RESULT name=yubin_remote|postfix_remote msgs=N secs=S msgs_per_s=R
#         inject_secs=I connections=C
set -euo pipefail
msgs=${1:-5000} domains=${2:-50} length=${3:-1024}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
per=$((msgs / domains))
msgs=$((per * domains))

[ "$(id -u)" = 0 ] || { echo "remote-delivery: run as root" >&2; exit 2; }
for p in smtp-sink smtp-source postfix; do
	command -v $p >/dev/null || [ -x /usr/sbin/$p ] || { echo "remote-delivery: $p missing (package postfix)" >&2; exit 2; }
done
export PATH=$PATH:/usr/sbin

work=$(mktemp -d /var/tmp/yubin-remote-bench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -f "$work/postfix/etc/main.cf" ] && postfix -c "$work/postfix/etc" stop >/dev/null 2>&1 || true
	wait 2>/dev/null || true
	[ "${KEEP:-0}" = 1 ] && echo "remote-delivery: kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free ports: a block of DOMAINS sink ports, a yubin base port, a Postfix
# port, and one that stays closed
read -r sinkbase ybase pfport deadport < <(python3 - "$domains" <<'EOF'
import socket, sys, random
n = int(sys.argv[1])
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
while True:
    b = random.randrange(30000, 40000)
    if all(free(b + i) for i in range(1, n + 1)): break
while True:
    y = random.randrange(41000, 50000)
    if all(free(y + o) for o in (25, 587, 465, 110, 995, 143, 993)): break
while True:
    p = random.randrange(51000, 60000)
    if free(p): break
while True:
    d = random.randrange(61000, 65000)
    if free(d): break
print(b, y, p, d)
EOF
)

for i in $(seq 1 "$domains"); do
	smtp-sink -u nobody 127.0.0.1:$((sinkbase + i)) 256 >/dev/null 2>&1 &
	pids+=($!)
done
transport=$work/transport
for i in $(seq 1 "$domains"); do echo "d$i.test smtp:[127.0.0.1]:$((sinkbase + i))"; done > "$transport"
# held: a loopback port nobody listens on, so every attempt is deferred
for i in $(seq 1 "$domains"); do echo "d$i.test smtp:[127.0.0.1]:$deadport"; done > "$transport.held"

sent() { # LOG PATTERN: sent lines of the MTA's smtp client
	grep -E "$2" "$1" 2>/dev/null | grep -c 'status=sent' || true
}

inject() { # PORT SENDMAIL-COMMAND
	if [ "${INJECT:-smtp}" = sendmail ]; then
		body=$(head -c "$length" /dev/zero | tr '\0' 'x' | fold -w 76)
		export body
		for i in $(seq 1 "$domains"); do seq 1 "$per" | sed "s/^/$i /"; done |
			xargs -P "${WRITERS:-8}" -n 2 sh -c 'printf "Subject: bench $1\n\n%s\n" "$body" | '"$2"' -f bench@bench.test "user@d$0.test"'
		return
	fi
	local src=()
	for i in $(seq 1 "$domains"); do
		smtp-source -s 1 -m "$per" -l "$length" -f bench@bench.test -t "user@d$i.test" "127.0.0.1:$1" &
		src+=($!)
	done
	wait "${src[@]}"
}

waitn() { # WHAT TARGET COMMAND...: until COMMAND prints >= TARGET
	local what=$1 target=$2 n last=-1 stall=0
	shift 2
	while :; do
		n=$("$@")
		[ "$n" -ge "$target" ] && return 0
		if [ "$n" = "$last" ]; then stall=$((stall + 1)); else stall=0; fi
		if [ $stall -gt 300 ]; then   # a minute without progress
			echo "remote-delivery: $what stalled at $n of $target" >&2
			return 1
		fi
		last=$n
		sleep 0.2
	done
}

# Two phases, so the number is the smtp client's: the messages are first
# injected while every domain routes to "retry:" (all deferred), then the
# real routes go in and a flush sends the whole queue; timed from the flush.
measure() { # NAME LOG PATTERN PORT SENDMAIL-COMMAND DEFERRED-COUNT-FN RELEASE-FN
	local name=$1 log=$2 pat=$3 port=$4 t0 ti t1
	t0=$(date +%s.%N)
	inject "$port" "$5"
	waitn "$name deferral" "$msgs" "$6"
	ti=$(date +%s.%N)
	"$7"
	waitn "$name delivery" "$msgs" sent "$log" "$pat"
	t1=$(date +%s.%N)
	local conns
	conns=$(grep -E "$pat" "$log" | grep 'status=sent' | grep -vc 'conn_use=' || true)
	python3 -c "import sys; a=[float(x) for x in sys.argv[1:4]]; s=a[2]-a[1]; print('RESULT name=%s msgs=%s secs=%.2f msgs_per_s=%.0f inject_secs=%.2f connections=%s' % (sys.argv[4], sys.argv[5], s, int(sys.argv[5])/s, a[1]-a[0], sys.argv[6]))" \
		"$t0" "$ti" "$t1" "$name" "$msgs" "$conns"
}

# ---- yubin --------------------------------------------------------------
# a private copy of bin/, so a rebuild in the checkout cannot disturb the run
cp -a "$top/bin" "$work/bin"
for p in yubin-run yubin-smtpd yubin-queue yubin-qmgr yubin-remote yubin-map; do
	[ -x "$work/bin/$p" ] || { echo "remote-delivery: bin/$p is missing (run make)" >&2; exit 1; }
done
yroot=$work/yubin
"$work/bin/yubin-run" --root "$yroot" --base-port "$ybase" > "$work/yubin-run.out" 2>&1 &
ypid=$!
pids+=($ypid)
for _ in $(seq 1 600); do grep -q 'yubin-run: ready' "$work/yubin-run.out" && break; sleep 0.1; done
grep -q 'yubin-run: ready' "$work/yubin-run.out" || { cat "$work/yubin-run.out" >&2; exit 1; }
y_route() { cp "$1" "$yroot/control/transport"; YUBIN_ROOT=$yroot "$work/bin/yubin-map" "$yroot/control/transport"; }
y_deferred() { find "$yroot/queue/deferred" -type f | wc -l; }
y_release() { y_route "$transport"; YUBIN_ROOT=$yroot "$work/bin/yubin-ctl" flush >/dev/null; }
y_route "$transport.held"
measure yubin_remote "$yroot/log/maillog" 'yubin-remote: .*relay=127\.0\.0\.1' $((ybase + 25)) \
	"env YUBIN_ROOT=$yroot $work/bin/sendmail" y_deferred y_release
kill "$ypid"; wait "$ypid" 2>/dev/null || true

# ---- Postfix, configured the same way ----------------------------------
[ "${SKIP_POSTFIX:-0}" = 1 ] && exit 0
pf=$work/postfix
mkdir -p "$pf/etc" "$pf/spool" "$pf/data"
chown postfix "$pf/data"
cp /etc/postfix/master.cf "$pf/etc/master.cf"
cp "$transport.held" "$pf/etc/transport"
cat > "$pf/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $pf/spool
data_directory = $pf/data
myhostname = pfbench.test
mydomain = pfbench.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
transport_maps = texthash:$pf/etc/transport
smtp_dns_support_level = disabled
smtp_tls_security_level = none
maillog_file = $pf/maillog
maillog_file_prefixes = $pf
alias_maps =
alias_database =
biff = no
EOF
for s in $(postconf -c "$pf/etc" -M | awk '$2 == "inet" {print $1}'); do postconf -c "$pf/etc" -MX "$s/inet"; done
postconf -c "$pf/etc" -M "127.0.0.1:$pfport/inet=127.0.0.1:$pfport inet n - n - - smtpd"
postconf -c "$pf/etc" -F '*/*/chroot = n'
postfix -c "$pf/etc" start >/dev/null 2>&1
for _ in $(seq 1 100); do ss -ltn | grep -q "127.0.0.1:$pfport " && break; sleep 0.1; done
p_deferred() { find "$pf/spool/deferred" -type f | wc -l; }
p_release() { cp "$transport" "$pf/etc/transport"; postfix -c "$pf/etc" reload >/dev/null 2>&1; postqueue -c "$pf/etc" -f; }
measure postfix_remote "$pf/maillog" 'postfix/smtp\[.*relay=127\.0\.0\.1' "$pfport" \
	"/usr/sbin/sendmail -C $pf/etc" p_deferred p_release
