/* reply.c — read one SMTP reply (possibly multi-line) from a server, with
 * a timeout, bounded in lines and bytes; and send commands. A reply that
 * does not follow RFC 5321's "NNN[ -]text" shape counts as no reply: the
 * caller treats the server as broken. Text is kept printable so it can
 * travel in a deliver.h result line and in the log. */
#include "remote.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define LINE_MAX_SMTP 2048
#define LINES_MAX 200

static void append(char *dst, size_t max, size_t *len, const char *p, size_t n)
{
	for (size_t i = 0; i < n && *len + 1 < max; i++) {
		unsigned char ch = (unsigned char)p[i];
		dst[(*len)++] = (ch < 0x20 || ch >= 0x7f) ? '?' : (char)ch;
	}
	dst[*len] = 0;
}

int reply_read(struct conn *c, int timeout_s, struct reply *rp)
{
	char line[LINE_MAX_SMTP];
	size_t tl = 0, ll = 0;
	rp->code = 0;
	rp->io = IO_OK;
	rp->text[0] = rp->lines[0] = 0;
	c->r.timeout_ms = timeout_s > 0 ? timeout_s * 1000 : 1;
	for (int n = 0; n < LINES_MAX; n++) {
		size_t len;
		int st = rbuf_getline(&c->r, line, sizeof line, &len, NULL);
		if (st != IO_OK) {
			rp->io = st == IO_EOF ? IO_EOF : st;
			rp->code = 0;
			c->broken = 1;
			return -1;
		}
		if (len < 3 || !isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
		    !isdigit((unsigned char)line[2]) || line[0] < '2' || line[0] > '5' ||
		    (len > 3 && line[3] != ' ' && line[3] != '-')) {
			rp->io = IO_ERR;
			rp->code = 0;
			c->broken = 1;
			return -1;
		}
		int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
		if (n > 0 && code != rp->code) { rp->io = IO_ERR; rp->code = 0; c->broken = 1; return -1; }
		rp->code = code;
		if (tl) append(rp->text, sizeof rp->text, &tl, " ", 1);
		append(rp->text, sizeof rp->text, &tl, line, len);
		if (len > 4) {
			if (ll + (len - 4) + 2 < sizeof rp->lines) {
				append(rp->lines, sizeof rp->lines, &ll, line + 4, len - 4);
				rp->lines[ll++] = '\n';
				rp->lines[ll] = 0;
			}
		}
		if (len == 3 || line[3] == ' ') return 0;
	}
	rp->io = IO_LONG;
	rp->code = 0;
	c->broken = 1;
	return -1;
}

void reply_status(const struct reply *rp, char *st)
{
	const char *t = rp->text;
	size_t n = strlen(t), i = 4, dots = 0, digits = 0;
	int ok = n > 4 && t[4] == (char)('0' + rp->code / 100);
	for (; ok && i < n && i < 4 + 7 && t[i] != ' '; i++) {
		if (t[i] == '.') {
			if (!digits) ok = 0;
			dots++;
			digits = 0;
		} else if (isdigit((unsigned char)t[i])) {
			if (++digits > 3) ok = 0;
		} else {
			ok = 0;
		}
	}
	if (ok && dots == 2 && digits && (i == n || t[i] == ' ') && i - 4 < 8) {
		memcpy(st, t + 4, i - 4);
		st[i - 4] = 0;
		return;
	}
	int cls = rp->code / 100;
	st[0] = (char)('0' + (cls >= 2 && cls <= 5 ? cls : 4));
	memcpy(st + 1, ".0.0", 5);
}

int cmd_send(struct conn *c, const char *s, size_t n)
{
	return wbuf_put(&c->w, s, n);
}

void fail_set(struct fail *f, int perm, const char *status, const char *fmt, ...)
{
	va_list ap;
	f->perm = perm;
	snprintf(f->status, sizeof f->status, "%s", status);
	va_start(ap, fmt);
	vsnprintf(f->text, sizeof f->text, fmt, ap);
	va_end(ap);
	for (char *p = f->text; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f) *p = '?';
}

void textf(char *dst, size_t max, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dst, max, fmt, ap);
	va_end(ap);
}
