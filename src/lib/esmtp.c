/* esmtp.c — ESMTP parameter and xtext parsing (see esmtp.h). */
#include "esmtp.h"
#include "buf.h"

#include <limits.h>
#include <strings.h>
#include <string.h>

static int is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int esmtp_param_next(const char *p, size_t n, size_t *pos, struct esmtp_param *out)
{
	size_t i = *pos;
	while (i < n && p[i] == ' ') i++;
	*pos = i;
	if (i >= n) return 0;
	size_t k = i;
	if (!is_alnum(p[k])) return -1;
	while (k < n && (is_alnum(p[k]) || p[k] == '-')) k++;
	out->key = p + i;
	out->klen = k - i;
	out->val = NULL;
	out->vlen = 0;
	if (k < n && p[k] == '=') {
		size_t v = ++k;
		/* esmtp-value: %d33-60 / %d62-126 */
		while (k < n && (unsigned char)p[k] >= 33 && (unsigned char)p[k] <= 126 && p[k] != '=') k++;
		if (k == v) return -1;
		out->val = p + v;
		out->vlen = k - v;
	}
	if (k < n && p[k] != ' ') return -1;
	*pos = k;
	return 1;
}

int esmtp_key_is(const struct esmtp_param *pa, const char *name)
{
	return strlen(name) == pa->klen && strncasecmp(pa->key, name, pa->klen) == 0;
}

int esmtp_size_parse(const char *p, size_t n, long long *out)
{
	long long v = 0;
	if (n == 0 || n > 18) return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9') return -1;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

int esmtp_bdat_parse(const char *p, size_t n, unsigned long long *size, int *last)
{
	unsigned long long v = 0;
	size_t i = 0;
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
		if (__builtin_mul_overflow(v, 10u, &v) || __builtin_add_overflow(v, (unsigned)(p[i] - '0'), &v))
			return -1;
	if (i == 0 || v > (unsigned long long)LLONG_MAX || (i < n && p[i] != ' ')) return -1;
	*size = v;
	*last = 0;
	while (i < n && p[i] == ' ') i++;
	if (i == n) return 0;
	if (n - i == 4 && strncasecmp(p + i, "LAST", 4) == 0) {
		*last = 1;
		return 0;
	}
	return -2;
}

int esmtp_notify_parse(const char *p, size_t n, char *out, size_t max)
{
	static const char *const words[] = { "SUCCESS", "FAILURE", "DELAY" };
	int seen[3] = { 0, 0, 0 };
	if (n == 5 && strncasecmp(p, "NEVER", 5) == 0) {
		if (max < 6) return -1;
		memcpy(out, "NEVER", 6);
		return 0;
	}
	size_t i = 0;
	while (i <= n) {
		size_t e = i;
		while (e < n && p[e] != ',') e++;
		int hit = -1;
		for (int w = 0; w < 3; w++)
			if (strlen(words[w]) == e - i && strncasecmp(p + i, words[w], e - i) == 0) hit = w;
		if (hit < 0 || seen[hit]) return -1;
		seen[hit] = 1;
		i = e + 1;
	}
	size_t len = 0;
	for (int w = 0; w < 3; w++) {
		if (!seen[w]) continue;
		size_t wl = strlen(words[w]);
		if (len + wl + 2 > max) return -1;
		if (len) out[len++] = ',';
		memcpy(out + len, words[w], wl);
		len += wl;
	}
	out[len] = 0;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

int xtext_decode(const char *p, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '+') {
			if (n - i < 3) return -1;
			int h = hexval(p[i + 1]), l = hexval(p[i + 2]);
			if (h < 0 || l < 0) return -1;
			c = (unsigned char)(h * 16 + l);
			i += 2;
			if (c < 32 || c == 127) return -1; /* never a control byte in a record */
		} else if (c < 33 || c > 126 || c == '=') {
			return -1;
		}
		if (buf_addc(out, (char)c) < 0) return -1;
	}
	return 0;
}

int xtext_encode(const char *p, size_t n, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c >= 33 && c <= 126 && c != '+' && c != '=') {
			if (buf_addc(out, (char)c) < 0) return -1;
		} else {
			char e[3] = { '+', hex[c >> 4], hex[c & 15] };
			if (buf_add(out, e, 3) < 0) return -1;
		}
	}
	return 0;
}

int esmtp_orcpt_parse(const char *p, size_t n, struct buf *out)
{
	const char *semi = memchr(p, ';', n);
	if (!semi || semi == p) return -1;
	size_t tl = (size_t)(semi - p);
	for (size_t i = 0; i < tl; i++)
		if (!is_alnum(p[i]) && p[i] != '-') return -1;
	if ((size_t)(semi - p) + 1 >= n) return -1; /* empty address */
	if (buf_add(out, p, tl + 1) < 0) return -1;
	return xtext_decode(semi + 1, n - tl - 1, out);
}
