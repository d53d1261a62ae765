/* message.c — what every delivery does with the message: the results it
 * reports, the Delivered-To loop check (RFC 9228's rule: a message that
 * already says Delivered-To: this address is looping), the header lines
 * prepended to each copy, and the Maildir delivery itself. */
#include "local.h"
#include "maildir.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define HEADER_SCAN_MAX (1 << 20)   /* Delivered-To lines are looked for this far */

static void vresult(struct result *r, char status, const char *code, const char *fmt, va_list ap)
{
	r->status = status;
	snprintf(r->code, sizeof r->code, "%s", code);
	int n = vsnprintf(r->text, sizeof r->text, fmt, ap);
	if (n < 0) r->text[0] = 0;
	/* one line for qmgr, whatever a program printed */
	for (char *p = r->text; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = ' ';
}

void result_set(struct result *r, char status, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vresult(r, status, code, fmt, ap);
	va_end(ap);
}

static int rank(char s) { return s == 'Z' ? 2 : s == 'D' ? 1 : 0; }

void result_merge(struct result *r, const struct result *o, int *have)
{
	if (!*have || rank(o->status) > rank(r->status)) *r = *o;
	*have = 1;
}

void result_errno(struct result *r, int err, const char *fmt, ...)
{
	char what[600];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (n < 0) what[0] = 0;
	if (err == ENOSPC)
		result_set(r, 'Z', "4.3.1", "%s: %s (mail system full)", what, strerror(err));
	else if (err == EDQUOT || err == EFBIG)
		result_set(r, 'D', "5.2.2", "%s: %s (mailbox full)", what, strerror(err));
	else
		result_set(r, 'Z', "4.3.0", "%s: %s", what, strerror(err));
}

/* 1 when line (without LF) is "Delivered-To: addr" (case-insensitive) */
static int is_our_dt(const char *line, size_t n, const char *addr)
{
	static const char tag[] = "delivered-to:";
	if (n < sizeof tag - 1 || strncasecmp(line, tag, sizeof tag - 1) != 0) return 0;
	size_t b = sizeof tag - 1, e = n;
	while (b < e && (line[b] == ' ' || line[b] == '\t')) b++;
	while (e > b && (line[e - 1] == ' ' || line[e - 1] == '\t' || line[e - 1] == '\r')) e--;
	return e - b == strlen(addr) && strncasecmp(line + b, addr, e - b) == 0;
}

int msg_loop_check(const struct message *m, const char *addr)
{
	char buf[65536];
	size_t have = 0;
	off_t pos = 0;
	for (;;) {
		if (have < sizeof buf && pos < m->len && pos < HEADER_SCAN_MAX) {
			size_t want = sizeof buf - have;
			if ((off_t)want > m->len - pos) want = (size_t)(m->len - pos);
			ssize_t k = pread(m->fd, buf + have, want, m->off + pos);
			if (k < 0 && errno == EINTR) continue;
			if (k < 0) return -1;
			if (k == 0) { errno = EIO; return -1; }
			have += (size_t)k;
			pos += k;
		}
		/* whole lines in buf */
		size_t i = 0;
		for (;;) {
			const char *nl = memchr(buf + i, '\n', have - i);
			if (!nl) break;
			size_t n = (size_t)(nl - (buf + i));
			if (n == 0 || (n == 1 && buf[i] == '\r')) return 0; /* end of header */
			if (is_our_dt(buf + i, n, addr)) return 1;
			i += n + 1;
		}
		if (i == 0 && have == sizeof buf) i = have; /* a huge line: not ours, skip it */
		memmove(buf, buf + i, have - i);
		have -= i;
		if (pos >= m->len || pos >= HEADER_SCAN_MAX) {
			/* last unterminated line */
			return have && is_our_dt(buf, have, addr);
		}
	}
}

int msg_head(char *out, size_t max, const struct message *m, const char *addr, int return_path)
{
	int n = return_path ? snprintf(out, max, "Return-Path: <%s>\nDelivered-To: %s\n", m->sender, addr)
	                    : snprintf(out, max, "Delivered-To: %s\n", addr);
	if (n < 0 || (size_t)n >= max) { errno = ENAMETOOLONG; return -1; }
	return n;
}

void deliver_maildir(const struct message *m, const char *addr, const char *dir, struct result *r)
{
	char head[2 * 4096 + 64], uniq[MAILDIR_NAME_MAX];
	int loop = msg_loop_check(m, addr);
	if (loop < 0) { result_errno(r, errno, "cannot read queue file %s", m->qid); return; }
	if (loop) { result_set(r, 'D', "5.4.6", "mail forwarding loop for %s", addr); return; }
	int hl = msg_head(head, sizeof head, m, addr, 1);
	if (hl < 0 || maildir_uniq(uniq, sizeof uniq, m->arrival, m->qid, addr, cfg.host) < 0) {
		result_set(r, 'D', "5.1.3", "address too long for a Maildir delivery");
		return;
	}
	struct maildir_src src = { head, (size_t)hl, m->fd, m->off, m->len };
	int k = maildir_deliver(dir, uniq, m->arrival, &src, NULL, 0);
	if (k < 0) result_errno(r, errno, "cannot deliver to maildir %s", dir);
	else if (k == 2) result_set(r, 'K', "2.0.0", "delivered to maildir (replacing a copy an earlier attempt left torn by a system crash)");
	else result_set(r, 'K', "2.0.0", k ? "delivered to maildir" : "delivered to maildir (found from an earlier attempt)");
}
