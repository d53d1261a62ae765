/* esmtp.h — the parameters after MAIL FROM:<...> and RCPT TO:<...>
 * (RFC 5321 4.1.2 esmtp-param) and the values the extensions give them:
 * SIZE (RFC 1870), NOTIFY and ORCPT and ENVID in xtext (RFC 3461). Shared
 * by yubin-smtpd (parsing) and yubin-remote (xtext when relaying DSN
 * requests). Everything takes (pointer, length); nothing is NUL-bound. */
#ifndef YUBIN_ESMTP_H
#define YUBIN_ESMTP_H

#include <stddef.h>

struct buf;

struct esmtp_param {
	const char *key;
	size_t klen;
	const char *val;     /* NULL when the parameter has no "=value" */
	size_t vlen;
};

/* Next parameter of p[*pos..n) (spaces between them skipped). 1 with *out
 * set and *pos advanced, 0 at the end, -1 malformed (bad keyword, empty or
 * bad value). */
int esmtp_param_next(const char *p, size_t n, size_t *pos, struct esmtp_param *out);
/* 1 when the keyword is name (ASCII case-insensitive) */
int esmtp_key_is(const struct esmtp_param *pa, const char *name);

/* SIZE=digits, at most 18 of them. 0 or -1. */
int esmtp_size_parse(const char *p, size_t n, long long *out);
/* The argument of BDAT (RFC 3030): chunk-size [SP "LAST"]. 0 with *size
 * and *last set; -1 when no size can be read (not digits, or above
 * 2^63-1): the chunk cannot be skipped, so the session cannot go on; -2
 * when the size is good but the rest is not (the chunk can be skipped). */
int esmtp_bdat_parse(const char *p, size_t n, unsigned long long *size, int *last);
/* NOTIFY=NEVER or a comma list of SUCCESS, FAILURE, DELAY (no repeats,
 * NEVER alone); out gets the canonical upper-case list. 0 or -1. */
int esmtp_notify_parse(const char *p, size_t n, char *out, size_t max);
/* xtext: printable ASCII except '+' and '=', and "+XX" (upper-case hex).
 * Decoding refuses malformed text and any control byte in the result,
 * so a decoded value is always safe in a queue file record. 0 or -1. */
int xtext_decode(const char *p, size_t n, struct buf *out);
int xtext_encode(const char *p, size_t n, struct buf *out);
/* ORCPT=addr-type;xtext -> "addr-type;decoded" (addr-type as given,
 * an atom). 0 or -1. */
int esmtp_orcpt_parse(const char *p, size_t n, struct buf *out);

#endif
