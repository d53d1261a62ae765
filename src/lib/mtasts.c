/* mtasts.c — MTA-STS parsers (see mtasts.h): the TXT record (RFC 8461
 * 3.1), the policy file (3.2), the HTTP response carrying it (3.3) and
 * the cache file. All of them read (pointer, length) input from the
 * network or from disk and reject rather than guess: a policy that is
 * not exactly understood is no policy, which RFC 8461 makes the safe
 * side (the sender then behaves as without MTA-STS). */
#include "mtasts.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_alnum(unsigned char c) { return is_alpha(c) || is_digit(c); }
static int is_wsp(unsigned char c) { return c == ' ' || c == '\t'; }
static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

__attribute__((format(printf, 3, 4)))
static int fail(char *why, size_t wmax, const char *fmt, ...)
{
	va_list ap;
	if (!wmax) return -1;
	va_start(ap, fmt);
	vsnprintf(why, wmax, fmt, ap);
	va_end(ap);
	return -1;
}

const char *sts_mode_name(int mode)
{
	return mode == STS_ENFORCE ? "enforce" : mode == STS_TESTING ? "testing" : "none";
}

int sts_txt_parse(const char *s, size_t n, char *id, size_t idmax)
{
	int have_id = 0;
	if (idmax) id[0] = 0;
	if (n < 7 || memcmp(s, "v=STSv1", 7) != 0) return 1;
	if (n > 7 && s[7] != ';' && !is_wsp((unsigned char)s[7])) return 1;   /* "v=STSv10" is another version */
	size_t i = 7;
	while (i < n) {
		while (i < n && is_wsp((unsigned char)s[i])) i++;
		if (i == n) break;
		if (s[i] != ';') return -1;
		i++;
		while (i < n && is_wsp((unsigned char)s[i])) i++;
		if (i == n) break;
		size_t nb = i;
		while (i < n && (is_alnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.')) i++;
		size_t nl = i - nb;
		if (nl == 0 || nl > 32 || !is_alnum((unsigned char)s[nb]) || i >= n || s[i] != '=') return -1;
		i++;
		size_t vb = i;
		while (i < n && (unsigned char)s[i] >= 0x21 && (unsigned char)s[i] <= 0x7e && s[i] != ';' && s[i] != '=')
			i++;
		size_t vl = i - vb;
		if (vl == 0) return -1;
		if (nl == 2 && memcmp(s + nb, "id", 2) == 0 && !have_id) {
			if (vl > 32 || vl >= idmax) return -1;
			for (size_t k = 0; k < vl; k++)
				if (!is_alnum((unsigned char)s[vb + k])) return -1;
			memcpy(id, s + vb, vl);
			id[vl] = 0;
			have_id = 1;
		}
	}
	return have_id ? 0 : -1;
}

/* "mx.example.com" or "*.example.com": LDH labels of 1-63, 253 in all */
static int pattern_copy(const char *v, size_t n, char *out)
{
	size_t i = 0, label = 0;
	if (n >= 2 && v[0] == '*' && v[1] == '.') i = 2;
	if (n - i == 0 || n - i > 253 || n >= STS_PATTERN_MAX) return -1;
	for (size_t k = i; k < n; k++) {
		unsigned char c = (unsigned char)v[k];
		if (c == '.') {
			if (label == 0) return -1;
			label = 0;
		} else if (is_alnum(c) || c == '-') {
			if (++label > 63) return -1;
		} else {
			return -1;
		}
	}
	if (label == 0) return -1;   /* empty or trailing dot */
	for (size_t k = 0; k < n; k++) out[k] = lower(v[k]);
	out[n] = 0;
	return 0;
}

enum { SEEN_VERSION = 1, SEEN_MODE = 2, SEEN_AGE = 4 };   /* required fields found */

static int field_is(const char *name, size_t nl, const char *want)
{
	return strlen(want) == nl && memcmp(name, want, nl) == 0;
}

/* one "name: value" line (no terminator); 0 ok */
static int policy_line(const char *s, size_t n, struct sts_policy *p, unsigned *seen, char *why, size_t wmax,
                       unsigned lineno)
{
	size_t i = 0;
	if (n == 0 || !is_alpha((unsigned char)s[0])) return fail(why, wmax, "line %u: no field name", lineno);
	while (i < n && (is_alnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.')) i++;
	if (i > 32 || i >= n || s[i] != ':') return fail(why, wmax, "line %u: not \"name: value\"", lineno);
	size_t nl = i++;
	while (i < n && is_wsp((unsigned char)s[i])) i++;
	size_t vb = i, ve = n;
	while (ve > vb && is_wsp((unsigned char)s[ve - 1])) ve--;
	for (size_t k = vb; k < ve; k++) {
		unsigned char c = (unsigned char)s[k];
		if ((c < 0x20 && c != '\t') || c == 0x7f) return fail(why, wmax, "line %u: control byte in value", lineno);
	}
	const char *v = s + vb;
	size_t vl = ve - vb;
	if (field_is(s, nl, "version")) {
		if (*seen & SEEN_VERSION) return 0;   /* the first instance counts */
		if (vl != 5 || memcmp(v, "STSv1", 5) != 0) return fail(why, wmax, "line %u: version is not STSv1", lineno);
		*seen |= SEEN_VERSION;
	} else if (field_is(s, nl, "mode")) {
		if (*seen & SEEN_MODE) return 0;
		if (vl == 7 && memcmp(v, "enforce", 7) == 0) p->mode = STS_ENFORCE;
		else if (vl == 7 && memcmp(v, "testing", 7) == 0) p->mode = STS_TESTING;
		else if (vl == 4 && memcmp(v, "none", 4) == 0) p->mode = STS_NONE;
		else return fail(why, wmax, "line %u: mode is not enforce, testing or none", lineno);
		*seen |= SEEN_MODE;
	} else if (field_is(s, nl, "max_age")) {
		if (*seen & SEEN_AGE) return 0;
		long long a = 0;
		if (vl == 0 || vl > 10) return fail(why, wmax, "line %u: max_age is not 1-10 digits", lineno);
		for (size_t k = 0; k < vl; k++) {
			if (!is_digit((unsigned char)v[k])) return fail(why, wmax, "line %u: max_age is not a number", lineno);
			a = a * 10 + (v[k] - '0');
		}
		if (a > STS_MAX_AGE_MAX) return fail(why, wmax, "line %u: max_age above %d", lineno, STS_MAX_AGE_MAX);
		p->max_age = a;
		*seen |= SEEN_AGE;
	} else if (field_is(s, nl, "mx")) {
		if (p->nmx >= STS_MX_MAX) return fail(why, wmax, "line %u: more than %d mx patterns", lineno, STS_MX_MAX);
		if (pattern_copy(v, vl, p->mx[p->nmx]) < 0)
			return fail(why, wmax, "line %u: mx is not a host name or *.domain", lineno);
		p->nmx++;
	}
	/* other fields are extensions: ignored (RFC 8461 3.2) */
	return 0;
}

int sts_policy_parse(const char *s, size_t n, struct sts_policy *p, char *why, size_t wmax)
{
	unsigned seen = 0, lineno = 0;
	memset(p, 0, sizeof *p);
	p->mode = -1;
	if (n > STS_BODY_MAX) return fail(why, wmax, "policy larger than %d bytes", STS_BODY_MAX);
	for (size_t i = 0; i < n;) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - s) : n, len = end - i;
		lineno++;
		if (len && s[end - 1] == '\r') len--;
		if (len > STS_LINE_MAX) return fail(why, wmax, "line %u: longer than %d bytes", lineno, STS_LINE_MAX);
		if (memchr(s + i, '\0', len)) return fail(why, wmax, "line %u: NUL byte", lineno);
		if (memchr(s + i, '\r', len)) return fail(why, wmax, "line %u: stray CR", lineno);
		if (len && policy_line(s + i, len, p, &seen, why, wmax, lineno) < 0) return -1;
		i = nl ? end + 1 : n;
	}
	if (!(seen & SEEN_VERSION)) return fail(why, wmax, "no version field");
	if (!(seen & SEEN_MODE)) return fail(why, wmax, "no mode field");
	if (!(seen & SEEN_AGE)) return fail(why, wmax, "no max_age field");
	if (p->mode != STS_NONE && p->nmx == 0) return fail(why, wmax, "no mx field");
	return 0;
}

int sts_mx_match(const struct sts_policy *p, const char *host)
{
	char h[STS_PATTERN_MAX];
	size_t n = strlen(host);
	if (n && host[n - 1] == '.') n--;
	if (n == 0 || n >= sizeof h) return 0;
	for (size_t i = 0; i < n; i++) h[i] = lower(host[i]);
	h[n] = 0;
	for (size_t k = 0; k < p->nmx; k++) {
		const char *pat = p->mx[k];
		if (pat[0] == '*') {
			/* "*.example.com": one label, then ".example.com" */
			size_t sl = strlen(pat + 1);
			if (n > sl && strcmp(h + n - sl, pat + 1) == 0 && !memchr(h, '.', n - sl)) return 1;
		} else if (strcmp(h, pat) == 0) {
			return 1;
		}
	}
	return 0;
}

/* ---- HTTP/1.1 response ---- */

static int is_tchar(unsigned char c)
{
	return is_alnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* the line at s[i..] ending in CRLF before lim: its length, -1 when the
 * CRLF is not there yet, -2 for a bare CR or LF or a NUL inside */
static long crlf_line(const char *s, size_t i, size_t lim)
{
	for (size_t k = i; k < lim; k++) {
		if (s[k] == '\r') {
			if (k + 1 >= lim) return -1;
			return s[k + 1] == '\n' ? (long)(k - i) : -2;
		}
		if (s[k] == '\n' || s[k] == '\0') return -2;
	}
	return -1;
}

struct http_head {
	size_t body_off;
	int chunked;
	long long length;    /* -1: none given */
	int text_plain;
};

static int header_field(const char *s, size_t n, struct http_head *h, char *why, size_t wmax)
{
	size_t i = 0;
	while (i < n && is_tchar((unsigned char)s[i])) i++;
	if (i == 0 || i >= n || s[i] != ':') return fail(why, wmax, "malformed HTTP header line");
	size_t nl = i++;
	while (i < n && is_wsp((unsigned char)s[i])) i++;
	size_t vb = i, ve = n;
	while (ve > vb && is_wsp((unsigned char)s[ve - 1])) ve--;
	for (size_t k = vb; k < ve; k++)
		if (((unsigned char)s[k] < 0x20 && s[k] != '\t') || s[k] == 0x7f)
			return fail(why, wmax, "control byte in an HTTP header");
	const char *v = s + vb;
	size_t vl = ve - vb;
	if (nl == 12 && strncasecmp(s, "Content-Type", 12) == 0) {
		/* "text/plain" with optional parameters (charset) */
		h->text_plain = vl >= 10 && strncasecmp(v, "text/plain", 10) == 0 &&
		                (vl == 10 || v[10] == ';' || is_wsp((unsigned char)v[10]));
	} else if (nl == 14 && strncasecmp(s, "Content-Length", 14) == 0) {
		long long len = 0;
		if (vl == 0 || vl > 10) return fail(why, wmax, "bad Content-Length");
		for (size_t k = 0; k < vl; k++) {
			if (!is_digit((unsigned char)v[k])) return fail(why, wmax, "bad Content-Length");
			len = len * 10 + (v[k] - '0');
		}
		if (h->length >= 0 && h->length != len) return fail(why, wmax, "conflicting Content-Length headers");
		h->length = len;
	} else if (nl == 17 && strncasecmp(s, "Transfer-Encoding", 17) == 0) {
		if (vl != 7 || strncasecmp(v, "chunked", 7) != 0)
			return fail(why, wmax, "unsupported Transfer-Encoding \"%.*s\"", (int)(vl > 40 ? 40 : vl), v);
		h->chunked = 1;
	}
	return 0;
}

/* status line and headers; STS_HTTP_OK with h filled */
static int http_head(const char *s, size_t len, int eof, struct http_head *h, char *why, size_t wmax)
{
	size_t lim = len < STS_HEAD_MAX ? len : STS_HEAD_MAX;
	memset(h, 0, sizeof *h);
	h->length = -1;
	long l = crlf_line(s, 0, lim);
	if (l == -1) {
		if (eof || len >= STS_HEAD_MAX) return fail(why, wmax, "no complete HTTP status line");
		return STS_HTTP_MORE;
	}
	if (l < 12 || l == -2 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') || s[8] != ' ' ||
	    !is_digit((unsigned char)s[9]) || !is_digit((unsigned char)s[10]) || !is_digit((unsigned char)s[11]) ||
	    (l > 12 && s[12] != ' '))
		return fail(why, wmax, "not an HTTP/1.x status line");
	int code = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	if (code / 100 == 3) return fail(why, wmax, "HTTP status %d: redirects are not followed (RFC 8461 3.3)", code);
	if (code != 200) return fail(why, wmax, "HTTP status %d", code);
	for (size_t i = (size_t)l + 2;;) {
		l = crlf_line(s, i, lim);
		if (l == -2) return fail(why, wmax, "bare CR, LF or NUL in the HTTP headers");
		if (l == -1) {
			if (eof || len >= STS_HEAD_MAX) return fail(why, wmax, "HTTP headers incomplete or longer than %d bytes",
			                                            STS_HEAD_MAX);
			return STS_HTTP_MORE;
		}
		if (l == 0) {
			h->body_off = i + 2;
			break;
		}
		if (is_wsp((unsigned char)s[i])) return fail(why, wmax, "folded HTTP header line");
		if (header_field(s + i, (size_t)l, h, why, wmax) < 0) return STS_HTTP_BAD;
		i += (size_t)l + 2;
	}
	if (!h->text_plain) return fail(why, wmax, "Content-Type is not text/plain");
	if (h->chunked && h->length >= 0) return fail(why, wmax, "both Content-Length and chunked encoding");
	if (h->length > STS_BODY_MAX) return fail(why, wmax, "policy larger than %d bytes", STS_BODY_MAX);
	return STS_HTTP_OK;
}

static int unchunk(const char *s, size_t len, int eof, size_t i, char *body, size_t bmax, size_t *blen, char *why,
                   size_t wmax)
{
	size_t total = 0;
	for (;;) {
		long l = crlf_line(s, i, len);
		if (l == -2) return fail(why, wmax, "bad chunk size line");
		if (l == -1) {
			if (eof || len - i > 1024) return fail(why, wmax, "chunked body cut short");
			return STS_HTTP_MORE;
		}
		size_t k = 0, size = 0;
		while (k < (size_t)l && k < 9 && s[i + k] && strchr("0123456789abcdefABCDEF", s[i + k])) {
			char c = lower(s[i + k]);
			size = size * 16 + (size_t)(is_digit((unsigned char)c) ? c - '0' : c - 'a' + 10);
			k++;
		}
		if (k == 0 || k > 8 || (k < (size_t)l && s[i + k] != ';' && !is_wsp((unsigned char)s[i + k])))
			return fail(why, wmax, "bad chunk size line");
		size_t sum;
		if (__builtin_add_overflow(total, size, &sum) || sum > STS_BODY_MAX || sum > bmax)
			return fail(why, wmax, "policy larger than %d bytes", STS_BODY_MAX);
		i += (size_t)l + 2;
		if (size == 0) {
			/* trailers up to an empty line */
			for (;;) {
				l = crlf_line(s, i, len);
				if (l == -2) return fail(why, wmax, "bad chunked trailer");
				if (l == -1) {
					if (eof || len - i > 1024) return fail(why, wmax, "chunked body cut short");
					return STS_HTTP_MORE;
				}
				if (l == 0) break;
				i += (size_t)l + 2;
			}
			*blen = total;
			return STS_HTTP_OK;
		}
		if (len - i < size + 2) {
			if (eof) return fail(why, wmax, "chunked body cut short");
			return STS_HTTP_MORE;
		}
		if (s[i + size] != '\r' || s[i + size + 1] != '\n') return fail(why, wmax, "chunk not followed by CRLF");
		memcpy(body + total, s + i, size);
		total = sum;
		i += size + 2;
	}
}

int sts_http_parse(const char *buf, size_t len, int eof, char *body, size_t bmax, size_t *blen, char *why,
                   size_t wmax)
{
	struct http_head h;
	*blen = 0;
	int r = http_head(buf, len, eof, &h, why, wmax);
	if (r != STS_HTTP_OK) return r;
	size_t avail = len - h.body_off;
	if (h.chunked) return unchunk(buf, len, eof, h.body_off, body, bmax, blen, why, wmax);
	if (h.length >= 0) {
		if ((size_t)h.length > bmax) return fail(why, wmax, "policy larger than the buffer");
		if (avail < (size_t)h.length) {
			if (eof) return fail(why, wmax, "body shorter than its Content-Length");
			return STS_HTTP_MORE;
		}
		avail = (size_t)h.length;
	} else {
		/* delimited by the end of the connection */
		if (avail > STS_BODY_MAX || avail > bmax) return fail(why, wmax, "policy larger than %d bytes", STS_BODY_MAX);
		if (!eof) return STS_HTTP_MORE;
	}
	memcpy(body, buf + h.body_off, avail);
	*blen = avail;
	return STS_HTTP_OK;
}

/* ---- the cache file ---- */

#define CACHE_MAGIC "yubin-mta-sts 1\n"

size_t sts_cache_make(char *out, size_t max, const char *id, time_t fetched, const char *body, size_t blen)
{
	int h = snprintf(out, max, CACHE_MAGIC "id %s\nfetched %lld\n\n", id, (long long)fetched);
	size_t total;
	if (h < 0 || (size_t)h >= max || __builtin_add_overflow((size_t)h, blen, &total) || total > max) return 0;
	memcpy(out + h, body, blen);
	return total;
}

int sts_cache_parse(const char *s, size_t n, char *id, size_t idmax, time_t *fetched, struct sts_policy *p)
{
	size_t m = sizeof CACHE_MAGIC - 1, i;
	char why[8];
	if (n < m + 3 || memcmp(s, CACHE_MAGIC "id ", m + 3) != 0) return -1;
	i = m + 3;
	size_t ib = i;
	while (i < n && is_alnum((unsigned char)s[i])) i++;
	if (i == ib || i - ib > 32 || i - ib >= idmax || i >= n || s[i] != '\n') return -1;
	memcpy(id, s + ib, i - ib);
	id[i - ib] = 0;
	i++;
	if (n - i < 8 || memcmp(s + i, "fetched ", 8) != 0) return -1;
	i += 8;
	long long t = 0;
	size_t tb = i;
	while (i < n && is_digit((unsigned char)s[i]) && i - tb < 12) t = t * 10 + (s[i++] - '0');
	if (i == tb || n - i < 2 || s[i] != '\n' || s[i + 1] != '\n') return -1;
	*fetched = (time_t)t;
	return sts_policy_parse(s + i + 2, n - i - 2, p, why, sizeof why);
}
