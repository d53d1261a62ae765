/* buf.h — growable byte strings with a hard size cap.
 * Every append checks for overflow and for the cap and returns -1 (errno
 * ENOMEM or E2BIG) instead of growing past it, so a buffer fed from the
 * network is bounded by construction. Contents are always NUL-terminated
 * for convenience, but len is the truth: data may contain NULs. */
#ifndef YUBIN_BUF_H
#define YUBIN_BUF_H

#include <stddef.h>

struct buf {
	char *s;
	size_t len;
	size_t cap;   /* allocated bytes */
	size_t max;   /* hard limit on len; 0 means 64 MiB */
};

#define BUF_INIT { 0, 0, 0, 0 }

int buf_ready(struct buf *b, size_t extra);
int buf_add(struct buf *b, const void *p, size_t n);
int buf_adds(struct buf *b, const char *s);
int buf_addc(struct buf *b, char c);
int buf_addnum(struct buf *b, unsigned long long n);
int buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_set(struct buf *b, const void *p, size_t n);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

#endif
