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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "control.h"
#include "log.h"

static struct session session;

/* answer before the session starts, and let the front end carry on */
static void refuse(const char *line)
{
	char b[256];
	int n = snprintf(b, sizeof b, "%s\r\n", line);
	if (n > 0 && (size_t)n < sizeof b) (void)write_all(1, b, (size_t)n);
	_exit(POP3_EXIT_ANSWERED);
}

/* On a socket (not yubin-tlsd's pipes) the kernel keeps the idle timeout
 * (SO_RCVTIMEO, SO_SNDTIMEO): each command then costs one read and one
 * write, no poll. Replies go out whole, so Nagle would only delay the
 * tail of a big message: TCP_NODELAY. */
static void socket_setup(struct session *s)
{
	struct timeval tv = { .tv_sec = s->timeout_ms / 1000, .tv_usec = (s->timeout_ms % 1000) * 1000 };
	int one = 1;
	if (setsockopt(0, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 &&
	    setsockopt(1, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0) {
		s->sock_timeouts = 1;
		rbuf_init(&s->in, 0, 0);
		(void)setsockopt(1, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
}

static void lock_mailbox(struct session *s)
{
	int fd = open(POP3_LOCKFILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		log_sys("user=<%s>: cannot open %s", s->user, POP3_LOCKFILE);
		refuse("-ERR [SYS/TEMP] Cannot lock the mailbox.");
	}
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR) continue;
		if (errno == EWOULDBLOCK) {
			log_msg("in use: user=<%s>", s->user);
			refuse("-ERR [IN-USE] Mailbox is locked by another POP3 session.");
		}
		log_sys("user=<%s>: cannot lock %s", s->user, POP3_LOCKFILE);
		refuse("-ERR [SYS/TEMP] Cannot lock the mailbox.");
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
	s->timeout_ms = timeout_ms;
	rbuf_init(&s->in, 0, timeout_ms);
	s->user = getenv("YUBIN_LOGIN");
	if (!s->user || !*s->user) s->user = getenv("USER");
	if (!s->user || !*s->user) s->user = "?";
	lock_mailbox(s);
	if (mbox_scan(&s->box) < 0) {
		log_sys("user=<%s>: cannot read the Maildir", s->user);
		refuse("-ERR [SYS/TEMP] Cannot open the mailbox.");
	}
	socket_setup(s);
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
