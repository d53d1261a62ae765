/* reply.c — what yubin-imap writes: untagged and tagged responses on the
 * buffered client stream, the capability list, and the session's end. */
#include "imap.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Everything advertised here is implemented; keep it that way. */
const char *capabilities(void)
{
	return "IMAP4rev1 LITERAL+ ID ENABLE IDLE NAMESPACE UNSELECT UIDPLUS MOVE "
	       "CHILDREN SPECIAL-USE LIST-EXTENDED LIST-STATUS ESEARCH SEARCHRES "
	       "SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES MULTIAPPEND";
}

void out_put(struct session *s, const void *p, size_t n)
{
	if (wbuf_put(&s->out, p, n) < 0) {
		log_msg("user=<%s> connection lost while writing", s->user);
		_exit(0);
	}
}

void out_puts(struct session *s, const char *str) { out_put(s, str, strlen(str)); }
void out_buf(struct session *s, const struct buf *b) { out_put(s, b->s, b->len); }

void out_flush(struct session *s)
{
	if (wbuf_flush(&s->out) < 0) {
		log_msg("user=<%s> connection lost while writing", s->user);
		_exit(0);
	}
}

static void vline(struct session *s, const char *prefix, size_t plen, const char *status,
                  const char *fmt, va_list ap)
{
	char text[4096];
	int n = vsnprintf(text, sizeof text, fmt, ap);
	if (n < 0) n = 0;
	if ((size_t)n >= sizeof text) n = sizeof text - 1;
	out_put(s, prefix, plen);
	out_put(s, " ", 1);
	if (status) {
		out_puts(s, status);
		out_put(s, " ", 1);
	}
	out_put(s, text, (size_t)n);
	out_put(s, "\r\n", 2);
}

void untagged(struct session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline(s, "*", 1, NULL, fmt, ap);
	va_end(ap);
}

void tagged(struct session *s, const char *status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline(s, s->tag ? s->tag : "*", s->tag ? s->taglen : 1, status, fmt, ap);
	va_end(ap);
}

void bad(struct session *s, const char *text) { tagged(s, "BAD", "%s", text); }
void no(struct session *s, const char *text) { tagged(s, "NO", "%s", text); }

void bye_exit(struct session *s, const char *text)
{
	untagged(s, "BYE %s", text);
	wbuf_flush(&s->out);
	_exit(0);
}
