/* buf.c — growable bounded byte strings (see buf.h). */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_DEFAULT_MAX ((size_t)64 << 20)

int buf_ready(struct buf *b, size_t extra)
{
	size_t need, max = b->max ? b->max : BUF_DEFAULT_MAX;
	if (__builtin_add_overflow(b->len, extra, &need) || need > max) {
		errno = E2BIG;
		return -1;
	}
	need += 1; /* room for the terminating NUL */
	if (need <= b->cap) return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		if (__builtin_mul_overflow(cap, 2, &cap)) { errno = ENOMEM; return -1; }
	char *s = realloc(b->s, cap);
	if (!s) return -1;
	b->s = s;
	b->cap = cap;
	return 0;
}

int buf_add(struct buf *b, const void *p, size_t n)
{
	if (buf_ready(b, n) < 0) return -1;
	if (n) memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = 0;
	return 0;
}

int buf_adds(struct buf *b, const char *s) { return buf_add(b, s, strlen(s)); }
int buf_addc(struct buf *b, char c) { return buf_add(b, &c, 1); }

int buf_addnum(struct buf *b, unsigned long long n)
{
	char tmp[24];
	size_t i = sizeof tmp;
	do { tmp[--i] = (char)('0' + n % 10); n /= 10; } while (n);
	return buf_add(b, tmp + i, sizeof tmp - i);
}

int buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_ready(b, (size_t)n) < 0) return -1;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

int buf_set(struct buf *b, const void *p, size_t n)
{
	b->len = 0;
	return buf_add(b, p, n);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->s) b->s[0] = 0;
}

void buf_free(struct buf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}
