#!/bin/bash
# bench/instructions.sh [N] — CPU instructions per message, counted by
# valgrind --tool=callgrind (a count, not a time: it holds on a noisy
# machine). SMTP accept + delivery into a Maildir of N (default 200) 1 KB
# messages, over one session ("session") and over one connection per
# message ("conn"), for yubin and for Postfix, every process of the mail
# system under callgrind:
#   yubin:   a non-root yubin-run (as nobody when run as root) under
#            valgrind --trace-children=yes, so yubin-run, yubin-smtpd,
#            yubin-queue -d, yubin-qmgr, yubin-local, ... each leave a file;
#   Postfix: a private Postfix instance (its own config, queue and Maildir
#            under a temporary directory, copied from the reference's
#            main.cf/master.cf; needs root) whose master runs under
#            valgrind --trace-children=yes.
# Each case is run twice from a fresh start: with one warm-up message, and
# with the warm-up message and N more (python smtplib, not measured); the
# Ir of every process, added up per role, of the second run minus the
# first, divided by N, is the figure: start-up and shut-down of long-lived
# processes cancel out, a process started per connection counts in full.
# (Zeroing with callgrind_control does not reach Postfix's daemons, which
# give up root after exec.)
# Then POP3 RETR and IMAP FETCH BODY.PEEK[] (one command per message) the
# same way, yubin-pop3 / yubin-imap vs a private Dovecot instance serving a
# copy of the same Maildir: after a run that only primes the mailbox
# (new/ to cur/, caches, indexes), each run has a warm-up session (login,
# logout) and a measured one (login, N retrievals or none, logout).
# Rows: RESULT name=yubin_instr_smtp_CASE / postfix_instr_smtp_CASE with
# instr_per_msg and the share of each role (accept, enqueue, qmgr,
# deliver, master, other); yubin_instr_pop3_fetch, _imap_fetch and the
# dovecot_ ones (mailbox = the process that serves the mailbox; the
# long-lived daemons' timer ticks are shown on stderr, not added in);
# yubin_instr_empty_exec is /bin/true
# under callgrind, for scale (exec + dynamic loading). Only user-space
# instructions count: kernel work (syscalls, sendfile) does not. The top
# functions of the accepting process go to stderr (callgrind_annotate).
# Env: CASES (default "session conn"; empty: none), MBOX (default
# "pop3 imap"; empty: none), POSTFIX=0 and DOVECOT=0 skip the peers,
# KEEP=1 keeps the temporary directory, BIN=DIR takes the yubin programs
# from DIR instead of bin/.
set -Eeuo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$top/bin}
n=${1:-${INSTR_N:-200}}
say() { echo "instructions: $*" >&2; }
trap 'say "failed at line $LINENO"' ERR

if ! command -v valgrind >/dev/null || ! command -v callgrind_annotate >/dev/null; then
	if [ "$(id -u)" = 0 ] && [ -x "$top/tools/need-packages" ]; then
		"$top/tools/need-packages" valgrind >&2 || true
	elif [ "$(id -u)" = 0 ]; then   # run from make bench's snapshot, without tools/
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q >&2 &&
			DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q valgrind >&2 || true
	fi
	command -v valgrind >/dev/null || { say "valgrind missing (Debian package valgrind); skipped"; exit 0; }
fi
for p in yubin-run yubin-smtpd yubin-queue yubin-qmgr yubin-local yubin-user; do
	[ -x "$bin/$p" ] || { say "$bin/$p missing (run make)"; exit 111; }
done

tmp=$(mktemp -d /var/tmp/yubin-bench-instr.XXXXXX)
chmod 755 "$tmp"
pids=()          # valgrind'd servers we started, stopped by PID at exit
cleanup() {
	# ours: the servers started here, and whatever still writes below $tmp
	local left
	left=$(pgrep -f -- "--callgrind-out-file=$tmp/" || true)
	for p in "${pids[@]}" $left; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}" $left; do
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
	done
	[ -n "${KEEP:-}" ] && say "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# Run as nobody when root: a root yubin-run would start setuid-style
# privilege changes that valgrind cannot follow; the non-root instance runs
# every program as its caller.
as_user=()
user=$(id -un)
if [ "$(id -u)" = 0 ]; then
	as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
	user=nobody
