/* reply.c — replies of the mailbox session, collected in one buffer and
 * written when no pipelined command waits (one write per RETR: status
 * line and message together), and the one way a session ends: a logout
 * line in Dovecot's shape (top/retr counts and bytes, deletions, mailbox
 * size), then exit 0 so the front end knows the session ran. */
#include "pop3.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"

void reply(struct session *s, const char *line)
{
	if (buf_adds(&s->out, line) < 0 || buf_add(&s->out, "\r\n", 2) < 0)
		session_end(s, "out of memory");
}

void replyf(struct session *s, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0) line[0] = 0;
	reply(s, line);
}

/* A socket carries SO_SNDTIMEO (main.c), so write blocks at most the idle
 * timeout by itself; a pipe (yubin-tlsd's) is polled first. */
static int out_write(struct session *s)
{
	const char *p = s->out.s;
	size_t n = s->out.len;
	while (n) {
		if (!s->sock_timeouts) {
			struct pollfd pf = { .fd = 1, .events = POLLOUT };
			int r = poll(&pf, 1, s->timeout_ms);
			if (r < 0 && errno == EINTR) continue;
			if (r <= 0) return -1;
		}
		ssize_t k = write(1, p, n);
		if (k < 0 && errno == EINTR) continue;
		if (k <= 0) return -1;   /* EAGAIN here is SO_SNDTIMEO's timeout */
		p += k;
		n -= (size_t)k;
	}
	s->out.len = 0;
	return 0;
}

void reply_write(struct session *s)
{
	if (s->out.len && out_write(s) < 0) {
		s->out.len = 0;
		session_end(s, "write error");
	}
}

void reply_flush(struct session *s)
{
	if (!rbuf_pending(&s->in)) reply_write(s);
}

void session_end(struct session *s, const char *why)
{
	static int ending;
	if (!ending) {
		ending = 1;
		if (s->out.len) (void)out_write(s);
		log_msg("logout user=<%s> top=%lu/%llu, retr=%lu/%llu, del=%zu/%zu, size=%llu%s%s",
		        s->user, s->top_n, s->top_bytes, s->retr_n, s->retr_bytes,
		        s->box.ndel, s->box.n, s->box.total, why ? ", reason=" : "", why ? why : "");
	}
	_exit(0);
}
