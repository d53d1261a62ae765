/* utf8.c — UTF-8 well-formedness (see utf8.h), after the table of RFC 3629
 * section 4: each lead byte fixes the length and the range the second
 * byte may take, which is where overlongs and surrogates are excluded. */
#include "utf8.h"

int utf8_valid(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0;
	while (i < n) {
		unsigned char c = s[i];
		if (c < 0x80) { i++; continue; }
		size_t len;
		unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
		if (c >= 0xC2 && c <= 0xDF) len = 2;
		else if (c == 0xE0) { len = 3; lo = 0xA0; }            /* no overlong 3-byte form */
		else if (c == 0xED) { len = 3; hi = 0x9F; }            /* no surrogates */
		else if (c >= 0xE1 && c <= 0xEF) len = 3;
		else if (c == 0xF0) { len = 4; lo = 0x90; }            /* no overlong 4-byte form */
		else if (c == 0xF4) { len = 4; hi = 0x8F; }            /* nothing above U+10FFFF */
		else if (c >= 0xF1 && c <= 0xF3) len = 4;
		else return 0;                                        /* 80..C1, F5..FF */
		if (n - i < len) return 0;
		if (s[i + 1] < lo || s[i + 1] > hi) return 0;
		for (size_t k = 2; k < len; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xBF) return 0;
		i += len;
	}
	return 1;
}

int utf8_has_8bit(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80) return 1;
	return 0;
}
