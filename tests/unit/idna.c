/* idna.c — unit tests for U-labels to A-labels (src/lib/idna.c), with
 * vectors checked against Python's punycode codec and RFC 3492 7.1. */
#include "tap.h"
#include "idna.h"

static int is(const char *in, const char *want)
{
	char out[300];
	return idna_to_ascii(in, out, sizeof out) == 0 && strcmp(out, want) == 0;
}

int main(void)
{
	char out[300];
	ok(is("example.test", "example.test"), "ASCII name unchanged");
	ok(is("Example.TEST", "example.test"), "ASCII lower-cased");
	ok(is("bücher.example", "xn--bcher-kva.example"), "bücher");
	ok(is("münchen.de", "xn--mnchen-3ya.de"), "münchen");
	ok(is("例え.テスト", "xn--r8jz45g.xn--zckzah"), "two Japanese labels");
	ok(is("日本語.jp", "xn--wgv71a119e.jp"), "日本語");
	ok(is("パフィーde", "xn--de-jg4awhua9u"), "mixed label: basic code points first");
	ok(is("MajiでKoiする5秒前", "xn--majikoi5-783gue6qz075azm5e"), "RFC 3492 7.1 (L), lower-cased");
	ok(is("例え.テスト.", "xn--r8jz45g.xn--zckzah"), "trailing dot dropped");
	ok(idna_to_ascii("a..b", out, sizeof out) < 0 && idna_to_ascii("", out, sizeof out) < 0, "empty label refused");
	ok(idna_to_ascii("\xc0\xaf.test", out, sizeof out) < 0, "invalid UTF-8 refused");
	ok(idna_to_ascii("1 .test", out, sizeof out) < 0 && idna_to_ascii("\xc3\xbc\t.test", out, sizeof out) < 0,
	   "spaces and control bytes refused (fuzz find)");
	ok(idna_to_ascii("例え.テスト", out, 10) < 0, "too small an output refused");
	char longl[200];
	for (int i = 0; i < 21; i++) { /* 21 different CJK ideographs, U+4E00 + 997 i */
		unsigned cp = 0x4E00 + 997u * (unsigned)i;
		longl[3 * i] = (char)(0xE0 | cp >> 12);
		longl[3 * i + 1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		longl[3 * i + 2] = (char)(0x80 | (cp & 0x3F));
	}
	longl[63] = 0;
	ok(idna_to_ascii(longl, out, sizeof out) < 0, "a label whose A-label passes 63 octets refused");
	return done_testing();
}
