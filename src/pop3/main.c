/* main.c — yubin-pop3: the mailbox session. yubin-checkpassword runs it
 * as the mailbox owner, chdir'd into the Maildir, with USER (or
 * YUBIN_LOGIN) set and the client on fds 0/1. One session per mailbox:
 * an flock on yubin-pop3.lock, which the kernel drops however the process
 * ends (kill -9 included). Pipelined input the front end had already read
 * arrives hex-encoded in YUBIN_POP3_INPUT. */
#include "pop3.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "control.h"
#include "log.h"

static struct session session;

/* answer before the session starts, and let the front end carry on */
static void refuse(struct session *s, const char *line)
{
	if (wbuf_puts(&s->out, line) == 0 && wbuf_put(&s->out, "\r\n", 2) == 0)
		(void)wbuf_flush(&s->out);
	_exit(POP3_EXIT_ANSWERED);
}

static void lock_mailbox(struct session *s)
{
	int fd = open(POP3_LOCKFILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		log_sys("user=<%s>: cannot open %s", s->user, POP3_LOCKFILE);
		refuse(s, "-ERR [SYS/TEMP] Cannot lock the mailbox.");
	}
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR) continue;
		if (errno == EWOULDBLOCK) {
			log_msg("in use: user=<%s>", s->user);
			refuse(s, "-ERR [IN-USE] Mailbox is locked by another POP3 session.");
		}
		log_sys("user=<%s>: cannot lock %s", s->user, POP3_LOCKFILE);
		refuse(s, "-ERR [SYS/TEMP] Cannot lock the mailbox.");
	}
	/* fd stays open for the life of the process: that is the lock */
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	return -1;
}

/* the front end's read-ahead becomes the start of our input buffer */
static void take_pipelined(struct session *s)
{
	const char *hex = getenv("YUBIN_POP3_INPUT");
	size_t n = hex ? strlen(hex) : 0;
	if (n && n % 2 == 0 && n / 2 <= sizeof s->in.buf) {
		size_t i;
		for (i = 0; i < n / 2; i++) {
			int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
			if (hi < 0 || lo < 0) break;
			s->in.buf[i] = (char)(hi << 4 | lo);
		}
		if (i == n / 2) { s->in.pos = 0; s->in.len = i; }
	}
	unsetenv("YUBIN_POP3_INPUT");
}

int main(int argc, char **argv)
{
	struct session *s = &session;
	(void)argc;
	log_init(argv[0] ? argv[0] : "yubin-pop3");
	signal(SIGPIPE, SIG_IGN);
	long long t = control_time("pop3d_timeout");
	int timeout_ms = t > 0 && t < 86400 ? (int)(t * 1000) : 600000;
	rbuf_init(&s->in, 0, timeout_ms);
	wbuf_init(&s->out, 1, timeout_ms);
	s->user = getenv("YUBIN_LOGIN");
	if (!s->user || !*s->user) s->user = getenv("USER");
	if (!s->user || !*s->user) s->user = "?";
	lock_mailbox(s);
	if (mbox_scan(&s->box) < 0) {
		log_sys("user=<%s>: cannot read the Maildir", s->user);
		refuse(s, "-ERR [SYS/TEMP] Cannot open the mailbox.");
	}
	take_pipelined(s);
	const char *rip = getenv("TCPREMOTEIP");
	if (!rip || !*rip) rip = getenv("REMOTE_ADDR");
	const char *mech = getenv("YUBIN_AUTH_MECH"), *tls = getenv("YUBIN_TLS");
	log_msg("login user=<%s> rip=%s mech=%s tls=%s pid=%ld messages=%zu size=%llu", s->user,
	        rip && *rip ? rip : "unknown", mech ? mech : "-", tls && *tls == '1' ? "yes" : "no",
	        (long)getpid(), s->box.n, s->box.total);
	replyf(s, "+OK Logged in.");
	commands_loop(s);
}