fi
# A forked child starts with its parent's counts (callgrind copies them):
# every process dumps, and so zeroes its counts, before it forks (files
# cg.PID.N), so that a forked worker (serve.h's pools, Postfix's master)
# counts only its own work. An exec starts afresh anyway.
vg=(valgrind -q --tool=callgrind --trace-children=yes --vgdb=no --dump-before=_Fork)

# Ir per program over the callgrind files of DIR, as "prog ir" lines in
# DIR/progs; the accepting program's biggest file goes to DIR/accept.file
# for callgrind_annotate.
sum_dir() {
	python3 - "$1" "$2" <<'PY'
import os, re, sys
d, accept = sys.argv[1], sys.argv[2]
progs, best = {}, (0, "")
for f in os.listdir(d):
    if not re.match(r"cg\.\d+(\.\d+)?$", f):
        continue
    cmd, ir = "", None
    for line in open(os.path.join(d, f), errors="replace"):
        if line.startswith("cmd:"):
            cmd = (line.split() + ["", ""])[1]
        elif line.startswith("summary:") or line.startswith("totals:"):
            ir = int(line.split()[1])
    if ir is None:
        print(f"instructions: {d}/{f} has no totals (the process did not exit cleanly)", file=sys.stderr)
        continue
    prog = os.path.basename(cmd)
    progs[prog] = progs.get(prog, 0) + ir
    if prog == accept and ir > best[0]:
        best = (ir, f)
with open(os.path.join(d, "accept.file"), "w") as fh:
    fh.write(best[1])
with open(os.path.join(d, "progs"), "w") as fh:
    for p, ir in sorted(progs.items()):
        fh.write(f"{p} {ir}\n")
PY
}

# the RESULT fields of (run B - run A) / N, per role; per program to stderr
per_message() {
	python3 - "$1" "$2" "$3" "$4" <<'PY'
import sys
a, b, n, label = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
if label.endswith("pop3") or label.endswith("imap"):
    # the connection's processes; the long-lived ones only tick (timers,
    # statistics), which is noise here: shown, not added in
    roles = {"yubin-pop3": "mailbox", "pop3": "mailbox", "yubin-pop3d": "login",
             "yubin-imap": "mailbox", "imap": "mailbox", "yubin-imapd": "login",
             "yubin-checkpassword": "login", "pop3-login": "login", "imap-login": "login",
             "auth": "login"}
    sums = {r: 0 for r in ("mailbox", "login")}
else:
    roles = {"yubin-smtpd": "accept", "smtpd": "accept", "yubin-queue": "enqueue", "cleanup": "enqueue",
             "yubin-qmgr": "qmgr", "qmgr": "qmgr", "yubin-local": "deliver", "virtual": "deliver",
             "local": "deliver", "yubin-run": "master", "master": "master"}
    sums = {r: 0 for r in ("accept", "enqueue", "qmgr", "deliver", "master", "other")}
def load(d):
    return {p: int(ir) for p, ir in (l.split() for l in open(d + "/progs"))}
pa, pb = load(a), load(b)
for p in sorted(set(pa) | set(pb), key=lambda p: pa.get(p, 0) - pb.get(p, 0)):
    d = pb.get(p, 0) - pa.get(p, 0)
    if roles.get(p, "other") in sums:
        sums[roles.get(p, "other")] += d
    print(f"instructions: {label}: {p}: {d / n:.0f} per message", file=sys.stderr)
print(f"instr_per_msg={sum(sums.values()) / n:.0f} " +
      " ".join(f"{r}_instr_per_msg={v / n:.0f}" for r, v in sums.items()))
PY
}

# send MODE (session|conn) N messages to 127.0.0.1:PORT for RCPT; then wait
# until MAILDIR/new holds WANT files
send() {
	python3 - "$@" <<'PY'
import os, smtplib, sys, time
mode, port, n, rcpt, maildir, want = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], int(sys.argv[6])
body = b"".join(b"%04d " % i + b"x" * 58 + b"\r\n" for i in range(15))  # ~1 KB
def msg(i):
    return b"From: bench@example.org\r\nTo: " + rcpt.encode() + b"\r\nSubject: instr %d\r\n\r\n" % i + body
