/* reply.c — replies of the mailbox session, flushed only when no
 * pipelined command waits, and the one way a session ends: a logout line
 * in Dovecot's shape (top/retr counts and bytes, deletions, mailbox size),
 * then exit 0 so the front end knows the session ran. */
#include "pop3.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"

void reply(struct session *s, const char *line)
{
	if (wbuf_puts(&s->out, line) < 0 || wbuf_put(&s->out, "\r\n", 2) < 0)
		session_end(s, "write error");
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

void reply_flush(struct session *s)
{
	if (rbuf_pending(&s->in)) return;
	if (wbuf_flush(&s->out) < 0) session_end(s, "write error");
}

void session_end(struct session *s, const char *why)
{
	static int ending;
	if (!ending) {
		ending = 1;
		(void)wbuf_flush(&s->out);
		log_msg("logout user=<%s> top=%lu/%llu, retr=%lu/%llu, del=%zu/%zu, size=%llu%s%s",
		        s->user, s->top_n, s->top_bytes, s->retr_n, s->retr_bytes,
		        s->box.ndel, s->box.n, s->box.total, why ? ", reason=" : "", why ? why : "");
	}
	_exit(0);
}
