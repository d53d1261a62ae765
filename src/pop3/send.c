/* send.c — a message on the wire (RFC 1939 RETR and TOP): lines end in
 * CRLF whatever the file holds, a line starting with '.' gets one more,
 * a last line without LF is ended, and ".\r\n" closes the answer. TOP
 * sends the header, the blank line and the first maxbody body lines.
 * The converted text goes straight into the reply buffer after the
 * status line, so a RETR is one write (the buffer is written out every
 * POP3_OUT_FLUSH bytes: memory does not grow with the message). */
#include "pop3.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

struct conv {
	int bol, cr, header;
	size_t linelen;
	size_t stuffed;                 /* dots added */
	long long body, maxbody;
};

/* n bytes of the file into dst; 1 once TOP has its lines, 0 for more */
static int convert(struct conv *c, struct buf *dst, const char *p, size_t n)
{
	const char *end = p + n;
	/* worst case: every byte a LF (2 out) plus a stuffed dot */
	if (n > ((size_t)1 << 30) || buf_ready(dst, 2 * n + 2) < 0) return -1;
	char *o = dst->s + dst->len;
	int stop = 0;
	while (p < end) {
		if (c->bol) {
			if (c->maxbody >= 0 && !c->header && c->body >= c->maxbody) { stop = 1; break; }
			if (*p == '.') { *o++ = '.'; c->stuffed++; }
			c->bol = 0;
			c->linelen = 0;
		}
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *seg = nl ? nl : end;
		if (seg > p) {
			memcpy(o, p, (size_t)(seg - p));
			o += seg - p;
			c->linelen += (size_t)(seg - p);
			c->cr = seg[-1] == '\r';
		}
		if (!nl) break;
		if (!c->cr) *o++ = '\r';
		*o++ = '\n';
		if (c->header) {
			if (c->linelen == (size_t)c->cr) c->header = 0;  /* the blank line */
		} else {
			c->body++;
		}
		c->bol = 1;
		c->cr = 0;
		p = nl + 1;
	}
	dst->len = (size_t)(o - dst->s);
	dst->s[dst->len] = 0;
	return stop;
}

static int finish(struct conv *c, struct buf *dst)
{
	if (!c->bol && buf_add(dst, "\r\n", 2) < 0) return -1;
	return buf_add(dst, ".\r\n", 3);
}

/* The whole message of fd into the reply buffer, written out as it
 * fills. expect is the size LIST gave, or 0 for TOP: a short read that
 * brings the text to exactly that size is the end of the file, which
 * saves the read that would return 0 (a syscall costs as much as the
 * rest of a RETR's own work here). 0, -1 read error, -2 out of memory. */
static int convert_fd(struct session *s, int fd, long long maxbody, unsigned long long expect)
{
	struct buf *dst = &s->out;
	static char chunk[65536];
	struct conv c = { .bol = 1, .header = 1, .maxbody = maxbody };
	unsigned long long sent = 0;   /* bytes as LIST counts them: no stuffing */
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0) return -1;
		if (n == 0) break;
		size_t before = dst->len, dots = c.stuffed;
		int r = convert(&c, dst, chunk, (size_t)n);
		if (r < 0) return -2;
		if (r > 0) break;
		sent += (dst->len - before) - (c.stuffed - dots);
		if (expect && (size_t)n < sizeof chunk && sent + (c.bol ? 0 : 2) == expect) break;
		if (dst->len >= POP3_OUT_FLUSH) reply_write(s);
	}
	return finish(&c, dst) < 0 ? -2 : 0;
}

void send_message(struct session *s, size_t i, long long maxbody)
{
	int fd = msg_open(&s->box, i);
	if (fd < 0) {
		log_sys("cannot open %s", msg_name(&s->box, i));
		reply(s, "-ERR [SYS/TEMP] Message was removed or cannot be read.");
		return;
	}
	if (maxbody < 0) replyf(s, "+OK %llu octets", s->box.m[i].size);
	else reply(s, "+OK");
	int r = convert_fd(s, fd, maxbody, maxbody < 0 ? s->box.m[i].size : 0);
	if (r == -1) {
		/* half a message was sent: the client must not take it as whole */
		log_sys("cannot read %s", msg_name(&s->box, i));
		close(fd);
		session_end(s, "read error");
	}
	close(fd);
	if (r < 0) session_end(s, "out of memory");
}