if mode == "session":
    with smtplib.SMTP("127.0.0.1", port, timeout=300) as s:
        for i in range(n):
            s.sendmail("bench@example.org", [rcpt], msg(i))
else:
    for i in range(n):
        with smtplib.SMTP("127.0.0.1", port, timeout=300) as s:
            s.sendmail("bench@example.org", [rcpt], msg(i))
new = os.path.join(maildir, "new")
for _ in range(6000):
    if os.path.isdir(new) and len(os.listdir(new)) >= want:
        break
    time.sleep(0.1)
else:
    sys.exit(f"instructions: only {len(os.listdir(new))} of {want} messages in {new}")
PY
}

# pop3 PORT USER PASS COUNT: log in, STAT, RETR 1..COUNT, QUIT
pop3() {
	python3 - "$@" <<'PY'
import poplib, sys
port, user, pw, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
p = poplib.POP3("127.0.0.1", port, timeout=600)
p.user(user); p.pass_(pw)
have = p.stat()[0]
if have < n:
    sys.exit(f"instructions: {have} messages in the POP3 mailbox, {n} wanted")
for i in range(1, n + 1):
    p.retr(i)
p.quit()
PY
}

# imap PORT USER PASS COUNT: log in, SELECT INBOX, FETCH i BODY.PEEK[]
# for i in 1..COUNT, one command each, LOGOUT
imap() {
	python3 - "$@" <<'PY'
import imaplib, sys
port, user, pw, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
m = imaplib.IMAP4("127.0.0.1", port, timeout=600)
m.login(user, pw)
typ, data = m.select("INBOX")
if int(data[0]) < n:
    sys.exit(f"instructions: {data[0]} messages in the IMAP INBOX, {n} wanted")
for i in range(1, n + 1):
    typ, data = m.fetch(str(i), "(BODY.PEEK[])")
    if typ != "OK":
        sys.exit(f"instructions: FETCH {i}: {typ} {data}")
m.logout()
PY
}

free_base() { python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import yubintest; print(yubintest.free_base())' "$top/tests/lib"; }
wait_port() {
	for _ in $(seq 1200); do
		# connect only: refused until the port is open, then one probe,
		# the same in both runs of a case
		python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5).close()' "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	say "nothing answers on 127.0.0.1:$1"; return 1
}
count_new() { ls "$1/new" 2>/dev/null | wc -l || true; }

# Wait (at most 120 s) until no process writes to DIR's callgrind files any
# more: the ones whose command line names DIR (ours alone), then KILL the rest.
wait_gone() {
	local pat="--callgrind-out-file=$1/cg"
	for _ in $(seq 1200); do pgrep -f -- "$pat" >/dev/null || return 0; sleep 0.1; done
	for p in $(pgrep -f -- "$pat"); do say "pid $p did not stop; killed"; kill -KILL "$p" 2>/dev/null || true; done
}

# let the last work finish, then stop the server started as PID and wait
# until no process of it is left under DIR
stop_after_work() {
	sleep 2
	kill -TERM "$1"
	wait "$1" 2>/dev/null || true
	wait_gone "$2"
}

# a mailbox session that only logs in (new/ moves to cur/), then one that
# RETRs / FETCHes COUNT messages
mbox_sessions() {
	"$1" "$2" bench@example.test bench 0
	"$1" "$2" bench@example.test bench "$3"
}

annotate() {
	local f
	f=$(cat "$1/accept.file")
	[ -n "$f" ] || return 0
	# inclusive: callgrind_annotate gives all the self cost of a file
	# written after a dump (a forked worker's) to __libc_start_main
	echo "# top functions (inclusive Ir) of the accepting process, $2 ($f, $(awk '/^(summary|totals):/{print $2; exit}' "$1/$f") Ir in all):" >&2
	callgrind_annotate --inclusive=yes "$1/$f" 2>/dev/null | sed -n '/file:function/,$p' | grep -v '^-' | sed -n '2,31p' |
		sed -e 's/^/#   /' -e 's/ \[[^]]*\]$//' >&2 || true
}

# --------------------------------------------------------------- scale
"${vg[@]}" --callgrind-out-file="$tmp/true.cg" /bin/true 2>/dev/null
true_ir=$(cat "$tmp"/true.cg* | awk '/^totals:/{s += $2} END {print s}')
echo "RESULT name=yubin_instr_empty_exec instr=$true_ir"

