/* idna.c — U-labels to A-labels (see idna.h): RFC 3492's Punycode
 * encoder (section 6.3) over the code points of one label, with its
 * overflow checks made explicit. */
#include "idna.h"
#include "utf8.h"

#include <string.h>

#define LABEL_MAX 63
enum { BASE = 36, TMIN = 1, TMAX = 26, SKEW = 38, DAMP = 700, INITIAL_BIAS = 72, INITIAL_N = 128 };

static unsigned long adapt(unsigned long delta, unsigned long points, int first)
{
	unsigned long k = 0;
	delta = first ? delta / DAMP : delta / 2;
	delta += delta / points;
	while (delta > ((BASE - TMIN) * TMAX) / 2) {
		delta /= BASE - TMIN;
		k += BASE;
	}
	return k + (BASE - TMIN + 1) * delta / (delta + SKEW);
}

static char digit(unsigned long d) { return (char)(d < 26 ? 'a' + d : '0' + (d - 26)); }

/* the code points of p[0..n) (valid UTF-8) into cp; their count */
static size_t decode(const unsigned char *p, size_t n, unsigned long *cp, size_t max)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k < max; k++) {
		unsigned c = p[i];
		size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
		unsigned long v = len == 1 ? c : c & (0x7Fu >> len);
		for (size_t j = 1; j < len; j++) v = (v << 6) | (p[i + j] & 0x3Fu);
		cp[k] = v;
		i += len;
	}
	return k;
}

static int put(char *out, size_t *o, char c)
{
	if (*o >= LABEL_MAX) return -1;
	out[(*o)++] = c;
	return 0;
}

/* one non-ASCII label into out (at most LABEL_MAX octets); its length or -1 */
static int punycode(const char *label, size_t n, char *out)
{
	unsigned long cp[LABEL_MAX * 4];
	size_t len = decode((const unsigned char *)label, n, cp, sizeof cp / sizeof cp[0]);
	size_t o = 0, h, b = 0;
	if (put(out, &o, 'x') || put(out, &o, 'n') || put(out, &o, '-') || put(out, &o, '-')) return -1;
	for (size_t i = 0; i < len; i++)
		if (cp[i] < 0x80) {
			if (cp[i] <= 0x20 || cp[i] == 0x7F) return -1;
			if (put(out, &o, (char)(cp[i] >= 'A' && cp[i] <= 'Z' ? cp[i] + 32 : cp[i]))) return -1;
			b++;
		}
	h = b;
	if (b && put(out, &o, '-')) return -1;
	unsigned long nn = INITIAL_N, delta = 0, bias = INITIAL_BIAS;
	while (h < len) {
		unsigned long m = (unsigned long)-1;
		for (size_t i = 0; i < len; i++)
			if (cp[i] >= nn && cp[i] < m) m = cp[i];
		unsigned long step;
		if (__builtin_mul_overflow(m - nn, (unsigned long)(h + 1), &step) ||
		    __builtin_add_overflow(delta, step, &delta))
			return -1;
		nn = m;
		for (size_t i = 0; i < len; i++) {
			if (cp[i] < nn && ++delta == 0) return -1;
			if (cp[i] != nn) continue;
			unsigned long q = delta;
			for (unsigned long k = BASE;; k += BASE) {
				unsigned long t = k <= bias ? TMIN : k >= bias + TMAX ? TMAX : k - bias;
				if (q < t) break;
				if (put(out, &o, digit(t + (q - t) % (BASE - t)))) return -1;
				q = (q - t) / (BASE - t);
			}
			if (put(out, &o, digit(q))) return -1;
			bias = adapt(delta, h + 1, h == b);
			delta = 0;
			h++;
		}
		delta++;
		nn++;
	}
	return (int)o;
}

int idna_to_ascii(const char *name, char *out, size_t max)
{
	size_t n = strlen(name), o = 0;
	if (!utf8_valid(name, n)) return -1;
	for (size_t i = 0; i <= n;) {
		const char *dot = memchr(name + i, '.', n - i);
		size_t e = dot ? (size_t)(dot - name) : n;
		char label[LABEL_MAX + 1];
		size_t ll;
		if (e == i) {
			if (!dot && i == n && i > 0) break; /* a trailing dot */
			return -1;
		}
		if (utf8_has_8bit(name + i, e - i)) {
			int k = punycode(name + i, e - i, label);
			if (k < 0) return -1;
			ll = (size_t)k;
		} else {
			if (e - i > LABEL_MAX) return -1;
			ll = e - i;
			for (size_t j = 0; j < ll; j++) {
				char c = name[i + j];
				if ((unsigned char)c <= 0x20 || c == 0x7F) return -1;
				label[j] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
			}
		}
		if (o + ll + 2 > max) return -1;
		if (o) out[o++] = '.';
		memcpy(out + o, label, ll);
		o += ll;
		if (!dot) break;
		i = e + 1;
	}
	out[o] = 0;
	return 0;
}
