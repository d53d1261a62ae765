/* send.c — a message on the wire (RFC 1939 RETR and TOP): lines end in
 * CRLF whatever the file holds, a line starting with '.' gets one more,
 * a last line without LF is ended, and ".\r\n" closes the answer. TOP
 * sends the header, the blank line and the first maxbody body lines.
 * The file is streamed in chunks: memory does not grow with its size. */
#include "pop3.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static void put(struct session *s, const char *p, size_t n)
{
	if (wbuf_put(&s->out, p, n) < 0) session_end(s, "write error");
}

int send_message(struct session *s, int fd, long long maxbody)
{
	static char chunk[65536];
	int bol = 1, cr = 0, header = 1, stop = 0;
	size_t linelen = 0;
	long long body = 0;
	while (!stop) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0) return -1;
		if (n == 0) break;
		const char *p = chunk, *end = chunk + n;
		while (p < end) {
			if (bol) {
				if (maxbody >= 0 && !header && body >= maxbody) { stop = 1; break; }
				if (*p == '.') put(s, ".", 1);
				bol = 0;
				linelen = 0;
			}
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			const char *seg = nl ? nl : end;
			if (seg > p) {
				put(s, p, (size_t)(seg - p));
				linelen += (size_t)(seg - p);
				cr = seg[-1] == '\r';
			}
			if (!nl) { p = end; break; }
			put(s, cr ? "\n" : "\r\n", cr ? 1 : 2);
			if (header) {
				if (linelen == (size_t)cr) header = 0;  /* the blank line */
			} else {
				body++;
			}
			bol = 1;
			cr = 0;
			p = nl + 1;
		}
	}
	if (!bol) put(s, "\r\n", 2);
	put(s, ".\r\n", 3);
	return 0;
}
