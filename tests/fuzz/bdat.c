/* bdat.c — fuzz target: the BDAT argument parser (esmtp_bdat_parse, what
 * yubin-smtpd's bdat.c trusts to know how many octets to read), the
 * UTF-8 validator that guards SMTPUTF8 addresses (utf8_valid) and the
 * U-label to A-label conversion yubin-remote's DNS lookups use
 * (idna_to_ascii). The first byte picks which. Beyond memory safety: a
 * parsed size is at most 2^63-1 and prints back to the same parse; -2
 * (skip the chunk) only comes with a readable size; utf8_valid agrees
 * with a second, decoding validator written from RFC 3629's code point
 * ranges; an A-label name is NUL-terminated printable lower-case ASCII
 * with labels of at most 63 octets. */
#include "fuzz.h"
#include "esmtp.h"
#include "idna.h"
#include "utf8.h"

#include <limits.h>

/* decode each sequence by its lead byte's length and check the value */
static int reference_valid(const unsigned char *p, size_t n)
{
	static const unsigned long min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	for (size_t i = 0; i < n;) {
		unsigned c = p[i];
		size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
		if (!len || len > n - i) return 0;
		unsigned long cp = len == 1 ? c : c & (0x7F >> len);
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xC0) != 0x80) return 0;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
		i += len;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin f = { data, size };
	unsigned which = fin_byte(&f);
	char *s = fuzz_dup(f.p, f.n, which % 3 == 2); /* exactly sized: overreads trip ASan */
	if (which % 3 == 2) {
		char out[256];
		if (!memchr(s, 0, f.n) && idna_to_ascii(s, out, sizeof out) == 0) {
			size_t label = 0, k = strnlen(out, sizeof out);
			FUZZ_ASSERT(k < sizeof out);
			for (size_t i = 0; i < k; i++) {
				unsigned char c = (unsigned char)out[i];
				FUZZ_ASSERT(c > 32 && c < 127 && !(c >= 'A' && c <= 'Z'));
				label = c == '.' ? 0 : label + 1;
				FUZZ_ASSERT(label <= 63);
			}
		}
	} else if (which % 3 == 1) {
		FUZZ_ASSERT(utf8_valid(s, f.n) == reference_valid((const unsigned char *)s, f.n));
	} else {
		unsigned long long n = 0;
		int last = -1;
		int r = esmtp_bdat_parse(s, f.n, &n, &last);
		FUZZ_ASSERT(r == 0 || r == -1 || r == -2);
		if (r != -1) FUZZ_ASSERT(n <= (unsigned long long)LLONG_MAX);
		if (r == 0) {
			FUZZ_ASSERT(last == 0 || last == 1);
			char again[64];
			int k = snprintf(again, sizeof again, "%llu%s", n, last ? " LAST" : "");
			unsigned long long n2 = 0;
			int last2 = -1;
			FUZZ_ASSERT(k > 0 && esmtp_bdat_parse(again, (size_t)k, &n2, &last2) == 0 && n2 == n && last2 == last);
		}
	}
	free(s);
	return 0;
}
