/* body.c — copy the body from stdin to yubin-queue unchanged except for
 * line endings (CRLF -> LF) and, without -i, the end at a line holding
 * only ".". Lines of any length pass through: nothing is split. */
#include "sendmail.h"
#include "io.h"
#include "qclient.h"

int body_copy(struct rbuf *r, struct qclient *q, int dot_ends)
{
	char out[IO_BUFSIZE];
	size_t o = 0;
	int bol = 1, cr = 0, dot = 0; /* at line start; a CR held back; a "." held back at bol */
	for (;;) {
		ssize_t got = rbuf_fill(r);
		if (got <= 0) break;
		const char *p = r->buf + r->pos;
		r->pos += (size_t)got;
		for (ssize_t i = 0; i < got; i++) {
			char c = p[i];
			if (o + 4 > sizeof out) {
				if (qclient_write(q, out, o) < 0) return -1;
				o = 0;
			}
			if (cr) { /* a CR is dropped only before LF */
				cr = 0;
				if (c != '\n') { if (dot) { out[o++] = '.'; dot = 0; } out[o++] = '\r'; bol = 0; }
			}
			if (c == '\r') { cr = 1; continue; }
			if (dot) {
				dot = 0;
				if (c == '\n') return qclient_write(q, out, o); /* "." alone: the end */
				out[o++] = '.';
			} else if (bol && dot_ends && c == '.') {
				dot = 1;
				continue;
			}
			out[o++] = c;
			bol = c == '\n';
		}
	}
	if (dot) out[o++] = '.';
	if (cr) out[o++] = '\r';
	if (o && out[o - 1] != '\n') out[o++] = '\n'; /* a final line without LF */
	return qclient_write(q, out, o);
}