# --------------------------------------------------------------- yubin
# The programs are copied, so that nobody can run them and a rebuild of
# bin/ cannot swap them during the run; the instance is made once, outside
# valgrind, with the user bench@example.test.
mkdir -p "$tmp/yubin"
cp -a "$bin" "$tmp/yubin/bin"
yroot=$tmp/yubin/inst
ymail=$yroot/mail/example.test/bench
chown -R "$user" "$tmp/yubin"
yubin_setup() {
	local base
	base=$(free_base)
	"${as_user[@]}" env YUBIN_ROOT="$yroot" "$tmp/yubin/bin/yubin-run" --root "$yroot" --base-port "$base" \
		> "$tmp/yubin/setup.out" 2>&1 &
	local run=$!
	pids+=("$run")
	for _ in $(seq 600); do grep -q 'yubin-run: ready' "$tmp/yubin/setup.out" && break; sleep 0.1; done
	echo bench | "${as_user[@]}" env YUBIN_ROOT="$yroot" "$tmp/yubin/bin/yubin-user" add bench@example.test >/dev/null
	kill -TERM "$run"
	wait "$run" 2>/dev/null || true
}

# yubin_start DIR: yubin-run under callgrind (one output file per process
# in DIR) on a free base port; sets base and run, returns once it is ready
yubin_start() {
	local d=$1
	mkdir -p "$d"; chmod 1777 "$d"
	base=$(free_base)
	"${as_user[@]}" env YUBIN_ROOT="$yroot" "${vg[@]}" --callgrind-out-file="$d/cg.%p" \
		"$tmp/yubin/bin/yubin-run" --root "$yroot" --base-port "$base" > "$d/run.out" 2>&1 &
	run=$!
	pids+=("$run")
	for _ in $(seq 1200); do grep -q 'yubin-run: ready' "$d/run.out" && return 0; sleep 0.1; done
	say "yubin-run not ready"; grep -v '^==' "$d/run.out" >&2
	return 1
}

# yubin_run MODE COUNT DIR: one warm-up message, then COUNT in MODE
yubin_run() {
	local mode=$1 count=$2 d=$3 base have run
	yubin_start "$d" || return 1
	have=$(count_new "$ymail")
	send session $((base + 25)) 1 bench@example.test "$ymail" $((have + 1))
	[ "$count" = 0 ] || send "$mode" $((base + 25)) "$count" bench@example.test "$ymail" $((have + 1 + count))
	stop_after_work "$run" "$d"   # the last delivery's bookkeeping first
	sum_dir "$d" yubin-smtpd
}

# yubin_mbox_run pop3|imap COUNT DIR: mbox_sessions under callgrind
yubin_mbox_run() {
	local proto=$1 count=$2 d=$3 base port run
	yubin_start "$d" || return 1
	port=$((base + 110))
	[ "$proto" = pop3 ] || port=$((base + 143))
	mbox_sessions "$proto" "$port" "$count"
	stop_after_work "$run" "$d"
	sum_dir "$d" "yubin-$proto"
}

# --------------------------------------------------------------- Postfix
# A private instance: the reference's main.cf/master.cf with its own queue,
# data and Maildir, one smtpd on a free loopback port, master under valgrind.
pfc=$tmp/postfix/etc
pmail=$tmp/postfix/mail/example.test/bench
postfix_setup() {
	[ "${POSTFIX:-1}" = 1 ] || return 1
	[ "$(id -u)" = 0 ] || { say "not root: no Postfix figures"; return 1; }
	[ -x /usr/lib/postfix/sbin/master ] && [ -s /etc/refmail/vmailbox ] || {
		say "Postfix reference not installed (run ../shared/bench/reference-up.sh): no Postfix figures"; return 1; }
	mkdir -p "$pfc" "$pmail"/{new,cur,tmp} "$tmp/postfix/spool" "$tmp/postfix/data"
	cp /etc/postfix/main.cf /etc/postfix/master.cf "$pfc/"
	chown -R vmail:vmail "$tmp/postfix/mail"
	chown postfix "$tmp/postfix/data"
	postconf -c "$pfc" -e \
		"queue_directory = $tmp/postfix/spool" \
		"data_directory = $tmp/postfix/data" \
		"virtual_mailbox_base = $tmp/postfix/mail" \
		"maillog_file = $tmp/postfix/maillog" \
		"meta_directory = /etc/postfix" \
		"inet_interfaces = 127.0.0.1"
	# none of the reference's ports: postfix_run adds its own
	for svc in $(postconf -c "$pfc" -M | awk '$2=="inet"{print $1}'); do postconf -c "$pfc" -MX "$svc/inet"; done
	postfix -c "$pfc" check 2>&1 | grep -v 'overriding' >&2 || true
}

