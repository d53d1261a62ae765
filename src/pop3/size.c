/* size.c — a message's size as POP3 sends it: every line ends in CRLF
 * (bare LF counts one byte more), a last line without LF gets a CRLF, and
 * dot-stuffing is not counted (RFC 1939 sizes, as Dovecot reports them).
 * Counting needs one read of the file; a ",W=" field in the name (Maildir++)
 * saves it, and so does the session's size cache (sizecache.c). */
#include "pop3.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int size_of_fd(int fd, unsigned long long *size)
{
	static char chunk[65536];
	unsigned long long bytes = 0, bare_lf = 0;
	char last = '\n';   /* last byte of the previous chunk */
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0) return -1;
		if (n == 0) break;
		const char *p = chunk, *end = chunk + n;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			if (!nl) break;
			char prev = nl > chunk ? nl[-1] : last;
			if (prev != '\r') bare_lf++;
			p = nl + 1;
		}
		last = chunk[n - 1];
		bytes += (unsigned long long)n;
	}
	*size = bytes + bare_lf + (bytes && last != '\n' ? 2 : 0);
	return 0;
}

/* ",W=<digits>" in the unique part of a Maildir name (before ':') */
int size_from_name(const char *name, size_t n, unsigned long long *size)
{
	const char *colon = memchr(name, ':', n);
	size_t end = colon ? (size_t)(colon - name) : n;
	for (size_t i = 0; i + 3 < end; i++) {
		if (name[i] != ',' || name[i + 1] != 'W' || name[i + 2] != '=') continue;
		unsigned long long v = 0;
		size_t j = i + 3;
		if (j >= end || name[j] < '0' || name[j] > '9') return -1;
		for (; j < end && name[j] >= '0' && name[j] <= '9'; j++)
			if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (unsigned)(name[j] - '0'), &v))
				return -1;
		if (j < end && name[j] != ',') return -1;
		*size = v;
		return 0;
	}
	return -1;
}
