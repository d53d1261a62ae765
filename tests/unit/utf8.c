/* utf8.c — unit tests for the UTF-8 validator (src/lib/utf8.c): the
 * RFC 3629 boundaries, overlongs, surrogates, truncation; and the BDAT
 * argument parser of src/lib/esmtp.c that SMTPUTF8's sibling CHUNKING uses. */
#include "tap.h"
#include "esmtp.h"
#include "utf8.h"

static int v(const char *s) { return utf8_valid(s, strlen(s)); }

static int bdat(const char *s, unsigned long long *size, int *last)
{
	return esmtp_bdat_parse(s, strlen(s), size, last);
}

int main(void)
{
	ok(v(""), "empty string is valid");
	ok(v("plain ascii@example.test"), "ASCII is valid");
	ok(v("\xc3\xa9"), "2-byte e-acute");
	ok(v("\xe3\x83\xa6\xe3\x83\x93\xe3\x83\xb3"), "3-byte katakana");
	ok(v("\xf0\x9f\x93\xae"), "4-byte postbox emoji");
	ok(v("\xc2\x80") && v("\xdf\xbf"), "2-byte range ends U+0080, U+07FF");
	ok(v("\xe0\xa0\x80") && v("\xef\xbf\xbf"), "3-byte range ends U+0800, U+FFFF");
	ok(v("\xf0\x90\x80\x80") && v("\xf4\x8f\xbf\xbf"), "4-byte range ends U+10000, U+10FFFF");
	ok(v("\xed\x9f\xbf") && v("\xee\x80\x80"), "U+D7FF and U+E000 around the surrogates");
	ok(!v("\xc0\xaf") && !v("\xc1\xbf"), "overlong 2-byte (C0, C1) refused");
	ok(!v("\xe0\x80\xaf") && !v("\xe0\x9f\xbf"), "overlong 3-byte refused");
	ok(!v("\xf0\x80\x80\xaf") && !v("\xf0\x8f\xbf\xbf"), "overlong 4-byte refused");
	ok(!v("\xed\xa0\x80") && !v("\xed\xbf\xbf"), "surrogates U+D800, U+DFFF refused");
	ok(!v("\xf4\x90\x80\x80") && !v("\xf5\x80\x80\x80") && !v("\xff"), "above U+10FFFF and F5..FF refused");
	ok(!v("\x80") && !v("\xbf") && !v("a\x80"), "lone continuation bytes refused");
	ok(!v("\xc3") && !v("\xe3\x83") && !v("\xf0\x9f\x93"), "truncated sequences refused");
	ok(!v("\xc3\x28") && !v("\xe3\x83\x28") && !v("\xf0\x9f\x28\xae"), "bad continuation byte refused");
	ok(utf8_valid("\xc3\xa9xyz", 2) && !utf8_valid("\xc3\xa9xyz", 1), "length bounds the scan");
	ok(utf8_has_8bit("a\xc3\xa9", 3) && !utf8_has_8bit("abc", 3) && !utf8_has_8bit("\xc3", 0), "8-bit detection");

	unsigned long long size = 99;
	int last = 9;
	ok(bdat("0 LAST", &size, &last) == 0 && size == 0 && last == 1, "BDAT 0 LAST");
	ok(bdat("1000", &size, &last) == 0 && size == 1000 && last == 0, "BDAT 1000");
	ok(bdat("12 last", &size, &last) == 0 && size == 12 && last == 1, "LAST in any case");
	ok(bdat("9223372036854775807", &size, &last) == 0 && size == 9223372036854775807ull, "2^63-1 is a size");
	ok(bdat("9223372036854775808", &size, &last) == -1, "2^63 is not");
	ok(bdat("184467440737095516160", &size, &last) == -1, "64-bit overflow is unreadable");
	ok(bdat("", &size, &last) == -1 && bdat("LAST", &size, &last) == -1, "no size is unreadable");
	ok(bdat("-1", &size, &last) == -1 && bdat("+5", &size, &last) == -1 && bdat("12x", &size, &last) == -1,
	   "sign or junk in the size is unreadable");
	ok(bdat("12 LASTX", &size, &last) == -2 && size == 12, "bad keyword: size still known");
	ok(bdat("12 LAST LAST", &size, &last) == -2, "two keywords refused");
	return done_testing();
}