postfix_run() {
	local mode=$1 count=$2 d=$3 port have
	mkdir -p "$d"; chmod 1777 "$d"
	port=$(( $(free_base) + 25 ))
	for svc in $(postconf -c "$pfc" -M | awk '$2=="inet"{print $1}'); do postconf -c "$pfc" -MX "$svc/inet"; done
	postconf -c "$pfc" -M "127.0.0.1:$port/inet=127.0.0.1:$port inet n - n - - smtpd"
	# Valgrind makes its output file at exec, while the daemon is still
	# root, mode 0600; a daemon that then becomes postfix could not write
	# it at exit: hand the files over as they appear.
	( set +e; while :; do
		find "$d" -maxdepth 1 -user root -name 'cg.*' -exec chown postfix {} + 2>/dev/null
		sleep 0.1
	done ) &
	local chowner=$!
	pids+=("$chowner")
	# its own process group: master stops its daemons with killpg
	setsid "${vg[@]}" --callgrind-out-file="$d/cg.%p" \
		/usr/lib/postfix/sbin/master -c "$pfc" -d > "$d/master.out" 2>&1 &
	local master=$!
	pids+=("$master")
	wait_port "$port"
	have=$(count_new "$pmail")
	send session "$port" 1 bench@example.test "$pmail" $((have + 1))
	[ "$count" = 0 ] || send "$mode" "$port" "$count" bench@example.test "$pmail" $((have + 1 + count))
	stop_after_work "$master" "$d"
	kill -TERM "$chowner"
	wait "$chowner" 2>/dev/null || true
	sum_dir "$d" smtpd
}

# --------------------------------------------------------------- Dovecot
# A private instance: the reference's dovecot.conf with its own base_dir,
# log, port and Maildir (a copy of yubin's, so both serve the same
# messages), no chroot for the login processes (callgrind writes its files
# outside), master in the foreground under valgrind.
dcf=$tmp/dovecot/dovecot.conf
dovecot_setup() {
	[ "${DOVECOT:-1}" = 1 ] || return 1
	[ "$(id -u)" = 0 ] || { say "not root: no Dovecot figures"; return 1; }
	[ -x /usr/sbin/dovecot ] && [ -s /etc/refmail/dovecot.conf ] || {
		say "Dovecot reference not installed (run ../shared/bench/reference-up.sh): no Dovecot figures"; return 1; }
	local dm=$tmp/dovecot/mail/example.test/bench
	mkdir -p "$tmp/dovecot/run" "$dm"
	cp -a "$ymail"/. "$dm"/
	chown -R vmail:vmail "$tmp/dovecot/mail"
	echo "bench@example.test:{PLAIN}bench:$(id -u vmail):$(id -g vmail)::$dm" > "$tmp/dovecot/users"
	chown root:dovecot "$tmp/dovecot/users"; chmod 0640 "$tmp/dovecot/users"
	sed -e "s|^base_dir = .*|base_dir = $tmp/dovecot/run|" \
		-e "s|^instance_name = .*|instance_name = yubin-bench-instr|" \
		-e "s|^log_path = .*|log_path = $tmp/dovecot/log|" \
		-e "s|^info_log_path = .*|info_log_path = $tmp/dovecot/log|" \
		-e "s|^mail_location = .*|mail_location = maildir:$tmp/dovecot/mail/%d/%n|" \
		-e "s|/etc/refmail/users|$tmp/dovecot/users|" \
		-e "/unix_listener \/var\/spool\/postfix/,/}/d" \
		/etc/refmail/dovecot.conf > "$dcf"
	printf 'service pop3-login {\n  chroot =\n}\nservice imap-login {\n  chroot =\n}\n' >> "$dcf"
}
dovecot_run() {
	local proto=$1 count=$2 d=$3 port
	mkdir -p "$d"; chmod 1777 "$d"
	port=$(( $(free_base) + 110 ))
	sed -i -e "/inet_listener pop3 {/,/}/s/port = .*/port = $port/" \
		-e "/inet_listener imap {/,/}/s/port = .*/port = $((port + 33))/" "$dcf"
	doveconf -c "$dcf" -n > /dev/null
	# as for Postfix: files made as root, written at exit by dovenull/vmail
	( set +e; while :; do
		find "$d" -maxdepth 1 -user root -name 'cg.*' -exec chmod 666 {} + 2>/dev/null
		sleep 0.1
	done ) &
	local chmoder=$!
	pids+=("$chmoder")
	setsid "${vg[@]}" --callgrind-out-file="$d/cg.%p" /usr/sbin/dovecot -F -c "$dcf" > "$d/dovecot.out" 2>&1 &
	local master=$!
	pids+=("$master")
	[ "$proto" = pop3 ] || port=$((port + 33))
	wait_port "$port"
	mbox_sessions "$proto" "$port" "$count"
	stop_after_work "$master" "$d"
	kill -TERM "$chmoder"
	wait "$chmoder" 2>/dev/null || true
	sum_dir "$d" "$proto"
}

