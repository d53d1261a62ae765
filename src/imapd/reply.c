/* reply.c — writing to the client before login: lines, tagged replies,
 * the pre-login capability list, and BYE. */
#include "imapd.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"

const char *capabilities(struct imapd *s)
{
	/* AUTH= and LOGIN only where a password may travel (LOGINDISABLED
	 * otherwise); STARTTLS while TLS can still start */
	if (s->plaintext_ok)
		return s->tls || !s->tls_offered
		       ? "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE AUTH=PLAIN AUTH=LOGIN"
		       : "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE STARTTLS AUTH=PLAIN AUTH=LOGIN";
	return s->tls_offered ? "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE STARTTLS LOGINDISABLED"
	                      : "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE LOGINDISABLED";
}

static void vsay(struct imapd *s, const char *tag, size_t taglen, const char *status, const char *fmt, va_list ap)
{
	char line[2048];
	int n = vsnprintf(line, sizeof line, fmt, ap);
	if (n < 0) n = 0;
	if ((size_t)n >= sizeof line) n = sizeof line - 1;
	if (tag) {
		wbuf_put(&s->out, tag, taglen);
		wbuf_put(&s->out, " ", 1);
		wbuf_puts(&s->out, status);
		wbuf_put(&s->out, " ", 1);
	}
	wbuf_put(&s->out, line, (size_t)n);
	wbuf_put(&s->out, "\r\n", 2);
}

void say(struct imapd *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(s, NULL, 0, NULL, fmt, ap);
	va_end(ap);
}

void reply(struct imapd *s, const char *status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (s->tag) vsay(s, s->tag, s->taglen, status, fmt, ap);
	else vsay(s, "*", 1, status, fmt, ap);
	va_end(ap);
}

void flush(struct imapd *s)
{
	if (wbuf_flush(&s->out) < 0) _exit(0);
}

void bye(struct imapd *s, const char *text)
{
	say(s, "* BYE %s", text);
	wbuf_flush(&s->out);
	_exit(0);
}
