/* reply.c — the front end's replies. Replies are buffered and flushed
 * only when no pipelined command is waiting (RFC 2449 PIPELINING), so a
 * client that sends a batch gets its answers in one write. A client that
 * went away ends the process quietly. */
#include "pop3d.h"

#include <string.h>
#include <unistd.h>

#include "log.h"

void reply(struct pop3d *s, const char *line)
{
	if (wbuf_puts(&s->out, line) < 0 || wbuf_put(&s->out, "\r\n", 2) < 0)
		_exit(0);
}

void reply_flush(struct pop3d *s)
{
	if (rbuf_pending(&s->in)) return;
	if (wbuf_flush(&s->out) < 0) _exit(0);
}

void reply_die(struct pop3d *s, const char *line)
{
	reply(s, line);
	(void)wbuf_flush(&s->out);
	_exit(0);
}