# --------------------------------------------------------------- run
yubin_setup
pf=0
postfix_setup && pf=1
for c in ${CASES-session conn}; do
	say "yubin, $c: warm-up only, then $n messages"
	yubin_run "$c" 0 "$tmp/yubin/$c-a"
	yubin_run "$c" "$n" "$tmp/yubin/$c-b"
	echo "RESULT name=yubin_instr_smtp_$c msgs=$n $(per_message "$tmp/yubin/$c-a" "$tmp/yubin/$c-b" "$n" "yubin $c")"
	annotate "$tmp/yubin/$c-b" "yubin $c"
	[ $pf = 1 ] || continue
	say "Postfix, $c: warm-up only, then $n messages"
	postfix_run "$c" 0 "$tmp/postfix/$c-a"
	postfix_run "$c" "$n" "$tmp/postfix/$c-b"
	echo "RESULT name=postfix_instr_smtp_$c msgs=$n $(per_message "$tmp/postfix/$c-a" "$tmp/postfix/$c-b" "$n" "Postfix $c")"
	annotate "$tmp/postfix/$c-b" "Postfix $c"
done
protos=${MBOX-pop3 imap}
if [ -n "$protos" ]; then
	# the SMTP cases above filled bench@'s Maildir; top it up to N
	have=$(count_new "$ymail")
	[ "$have" -ge "$n" ] || yubin_run session $((n - have)) "$tmp/yubin/fill"
	dv=0
	dovecot_setup && dv=1
	for p in $protos; do
		what=$([ "$p" = pop3 ] && echo "POP3 RETR" || echo "IMAP FETCH BODY.PEEK[]")
		say "yubin: warm-up session, then $what of $n messages"
		# a first run only primes the mailbox (new/ to cur/, caches), so
		# that both measured runs find it in the same state
		yubin_mbox_run "$p" 0 "$tmp/yubin/$p-prime"
		yubin_mbox_run "$p" 0 "$tmp/yubin/$p-a"
		yubin_mbox_run "$p" "$n" "$tmp/yubin/$p-b"
		row=$(per_message "$tmp/yubin/$p-a" "$tmp/yubin/$p-b" "$n" "yubin $p")
		echo "RESULT name=yubin_instr_${p}_fetch msgs=$n $row"
		annotate "$tmp/yubin/$p-b" "yubin $p"
		[ $dv = 1 ] || continue
		say "Dovecot: warm-up session, then $what of $n messages"
		dovecot_run "$p" 0 "$tmp/dovecot/$p-prime"
		dovecot_run "$p" 0 "$tmp/dovecot/$p-a"
		dovecot_run "$p" "$n" "$tmp/dovecot/$p-b"
		row=$(per_message "$tmp/dovecot/$p-a" "$tmp/dovecot/$p-b" "$n" "Dovecot $p")
		echo "RESULT name=dovecot_instr_${p}_fetch msgs=$n $row"
		annotate "$tmp/dovecot/$p-b" "Dovecot $p"
	done
fi
exit 0
